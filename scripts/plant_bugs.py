"""Plant each bug of issue 16 in a scratch copy of the library and check that a named test fails.

    python scripts/plant_bugs.py [BUG ...]        (default: every bug below)

Each bug is a text replacement in one module of a copy under ``_plant/<bug>/``; the script then
runs the tests that should catch it against the copy (``PYTHONPATH`` points there). A bug is
"killed" when those tests fail. The replacements are tied to the source text of today: when the
text has moved, the bug is reported as "not planted" (update the replacement, not the test).
Not part of ``make test``; its last results are in benchmarks/mutation.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "_plant"

# name -> (module, old text, new text, pytest arguments that must fail)
BUGS = {
    "pareto-mixed-as-oriented": (
        "dp.py", "mixed = [i for i in range(d) if orient[i] == 0]", "mixed = []",
        ["tests/test_kills_core.py", "-k", "shared_tree or mixed_orientation"]),
    "adam-no-bias-correction": (
        "training.py", "m_hat = adam_m / (1 - b1 ** (step + 1))\n                v_hat = adam_v / (1 - b2 ** (step + 1))",
        "m_hat = adam_m\n                v_hat = adam_v",
        ["tests/test_kills_training.py", "-k", "adam"]),
    "ddim-explorer-N-as-variance": (
        "widgets.py", "plots.ddim_geometry(sch, [lam])", "plots.ddim_geometry(sch, [num_steps])",
        ["tests/test_widgets_callbacks.py", "-k", "ddim"]),
    "loss-not-divided-by-batch": (
        "training.py", "curve[rec] = (loss_sum / batch_size).cpu()", "curve[rec] = loss_sum.cpu()",
        ["tests/test_kills_training.py", "-k", "recorded_loss"]),
    "tolerance-10-sigmas": (
        "training.py", "num_sigmas: float = 5.0", "num_sigmas: float = 10.0",
        ["tests/test_kills_training.py", "-k", "training_tolerance"]),
    "linear-schedule-quadratic-term": (
        "schedule.py", "- 0.25 * (bmax - bmin) * s**2", "- 0.5 * (bmax - bmin) * s**2",
        ["tests/test_kills_core.py", "-k", "linear_schedule"]),
    "linear-schedule-grid": (
        "schedule.py", "s = torch.arange(n + 1, dtype=DTYPE) / n", "s = torch.arange(n + 1, dtype=DTYPE) / (n + 1)",
        ["tests/test_kills_core.py", "-k", "linear_schedule"]),
    "lam-check-missing-in-teacher": (
        "teacher.py", 'return as_tensor(lam, "lam", positive=True, device=schedule.alphas.device)[..., None]',
        'return as_tensor(lam, "lam", device=schedule.alphas.device)[..., None]',
        ["tests/test_kills_core.py", "-k", "refuses_a_variance"]),
    "lam-check-missing-in-problem": (
        "problem.py", 'lam = as_tensor(lam, "lam", positive=True, device=dev)', 'lam = as_tensor(lam, "lam", device=dev)',
        ["tests/test_kills_core.py", "-k", "refuses_a_variance"]),
    "lam-check-allows-zero": (
        "_checks.py", "if positive and tensor.numel() and not bool((tensor > 0).all()):",
        "if positive and tensor.numel() and not bool((tensor >= 0).all()):",
        ["tests/test_kills_core.py", "-k", "refuses_a_variance"]),
    "lambda-c-includes-last-step": (
        "phase.py", "a0, a1 = s.alphas[:n - 1], s.alphas[1:n]\n    s0, s1 = s.sigmas[:n - 1], s.sigmas[1:n]",
        "a0, a1 = s.alphas[:n], s.alphas[1:n + 1]\n    s0, s1 = s.sigmas[:n], s.sigmas[1:n + 1]",
        ["tests/test_kills_core.py", "-k", "lambda_c"]),
    "lambda-c-skips-first-step": (
        "phase.py", "a0, a1 = s.alphas[:n - 1], s.alphas[1:n]\n    s0, s1 = s.sigmas[:n - 1], s.sigmas[1:n]",
        "a0, a1 = s.alphas[1:n - 1], s.alphas[2:n]\n    s0, s1 = s.sigmas[1:n - 1], s.sigmas[2:n]",
        ["tests/test_kills_core.py", "-k", "lambda_c"]),
}


def plant(name: str) -> str:
    module, old, new, args = BUGS[name]
    dest = WORK / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT / "lineardistill", dest / "lineardistill", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / "lineardistill" / module
    text = path.read_text()
    if text.count(old) != 1:
        return "not planted (source text moved)"
    path.write_text(text.replace(old, new))
    env = dict(os.environ, PYTHONPATH=str(dest))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args], cwd=dest,
                         env=env, capture_output=True, text=True)
    last = (run.stdout.strip().splitlines() or ["?"])[-1]
    if run.returncode == 1:
        failed = [line.split(" ", 1)[1].split(" - ")[0] for line in run.stdout.splitlines()
                  if line.startswith("FAILED ")]
        return f"killed by {', '.join(failed) or '?'} ({last})"
    return f"NOT killed (pytest exit {run.returncode}: {last})"


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(BUGS)
    unknown = [n for n in names if n not in BUGS]
    if unknown:
        print(f"unknown bug {unknown[0]!r}; choose from {', '.join(BUGS)}", file=sys.stderr)
        return 2
    survived = 0
    for name in names:
        verdict = plant(name)
        survived += not verdict.startswith("killed")
        print(f"{name}: {verdict}", flush=True)
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
