"""Figures of chapters 6 and 7: optimal merging by dynamic programming and the phase transition.

The dynamic programme over merge trees and the phase transition between BOOT
and one-shot merging follow Gao and Li (2025, arXiv:2505.16024), worked out
in this book's linear model (:mod:`lineardistill.dp`, :mod:`lineardistill.phase`).
Figures by chapter (data function in brackets):

- 6, *Optimal merging by dynamic programming*: :func:`plot_dp_timing` (:func:`dp_timing`),
  :func:`plot_cost_front` (:func:`training_cost_front`);
- 7, *The phase transition*: :func:`plot_lambda_c` (:func:`lambda_c_curves`), :func:`plot_optimal_tree_scan`
  (:func:`optimal_tree_scan`), :func:`plot_phase_diagram` and :func:`plot_phase_by_init`
  (:func:`lineardistill.phase.phase_diagram`), :func:`plot_strategy_snapshots` (:func:`strategy_snapshots`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import DTYPE, as_int, as_tensor, one_of
from ..schedule import Schedule
from ._common import SCHEDULE_NAMES, _axes, _data, _done, _draw_tree, _log_grid, _named_schedule, _panels, _variance_list

PHASE_COLORS = {"BOOT": "tab:blue", "mixed": "tab:orange", "one-shot": "tab:green", "tie": "0.85",
                "unresolved": "black"}
"""Colour of each phase of :data:`lineardistill.phase.PHASES` in every figure."""


# ------------------------------------------------------------ chapter 6 (optimal merging)
@dataclass(frozen=True)
class DPTiming:
    """Run times of the interval DP measured by :func:`dp_timing`: the data of :func:`plot_dp_timing`.

    Attributes
    ----------
    sizes : list of int
        The numbers of teacher steps ``N`` timed.
    times : list of float
        The best of ``repeats`` wall-clock times, in seconds, per size.
    slope : float
        The least-squares slope of ``log time`` against ``log N`` (NaN for one size).
    """

    sizes: list
    times: list
    slope: float


def dp_timing(sizes=(16, 32, 64, 128, 256), repeats: int = 1) -> DPTiming:
    """Time the interval DP (one variance, cosine schedule) for each ``N`` in ``sizes`` on this machine.

    A first call on a small schedule compiles or loads the DP's kernel, so
    that no size pays for it.

    Parameters
    ----------
    sizes : sequence of int
        Numbers of steps (each at least 2).
    repeats : int
        Runs per size; the best is kept.

    Returns
    -------
    DPTiming
    """
    import time

    from ..dp import interval_dp

    ns = [as_int(n, "sizes", minimum=2) for n in sizes]
    if not ns:
        raise ValueError("sizes must hold at least one number of steps")
    reps = as_int(repeats, "repeats", minimum=1)
    interval_dp(Schedule.cosine(4), 0.5, 1.0, "min")
    times = []
    for n in ns:
        sch = Schedule.cosine(n)
        best = math.inf
        for _ in range(reps):
            start = time.perf_counter()
            interval_dp(sch, 0.5, 1.0, "min")
            best = min(best, time.perf_counter() - start)
        times.append(best)
    slope = float(np.polyfit(np.log(ns), np.log(times), 1)[0]) if len(ns) > 1 else float("nan")
    return DPTiming(sizes=ns, times=times, slope=slope)


def plot_dp_timing(timing: DPTiming | None = None, *, ax=None):
    """The interval DP's run time against ``N`` (log-log), the fitted power law and a slope-3 reference.

    Parameters
    ----------
    timing : DPTiming, optional
        From :func:`dp_timing`; default: ``dp_timing()`` measures now.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    timing = _data(timing, DPTiming, dp_timing, "timing")
    ns, times, slope = np.array(timing.sizes, dtype=float), timing.times, timing.slope
    fig, ax, own = _axes(ax, (5.5, 3.8))
    ax.loglog(ns, times, "o", label="best of the runs per size")
    if math.isfinite(slope):
        ax.loglog(ns, times[-1] * (ns / ns[-1]) ** slope, "-", label=f"fitted slope {slope:.2f}")
    ax.loglog(ns, times[-1] * (ns / ns[-1]) ** 3, ":", color="tab:gray", label="slope 3")
    ax.set_xticks(ns, [str(int(n)) for n in ns])
    ax.minorticks_off()
    ax.set(xlabel="number of teacher steps $N$", ylabel="seconds", title="interval DP, one variance")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


@dataclass(frozen=True)
class CostFront:
    """Summed ``W2`` of a shared tree against its number of merges: the data of :func:`plot_cost_front`.

    Attributes
    ----------
    schedule : Schedule
    lams : list of float
        The variances of the coordinates sharing the tree.
    ctau : float
    init : str
    front : list of tuple
        ``(merges, summed W2, tree)`` of the Pareto DP (:meth:`ParetoResult.cost_front`).
    named : dict
        Named strategy -> ``(merges, summed W2)``.
    """

    schedule: Schedule
    lams: list
    ctau: float
    init: str
    front: list
    named: dict


def training_cost_front(schedule="cosine", num_steps: int = 7, lams=(0.5, 1.5, 3.0), ctau: float = 0.5,
                        init: str = "warm", *, result=None) -> CostFront:
    """The best summed ``W2`` of one tree shared by several variances, for each number of merges (training runs).

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : sequence of float
        Positive variances of the coordinates.
    ctau : float
        The budget of each merge.
    init : str
    result : ParetoResult, optional
        ``pareto_tree(schedule, lams, ctau, init, merges=True)`` already
        computed for the same arguments; without it the Pareto DP runs here.

    Returns
    -------
    CostFront

    Examples
    --------
    >>> c = training_cost_front("cosine", 4, lams=(0.5, 2.0))
    >>> c.front[0][0], c.named["vanilla"][0]    # the fewest merges: one, as one-shot
    (1, 1)
    """
    from ..dp import ParetoResult, pareto_tree
    from ..problem import INITS
    from ..trees import MergeTree, merge_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    init = one_of(init, "init", INITS)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    if result is None:
        result = pareto_tree(sch, values, ctau, init, merges=True)
    elif not isinstance(result, ParetoResult):
        raise TypeError(f"result must be a ParetoResult from pareto_tree(..., merges=True), got "
                        f"{type(result).__name__}")
    lam = torch.tensor(values, dtype=DTYPE)
    named = {}
    for name in ("vanilla", "boot", "progressive", "consistency"):
        tree = MergeTree.named(name, sch.num_steps)
        named[name] = (tree.num_merges, float(w2(merge_value(tree, sch, lam, ctau, init), sch, lam)))
    return CostFront(schedule=sch, lams=values, ctau=ctau, init=init, front=result.cost_front(), named=named)


def plot_cost_front(data: CostFront | None = None, *, ax=None):
    """The Pareto front of summed ``W2`` against the number of merges, with the named strategies as points.

    Parameters
    ----------
    data : CostFront, optional
        From :func:`training_cost_front`; default ``training_cost_front()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, CostFront, training_cost_front)
    sch = data.schedule
    fig, ax, own = _axes(ax, (6, 3.8))
    merges, dists = [f[0] for f in data.front], [f[1] for f in data.front]
    ax.step(merges, dists, where="post", color="tab:purple", label="Pareto front")
    ax.plot(merges, dists, "o", color="tab:purple")
    for (name, (count, dist)), marker in zip(data.named.items(), "s^Dv<>"):
        ax.plot([count], [dist], marker, ls="none", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="number of merges (training runs)", ylabel="summed $W_2$",
           title=rf"{sch.name}, $N = {sch.num_steps}$, $\lambda \in$ {data.lams}, $c\tau = {data.ctau:g}$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 7 (phase transition)
@dataclass(frozen=True)
class LambdaCCurves:
    """``lambda_c`` against ``N`` per schedule: the data of :func:`plot_lambda_c`.

    Attributes
    ----------
    num_steps : list of int
    values : dict
        Schedule name -> ``lambda_c`` for each ``N`` (a list of float).
    """

    num_steps: list
    values: dict


def lambda_c_curves(num_steps=(2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256),
                    schedules=SCHEDULE_NAMES) -> LambdaCCurves:
    """:func:`lineardistill.phase.lambda_c` of each schedule for each number of steps.

    Parameters
    ----------
    num_steps : sequence of int
        Each at least 2.
    schedules : str or sequence of str
        Names from :data:`SCHEDULE_NAMES`.

    Returns
    -------
    LambdaCCurves

    Examples
    --------
    >>> c = lambda_c_curves(num_steps=(4,), schedules="cosine")
    >>> round(c.values["cosine"][0], 6) == round(1 + 1 / math.cos(math.pi / 8), 6)
    True
    """
    from ..phase import lambda_c

    ns = [as_int(n, "num_steps", minimum=2) for n in np.atleast_1d(np.asarray(num_steps, dtype=object))]
    if not ns:
        raise ValueError("num_steps must hold at least one number of steps")
    if isinstance(schedules, str):
        schedules = [schedules]
    names = [one_of(s, "schedules", SCHEDULE_NAMES) for s in schedules]
    if not names:
        raise ValueError("schedules must name at least one schedule")
    return LambdaCCurves(num_steps=ns, values={name: [lambda_c(Schedule.named(name, n)) for n in ns]
                                               for name in names})


def plot_lambda_c(data: LambdaCCurves | None = None, *, ax=None):
    """``lambda_c`` against ``N`` for each schedule; it approaches 2 from above.

    Parameters
    ----------
    data : LambdaCCurves, optional
        From :func:`lambda_c_curves`; default ``lambda_c_curves()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, LambdaCCurves, lambda_c_curves)
    fig, ax, own = _axes(ax, (6, 3.8))
    for (name, values), marker in zip(data.values.items(), "os^v"):
        ax.plot(data.num_steps, values, marker=marker, ms=4, label=name)
    ax.axhline(2.0, color="tab:gray", ls=":", label=r"$\lambda = 2$")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="number of teacher steps $N$", ylabel=r"$\lambda_c$",
           title=r"threshold above which every step but the last enlarges the signal")
    ax.legend()
    ax.grid(alpha=0.3)
    return _done(fig, own)


def _phase_axes(ax, diagram, title):
    from matplotlib.colors import ListedColormap

    from ..phase import PHASES

    cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES])
    lam = diagram.lams.cpu().numpy()
    ctau = diagram.ctaus.cpu().numpy()
    ax.pcolormesh(lam, ctau, diagram.code.T.cpu().numpy(), cmap=cmap, vmin=-0.5, vmax=len(PHASES) - 0.5,
                  shading="nearest", rasterized=True)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    if math.isfinite(diagram.lambda_c):
        ax.axvline(diagram.lambda_c, color="k", lw=0.8, ls=":")
    ax.set(xlabel=r"variance $\lambda$", ylabel=r"budget $c\tau$", title=title)


def _phase_legend(fig, used):
    from matplotlib.patches import Patch

    handles = [Patch(color=PHASE_COLORS[p], label=p) for p in used]
    handles += [plt.Line2D([], [], color="k", ls="--", lw=0.8, label=r"$\lambda = 1$"),
                plt.Line2D([], [], color="k", ls=":", lw=0.8, label=r"$\lambda = \lambda_c$")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)


def _diagram_list(diagrams, default):
    from ..phase import PhaseDiagram

    diagrams = default() if diagrams is None else list(diagrams)
    if not diagrams or not all(isinstance(d, PhaseDiagram) for d in diagrams):
        raise TypeError("diagrams must be a non-empty list of PhaseDiagram (from lineardistill.phase_diagram)")
    return diagrams


def _phase_figure(diagrams, titles, axes, panel_size, rect):
    from ..phase import PHASES

    fig, grid, own = _panels(axes, 1, len(diagrams), (panel_size[0] * len(diagrams), panel_size[1]))
    used = set()
    for ax, diagram, title in zip(grid[0], diagrams, titles):
        used |= {PHASES[int(c)] for c in diagram.code.unique()}
        _phase_axes(ax, diagram, title)
    if own:
        _phase_legend(fig, [p for p in PHASES if p in used])
    return _done(fig, own, rect)


def plot_phase_diagram(diagrams=None, *, axes=None):
    """The class of the W2-optimal tree over (variance, budget), one panel per diagram (the book: one per ``N``).

    Parameters
    ----------
    diagrams : sequence of PhaseDiagram, optional
        From :func:`lineardistill.phase.phase_diagram`; default the cosine
        schedule with N = 8, 16, 32 on 121 variances from 0.1 to 10 and 49
        budgets from 0.01 to 10, warm start.
    axes : Axes, one per diagram, optional
        Drawn into without the shared legend of the phases.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..phase import phase_diagram

    def default():
        lams = torch.logspace(-1, 1, 121, dtype=DTYPE)
        ctaus = torch.logspace(-2, 1, 49, dtype=DTYPE)
        return [phase_diagram(Schedule.cosine(n), lams, ctaus) for n in (8, 16, 32)]

    diagrams = _diagram_list(diagrams, default)
    titles = [rf"{d.schedule.name}, $N = {d.schedule.num_steps}$, $\lambda_c = {d.lambda_c:.4g}$" for d in diagrams]
    return _phase_figure(diagrams, titles, axes, (4.2, 4.0), (0, 0.07, 1, 1))


def plot_phase_by_init(diagrams=None, *, axes=None):
    """The phase diagram for each student initialization: only the warm start shows the transition.

    Parameters
    ----------
    diagrams : sequence of PhaseDiagram, optional
        One per initialization; default the cosine schedule with N = 8 on
        61 variances from 0.1 to 10 and 25 budgets from 0.01 to 10, for every
        initialization of :data:`lineardistill.problem.INITS`.
    axes : Axes, one per diagram, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..phase import phase_diagram
    from ..problem import INITS

    def default():
        lams = torch.logspace(-1, 1, 61, dtype=DTYPE)
        ctaus = torch.logspace(-2, 1, 25, dtype=DTYPE)
        return [phase_diagram(Schedule.cosine(8), lams, ctaus, init) for init in INITS]

    diagrams = _diagram_list(diagrams, default)
    return _phase_figure(diagrams, [f"{d.init} start" for d in diagrams], axes, (3.3, 3.6), (0, 0.08, 1, 1))


@dataclass(frozen=True)
class TreeScan:
    """The optimum across the variance at one budget: the data of :func:`plot_optimal_tree_scan`.

    Attributes
    ----------
    schedule : Schedule
    ctau : float
    init : str
    lams : torch.Tensor
        The variances of the sweep, 1-D.
    phases : Phases
        :func:`lineardistill.phase.classify` over ``lams``.
    show : list of float
        The variances whose optimal trees are drawn.
    optima : list of OptimalTree
        :func:`lineardistill.dp.optimal_tree` at each of ``show``.
    lambda_c : float
    """

    schedule: Schedule
    ctau: float
    init: str
    lams: torch.Tensor
    phases: object
    show: list
    optima: list
    lambda_c: float


def optimal_tree_scan(schedule="cosine", num_steps: int = 8, ctau: float = 1.0, lams=None, init: str = "warm",
                      show=(0.6, 1.2, 1.35, 1.6, 3.0)) -> TreeScan:
    """Classify the optimum over a sweep of variances, and find the optimal tree at a few of them.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    ctau : float
        The budget of each merge.
    lams : array_like, optional
        Positive variances of the sweep; default 121 log-spaced from 0.32 to 5.
    init : str
    show : sequence of float
        Positive variances whose optimal trees are kept (and drawn).

    Returns
    -------
    TreeScan
    """
    from ..dp import optimal_tree
    from ..phase import classify, lambda_c
    from ..problem import INITS

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    lams = _log_grid(lams, "lams", torch.logspace(-0.5, 0.7, 121, dtype=DTYPE), positive=True)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    shown = _variance_list(show, "show")
    return TreeScan(schedule=sch, ctau=ctau, init=init, lams=lams, phases=classify(sch, lams, ctau, init),
                    show=shown, optima=[optimal_tree(sch, lam, ctau, init) for lam in shown],
                    lambda_c=lambda_c(sch))


def plot_optimal_tree_scan(data: TreeScan | None = None, *, axes=None):
    """Distances of BOOT, one-shot and the optimum across the variance, shaded by class, and the optimal trees.

    Parameters
    ----------
    data : TreeScan, optional
        From :func:`optimal_tree_scan`; default ``optimal_tree_scan()``.
    axes : sequence of Axes, optional
        ``1 + len(data.show)`` Axes: the sweep, then one per drawn tree.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..phase import PHASES

    data = _data(data, TreeScan, optimal_tree_scan)
    if axes is None:
        fig = plt.figure(figsize=(11, 6.2))
        layout = fig.add_gridspec(2, len(data.show), height_ratios=[1.4, 1])
        axes = [fig.add_subplot(layout[0, :])] + [fig.add_subplot(layout[1, k]) for k in range(len(data.show))]
        own = True
    else:
        fig, grid, own = _panels(axes, 1, 1 + len(data.show), None)
        axes = list(grid[0])
    ax, phases, sch = axes[0], data.phases, data.schedule
    T = phases.teacher.numpy()
    x = data.lams.numpy()
    ax.semilogy(x, phases.boot.numpy() / T, color=PHASE_COLORS["BOOT"], label="BOOT chain")
    ax.semilogy(x, phases.one_shot.numpy() / T, color=PHASE_COLORS["one-shot"], label="one-shot")
    ax.semilogy(x, np.maximum(phases.best.numpy() / T, 1e-17), "k--", lw=1, label="optimal tree")
    edges = np.concatenate([[x[0]], np.sqrt(x[1:] * x[:-1]), [x[-1]]])
    labelled = set()
    for i, k in enumerate(phases.code.numpy()):
        name = PHASES[int(k)]
        ax.axvspan(edges[i], edges[i + 1], color=PHASE_COLORS[name], alpha=0.18, lw=0,
                   label=None if name in labelled else f"optimal class: {name}")
        labelled.add(name)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.axvline(data.lambda_c, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel=r"$|m - T| / T$",
           title=f"{sch.name}, N = {sch.num_steps}, c tau = {data.ctau:g}: dashed lambda = 1, dotted lambda_c")
    ax.legend(fontsize=8, ncol=2)
    for tree_ax, lam, best in zip(axes[1:], data.show, data.optima):
        _draw_tree(tree_ax, best.tree, rf"$\lambda = {lam:g}$")
    return _done(fig, own)


@dataclass(frozen=True)
class StrategySnapshots:
    """Per variance, the optimal tree and the ``W2`` of each strategy: the data of :func:`plot_strategy_snapshots`.

    Attributes
    ----------
    schedule : Schedule
    ctau : float
    init : str
    lams : list of float
    optima : list of OptimalTree
        :func:`lineardistill.dp.optimal_tree` at each variance.
    w2 : list of dict
        Per variance: strategy name (and ``"optimal"``) -> ``W2``.
    """

    schedule: Schedule
    ctau: float
    init: str
    lams: list
    optima: list
    w2: list


def strategy_snapshots(schedule="cosine", num_steps: int = 8, lams=(0.5, 1.3, 4.0), ctau: float = 1.0,
                       init: str = "warm") -> StrategySnapshots:
    """The optimal tree and the ``W2`` of every named strategy and of the optimum, at each variance.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : float or sequence of float
        Positive variances.
    ctau : float
    init : str

    Returns
    -------
    StrategySnapshots

    Examples
    --------
    >>> s = strategy_snapshots("cosine", 4, lams=[0.5])
    >>> s.w2[0]["optimal"] <= min(s.w2[0].values())
    True
    """
    from ..dp import optimal_tree
    from ..problem import INITS
    from ..trees import STRATEGIES, MergeTree, merge_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    init = one_of(init, "init", INITS)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    optima, tables = [], []
    for lam in values:
        table = {name: float(w2(merge_value(MergeTree.named(name, sch.num_steps), sch, lam, ctau, init), sch, lam,
                                dim=None)) for name in STRATEGIES}
        best = optimal_tree(sch, lam, ctau, init)
        table["optimal"] = best.w2
        optima.append(best)
        tables.append(table)
    return StrategySnapshots(schedule=sch, ctau=ctau, init=init, lams=values, optima=optima, w2=tables)


def plot_strategy_snapshots(data: StrategySnapshots | None = None, *, axes=None):
    """Per variance, the optimal tree (top) and the ``W2`` of each strategy as bars (bottom; the optimum in purple).

    Parameters
    ----------
    data : StrategySnapshots, optional
        From :func:`strategy_snapshots`; default ``strategy_snapshots()``.
    axes : Axes, a ``2 x len(lams)`` grid, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, StrategySnapshots, strategy_snapshots)
    sch, count = data.schedule, len(data.lams)
    fig, grid, own = _panels(axes, 2, count, (3.6 * count, 5.2), gridspec_kw={"height_ratios": [1.1, 1]})
    for k, (lam, best, table) in enumerate(zip(data.lams, data.optima, data.w2)):
        _draw_tree(grid[0, k], best.tree, rf"$\lambda={lam:g}$: optimal tree" + ("" if best.exact else " (approx.)"))
        names = list(table)
        grid[1, k].barh(names, [max(table[n], 1e-300) for n in names],
                        color=["tab:purple" if n == "optimal" else "tab:gray" for n in names])
        grid[1, k].set_xscale("log")
        grid[1, k].invert_yaxis()
        grid[1, k].set_xlabel(r"$W_2 = \|v_N\|\,|m - T|$")
        grid[1, k].tick_params(labelsize=8)
    if own:
        fig.suptitle(f"{sch.name} schedule, N = {sch.num_steps}, budget c tau = {data.ctau:g}, {data.init} start",
                     fontsize=10)
    return _done(fig, own)
