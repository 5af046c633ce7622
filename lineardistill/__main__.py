"""Command line: ``python -m lineardistill {optimal,phase,figures} ...`` (``--help`` on each).

- ``optimal``: the W2-optimal merge tree for a schedule, a number of steps,
  one variance (or several sharing one tree), a budget and an initialization,
  with a table of the named strategies;
- ``phase``: ``lambda_c`` and a phase-diagram figure;
- ``figures --out DIR``: regenerate every figure of the book (every
  ``plot_*`` function of :mod:`lineardistill.plots`, called with its defaults);
- ``experiment --data {digits,mixture2d} --setting {tiny,cpu,full} --out DIR``:
  train a denoiser, distil it by each strategy and write ``DIR/results.json``
  and figures (:mod:`lineardistill.neural`, the trained-networks chapter).

Bad arguments exit with status 2 and one line on stderr, before anything is
computed: output paths are checked first (a missing or unwritable folder, a
file given where a folder is needed), and the number of steps is refused above
what the command finishes in about a minute (:data:`MAX_STEPS`). Chapter 6 of
the book shows the ``optimal`` command; the theory is the operator-merging
picture of Gao and Li (2025, arXiv:2505.16024).
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

from .schedule import SCHEDULE_NAMES as SCHEDULES

MAX_STEPS = {"optimal": 2048, "optimal-shared": 16, "phase": 64}
"""Largest ``--steps`` each command accepts (``optimal-shared``: ``optimal`` with several variances).

Measured on a loaded 2-core CPU: the interval DP takes about 0.3 s at N = 512
and grows like N^3 (about 20 s at 2048); the Pareto DP for several variances
grows much faster with N (3 variances: 1 s at N = 12, 19 s at N = 16), so
``optimal`` shares one tree among at most :data:`MAX_SHARED_VARIANCES`
variances; a 81 x 25 phase diagram at N = 64 takes about 40 s.
Larger problems are for the Python API (:func:`lineardistill.optimal_tree`,
:func:`lineardistill.pareto_tree`, :func:`lineardistill.phase_diagram`).
"""

MAX_SHARED_VARIANCES = 8
"""Largest number of ``--variance`` values ``optimal`` shares one tree among."""

PHASE_GRID_LIMIT = 10_000
"""Largest ``--variances * --budgets`` grid the ``phase`` command computes."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def _schedule(name, num_steps):
    from .schedule import Schedule

    return Schedule.named(name, num_steps)


def _check_steps(steps: int, command: str, what: str = "") -> None:
    limit = MAX_STEPS[command]
    if steps > limit:
        raise ValueError(f"--steps {steps:,} is more than this command computes in about a minute (at most "
                         f"{limit:,}{what}); call the Python API (lineardistill.optimal_tree, pareto_tree or "
                         "phase_diagram) for larger problems")


def _writable_file(path: str, option: str = "--out") -> None:
    """Check that ``path`` can be written as a file, before anything is computed (leaves no file behind)."""
    if os.path.isdir(path):
        raise ValueError(f"{option} {path!r} is a folder; give a file name such as phase_diagram.png")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path!r}: the folder {folder!r} does not exist")
    existed = os.path.exists(path)
    try:
        with open(path, "ab"):
            pass
    except OSError as err:
        raise ValueError(f"{option} {path!r} cannot be written: {err.strerror}") from None
    if not existed:
        os.remove(path)


def _writable_folder(path: str, option: str = "--out") -> None:
    """Create ``path`` if needed and check that files can be written in it, before anything is computed."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{option} {path!r} is a file, not a folder")
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".lineardistill-write-test")
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"{option} {path!r} cannot be used as the output folder: {err.strerror}") from None


def _numbers(texts, what):
    """Floats from arguments that may also be comma separated (``0.5 1.5`` or ``0.5,1.5``)."""
    out = []
    for text in texts:
        for part in str(text).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(float(part))
            except ValueError:
                raise ValueError(f"{what} must be numbers, got {part!r}") from None
    if not out:
        raise ValueError(f"{what} needs at least one number")
    return out


def _plot_functions() -> dict:
    from . import plots

    # defined in plots or one of its modules (plots.teacher, ...), not imported into it from elsewhere
    return {name: fn for name, fn in sorted(vars(plots).items())
            if name.startswith("plot_") and inspect.isfunction(fn)
            and (fn.__module__ + ".").startswith(plots.__name__ + ".")}


def _needs_arguments(fn) -> list:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                                    p.KEYWORD_ONLY)]


def figure_functions() -> dict:
    """The figure registry: every public ``plot_*`` function of :mod:`lineardistill.plots` that runs with its defaults.

    Built by inspection, so a figure function added later is picked up
    without registering it anywhere else. Functions that need arguments (they
    draw data a chapter computes) are listed by :func:`skipped_figures`.
    """
    return {name: fn for name, fn in _plot_functions().items() if not _needs_arguments(fn)}


def skipped_figures() -> dict:
    """``plot_*`` functions that cannot run without arguments: name -> the arguments they need."""
    return {name: _needs_arguments(fn) for name, fn in _plot_functions().items() if _needs_arguments(fn)}


def _cmd_optimal(args, out):
    from ._checks import as_tensor
    from .dp import optimal_tree, pareto_tree
    from .trees import STRATEGIES, MergeTree, merge_value, w2

    lams = _numbers(args.variance, "--variance")
    lam_t = as_tensor(lams, "--variance", positive=True)
    if len(lams) == 1:
        _check_steps(args.steps, "optimal")
    else:
        _check_steps(args.steps, "optimal-shared", " with several variances: the Pareto DP grows fast with N")
        if len(lams) > MAX_SHARED_VARIANCES:
            raise ValueError(f"--variance: {len(lams)} values are more than the {MAX_SHARED_VARIANCES} that one "
                             "shared tree is computed for here; call lineardistill.pareto_tree for more")
    sch = _schedule(args.schedule, args.steps)
    print(f"schedule {sch.name}, N = {sch.num_steps}, variance(s) {', '.join(f'{v:g}' for v in lams)}, "
          f"budget c*tau = {args.budget:g}, init = {args.init}", file=out)
    if len(lams) == 1:
        best = optimal_tree(sch, lams[0], args.budget, args.init)
        print(f"optimal tree: {best.tree}", file=out)
        # T = 0 when the teacher erases the signal (cosine with N = 1): no shrinkage ratio then
        ratio = f"{best.value / best.teacher:.6g}" if best.teacher > 0 else "undefined (T = 0)"
        print(f"multiplier m = {best.value:.6g}, teacher T = {best.teacher:.6g}, shrinkage m/T = "
              f"{ratio}, W2 = {best.w2:.6g}", file=out)
        print(f"method: {best.method}" + ("" if best.exact else f"; gap bound {best.gap_bound:.3g}"), file=out)
        tree, total = best.tree, best.w2
    else:
        result = pareto_tree(sch, lams, args.budget, args.init)
        print(f"optimal shared tree: {result.tree}", file=out)
        print(f"summed W2 = {result.w2:.6g}; method: Pareto DP over {len(lams)} coordinates (R13, exact), "
              f"{result.front_values.shape[0]} non-dominated value vectors at the root", file=out)
        tree, total = result.tree, result.w2
    rows = [(name, MergeTree.named(name, sch.num_steps)) for name in STRATEGIES] + [("optimal", tree)]
    width = max(len(str(t)) for _, t in rows)
    width = min(max(width, 4), 60)
    print(f"{'strategy':<12} {'merges':>6}  {'tree':<{width}}  {'W2':>12}  {'W2/optimal':>10}", file=out)
    for name, t in rows:
        dist = float(w2(merge_value(t, sch, lam_t, args.budget, args.init), sch, lam_t))
        text = str(t) if len(str(t)) <= width else str(t)[:width - 3] + "..."
        ratio = f"{dist / total:10.4g}" if total > 0 else f"{'-':>10}"
        print(f"{name:<12} {t.num_merges:>6}  {text:<{width}}  {dist:12.6g}  {ratio}", file=out)
    return 0


def _cmd_phase(args, out):
    import matplotlib

    matplotlib.use("Agg")
    import torch

    from . import plots
    from .phase import PHASES, lambda_c, phase_diagram

    _check_steps(args.steps, "phase")
    if args.variances * args.budgets > PHASE_GRID_LIMIT:
        raise ValueError(f"--variances {args.variances} x --budgets {args.budgets} is more than "
                         f"{PHASE_GRID_LIMIT:,} grid points; call lineardistill.phase_diagram for larger grids")
    if args.out:
        _writable_file(args.out)
    sch = _schedule(args.schedule, args.steps)
    lc = lambda_c(sch)
    print(f"schedule {sch.name}, N = {sch.num_steps}: lambda_c = {lc:.6g}", file=out)
    lams = torch.logspace(-1, 1, args.variances, dtype=torch.float64)
    ctaus = torch.logspace(-2, 1, args.budgets, dtype=torch.float64)
    diagram = phase_diagram(sch, lams, ctaus, args.init)
    shares = diagram.fractions()
    print("share of the (variance, budget) grid: " + ", ".join(f"{p} {shares[p]:.3f}" for p in PHASES
                                                               if shares[p] > 0), file=out)
    if args.out:
        fig = plots.plot_phase_diagram(diagrams=[diagram])
        fig.savefig(args.out, dpi=120)
        print(f"wrote {args.out}", file=out)
    return 0


def _cmd_figures(args, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    registry = figure_functions()
    if args.list:
        for name in registry:
            print(name, file=out)
        for name, needed in skipped_figures().items():
            print(f"{name} (needs arguments: {', '.join(needed)}; not regenerated)", file=out)
        return 0
    names = args.only or list(registry)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ValueError(f"--only: unknown figure {unknown[0]!r}; run with --list to see the names")
    _writable_folder(args.out)
    failed = []
    for name in names:
        try:
            fig = registry[name]()
        except Exception as err:  # report every broken figure, then fail
            failed.append(name)
            print(f"lineardistill figures: error in {name}: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        path = os.path.join(args.out, f"{name}.png")
        fig.savefig(path, dpi=110)
        plt.close(fig)
        print(f"wrote {path}", file=out)
    if not args.only:
        for name, needed in skipped_figures().items():
            print(f"skipped {name}: it needs arguments ({', '.join(needed)})", file=out)
    return 1 if failed else 0


def _cmd_experiment(args, out):
    from . import neural

    device = neural.resolve_device(args.device)        # bad device or missing CUDA: exit 2 before any work
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise ValueError(f"--out {args.out!r} exists and is not a folder")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK) or (
            os.path.isdir(args.out) and not os.access(args.out, os.W_OK)):
        raise ValueError(f"--out {args.out!r} cannot be written (its parent folder must exist and be writable)")
    command = (f"python -m lineardistill experiment --data {args.data} --setting {args.setting} "
               f"--seed {args.seed} --device {args.device} --out {args.out}")
    result = neural.run_experiment(args.data, args.setting, seed=args.seed, device=device,
                                   progress=not args.quiet, command=command)
    paths = neural.write_experiment(result, args.out)
    print(f"{args.data}, setting {args.setting}: teacher FD to data {result['teacher']['fd_data']:.4g}; "
          f"{result['provenance']['seconds']:.1f} s on {result['provenance']['device']}", file=out)
    print(f"{'strategy':<12} {'tree':<28} {'FD data':>9} {'FD teacher':>10}", file=out)
    for name, entry in result["strategies"].items():
        tree = entry["tree"] if len(entry["tree"]) <= 28 else entry["tree"][:25] + "..."
        print(f"{name:<12} {tree:<28} {entry['fd_data']:9.4g} {entry['fd_teacher']:10.4g}", file=out)
    for path in paths:
        print(f"wrote {path}", file=out)
    return 0


def _int_at_least(minimum):
    """An argparse type: a whole number >= ``minimum``, with a one-line message otherwise."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


_positive_int = _int_at_least(1)
_nonnegative_int = _int_at_least(0)


def _nonnegative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text[:40]!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the documentation and the tests)."""
    from .problem import INITS

    parser = _Parser(prog="lineardistill", description="Optimal merging of DDIM teacher steps (linear Gaussian regime).")
    sub = parser.add_subparsers(dest="command", metavar="{optimal,phase,figures,experiment}", parser_class=_Parser)
    sub.required = True

    opt = sub.add_parser("optimal", help="the W2-optimal merge tree and a table of the named strategies",
                         description="Print the W2-optimal merge tree, its multiplier and W2, and compare the "
                                     "named strategies. Several variances share one tree (Pareto DP, R13).")
    opt.add_argument("--schedule", choices=SCHEDULES, default="cosine", help="noise schedule (default cosine)")
    opt.add_argument("--steps", type=_positive_int, default=8,
                     help=f"number of teacher steps N (default 8; at most {MAX_STEPS['optimal']}, "
                          f"{MAX_STEPS['optimal-shared']} with several variances)")
    opt.add_argument("--variance", nargs="+", default=["1.5"],
                     help="data variance lambda, or several (space or comma separated) sharing one tree")
    opt.add_argument("--budget", type=_nonnegative_float, default=1.0, help="training budget c*tau (default 1)")
    opt.add_argument("--init", choices=INITS, default="warm", help="student initialization (default warm)")
    opt.set_defaults(run=_cmd_optimal)

    ph = sub.add_parser("phase", help="lambda_c and a phase-diagram figure",
                        description="Print lambda_c (R15) and the shares of each phase over a grid of variances "
                                    "(0.1..10) and budgets (0.01..10), and write the phase diagram to --out.")
    ph.add_argument("--schedule", choices=SCHEDULES, default="cosine", help="noise schedule (default cosine)")
    ph.add_argument("--steps", type=_positive_int, default=16,
                    help=f"number of teacher steps N (default 16, at most {MAX_STEPS['phase']})")
    ph.add_argument("--init", choices=INITS, default="warm", help="student initialization (default warm)")
    ph.add_argument("--variances", type=_positive_int, default=81, help="grid points in the variance (default 81)")
    ph.add_argument("--budgets", type=_positive_int, default=25, help="grid points in the budget (default 25)")
    ph.add_argument("--out", default="phase_diagram.png",
                    help="image file for the phase diagram (default phase_diagram.png; '' for none)")
    ph.set_defaults(run=_cmd_phase)

    fg = sub.add_parser("figures", help="regenerate every figure of the book",
                        description="Call every plot_* function of lineardistill.plots with its defaults and save "
                                    "DIR/<name>.png.")
    fg.add_argument("--out", default="figures", help="output folder (default ./figures)")
    fg.add_argument("--only", nargs="+", default=None, metavar="NAME", help="only these figures")
    fg.add_argument("--list", action="store_true", help="list the figure names and exit")
    fg.set_defaults(run=_cmd_figures)

    ex = sub.add_parser("experiment", help="train a diffusion network, distil it by each strategy, measure (ch. 11)",
                        description="Train an MLP denoiser on the data, take its N-step DDIM sampler as the teacher, "
                                    "distil it into one-step students (BOOT, one-shot, progressive, the DP's tree) "
                                    "and write DIR/results.json, DIR/samples.png and DIR/directions.png.")
    ex.add_argument("--data", choices=("digits", "mixture2d"), default="digits", help="data set (default digits)")
    ex.add_argument("--setting", choices=("tiny", "cpu", "full"), default="tiny",
                    help="size: tiny (< 1 min, tests), cpu (the chapter), full (CUDA when present)")
    ex.add_argument("--out", required=True, help="output folder")
    ex.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")
    ex.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:K")
    ex.add_argument("--quiet", action="store_true", help="no progress bars")
    ex.set_defaults(run=_cmd_experiment)
    return parser


def main(argv=None) -> int:
    """Entry point of ``python -m lineardistill`` and of the ``lineardistill`` script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args, sys.stdout)
    except _UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except (ValueError, TypeError, OverflowError, MemoryError, OSError) as err:
        # one line, whatever the error says: a long value in a message must not flood the terminal
        command = getattr(locals().get("args"), "command", "")
        text = " ".join(str(err).split()) or type(err).__name__
        if len(text) > 400:
            text = text[:397] + "..."
        print(f"lineardistill {command}: error: {text}".replace("  ", " "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
