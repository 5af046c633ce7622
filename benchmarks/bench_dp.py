"""Benchmarks of the optimal-merging DP and the phase diagram (chapters 6 and 7).

Usage: python benchmarks/bench_dp.py [--out benchmarks/dp_results.md]

Measures, on this machine:

1. the interval DP (R11, min, with back-pointers) for one variance at N = 1024 (target: <= 2 s),
   by the compiled numba kernel (the default for one variance) and by the torch code;
2. the same DP at N = 128 against a straightforward pure-Python triple-loop DP
   (same recurrence, same back-pointers), in the same run (target: >= 100x faster),
   again for both paths; the numba kernel is compiled by one warm-up call first,
   whose time is reported on its own row;
3. a phase diagram of 256 variances x 64 budgets at N = 32 (target: <= 5 s);
4. exact enumeration of all 103,049 trees at N = 10 (target: <= 30 s).

Each timing is the best of a few repeats (the machine may be shared). Results
are printed as a markdown table and written to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

import lineardistill as ld
from lineardistill import dp as dpmod

ROOT = Path(__file__).resolve().parents[1]


def python_dp(r, w):
    """R11 (min, warm start) as a plain triple loop over Python floats, with back-pointers."""
    n = len(r)
    V = [[0.0] * (n + 1) for _ in range(n + 1)]
    G = [[0.0] * (n + 1) for _ in range(n + 1)]
    kv = [[0] * (n + 1) for _ in range(n + 1)]
    kg = [[0] * (n + 1) for _ in range(n + 1)]
    for t in range(1, n + 1):
        V[t - 1][t] = G[t - 1][t] = r[t - 1]
    for length in range(2, n + 1):
        for s in range(n - length + 1):
            t = s + length
            wt = w[t]
            best_v = best_p = float("inf")
            arg_v = arg_p = 0
            for u in range(s + 1, t):
                a, b = V[u][t], G[s][u]
                v = a * (wt + (1 - wt) * b)
                if v < best_v:
                    best_v, arg_v = v, u
                p = a * b
                if p < best_p:
                    best_p, arg_p = p, u
            V[s][t], kv[s][t] = best_v, arg_v
            G[s][t], kg[s][t] = (best_v, 0) if best_v <= best_p else (best_p, arg_p)
    return V[0][n]


def best_time(fn, repeats):
    """Best wall-clock seconds over ``repeats`` runs; the CPU seconds of that run go to ``CPU``."""
    best, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall, used = time.perf_counter() - start, time.process_time() - start_cpu
        if wall < best:
            best, cpu = wall, used
    CPU.append(cpu)
    return best, out


CPU = []


def numba_available():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def run():
    rows = []
    engines = ["torch"]
    start, start_cpu = time.perf_counter(), time.process_time()
    if numba_available():
        CPU.append(time.process_time() - start_cpu)
        rows.append(("import numba (once per process)", time.perf_counter() - start, "", None))
        engines.insert(0, "numba")
        # the first call compiles the kernel: timed here, excluded from the timings below
        start, start_cpu = time.perf_counter(), time.process_time()
        ld.interval_dp(ld.Schedule.cosine(4), 0.5, 1.0, "min", _engine="numba")
        CPU.append(time.process_time() - start_cpu)
        rows.append(("numba JIT compilation of the DP kernel (first call, once per process)",
                     time.perf_counter() - start, "", None))
    else:
        CPU.append(None)
        rows.append(("numba is not importable: torch path only", None, "", None))

    sch = ld.Schedule.cosine(1024)
    for engine in engines:
        t, dp = best_time(lambda engine=engine: ld.interval_dp(sch, 0.5, 1.0, "min", _engine=engine), 3)
        rows.append((f"interval DP ({engine}), one variance, N = 1024 (min, back-pointers)", t, "<= 2 s", t <= 2.0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t, dp = best_time(lambda: ld.interval_dp(sch, 0.5, 1.0, "min", _engine="torch"), 3)
    finally:
        torch.set_num_threads(threads)
    rows.append(("the same (torch) with torch.set_num_threads(1)", t, "<= 2 s", t <= 2.0))

    sch = ld.Schedule.cosine(128)
    r = ld.teacher_multipliers(sch, 0.5).tolist()
    w = ld.training_weights(sch, 0.5, 1.0).tolist()
    t_py, v_py = best_time(lambda: python_dp(r, w), 3)
    rows.append(("pure-Python triple-loop DP, N = 128", t_py, "", None))
    for engine in engines:
        t_dp, dp = best_time(lambda engine=engine: ld.interval_dp(sch, 0.5, 1.0, "min", _engine=engine), 50)
        assert abs(v_py - float(dp.value)) <= 1e-12 * abs(v_py), "the two DPs disagree"
        rows.append((f"interval DP ({engine}), N = 128 (whole call: inputs, DP, result)", t_dp, "", None))
        CPU.append(None)
        rows.append((f"speed-up of {engine} at N = 128: {t_py / t_dp:.0f}x (wall clock)", None, ">= 100x",
                     t_py / t_dp >= 100))
    # like for like: the Python loop gets r and w ready-made, so time the input preparation and the
    # compiled DP on its own too (context; the target above is for the whole interval_dp call)
    t_in, (_, r_t, w_t, s0_t, *_) = best_time(lambda: dpmod._inputs(sch, 0.5, 1.0, "warm"), 50)
    rows.append(("interval_dp input preparation alone (validation, r, w), N = 128 (context)", t_in, "", None))
    if "numba" in engines:
        t_k, (vg, _) = best_time(lambda: dpmod._numba_extremes(r_t, w_t, s0_t, 128, "min"), 50)
        assert abs(v_py - float(vg[0, 0, 128, 0])) <= 1e-12 * abs(v_py), "the two DPs disagree"
        rows.append(("numba DP alone on ready-made r, w (as the Python loop gets them), N = 128 (context)",
                     t_k, "", None))
        CPU.append(None)
        rows.append((f"speed-up of the numba DP alone at N = 128: {t_py / t_k:.0f}x (wall clock, context)",
                     None, "", None))

    sch = ld.Schedule.cosine(256)
    r = ld.teacher_multipliers(sch, 0.5).tolist()
    w = ld.training_weights(sch, 0.5, 1.0).tolist()
    t_py, v_py = best_time(lambda: python_dp(r, w), 1)
    rows.append(("pure-Python triple-loop DP, N = 256 (context)", t_py, "", None))
    for engine in engines:
        t_dp, dp = best_time(lambda engine=engine: ld.interval_dp(sch, 0.5, 1.0, "min", _engine=engine), 10)
        assert abs(v_py - float(dp.value)) <= 1e-12 * abs(v_py), "the two DPs disagree"
        rows.append((f"interval DP ({engine}), N = 256 (context)", t_dp, "", None))
        CPU.append(None)
        rows.append((f"speed-up of {engine} at N = 256: {t_py / t_dp:.0f}x (wall clock, context)", None, "", None))

    sch = ld.Schedule.cosine(32)
    lams = torch.logspace(-1, 1, 256, dtype=torch.float64)
    ctaus = torch.logspace(-2, 1, 64, dtype=torch.float64)
    t, _ = best_time(lambda: ld.phase_diagram(sch, lams, ctaus), 2)
    rows.append(("phase diagram 256 x 64 at N = 32", t, "<= 5 s", t <= 5.0))

    sch = ld.Schedule.cosine(10)
    t, ev = best_time(lambda: ld.enumerate_values(sch, 1.3, 1.0), 2)
    assert ev.num_trees == 103049
    rows.append(("enumerate all 103,049 trees at N = 10 (one variance)", t, "<= 30 s", t <= 30.0))
    t, _ = best_time(lambda: ld.optimal_tree(sch, 1.3, 1.0, method="enumerate"), 2)
    rows.append(("optimal_tree by enumeration at N = 10 (incl. DPs, tree rebuild)", t, "<= 30 s", t <= 30.0))
    return rows


def numba_version():
    try:
        import numba
    except ImportError:
        return "numba not installed"
    return f"numba {numba.__version__}"


def machine():
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.machine()} {platform.processor() or ''}".strip() + f", {os.cpu_count()} CPU cores, "
            f"torch {torch.__version__} with {torch.get_num_threads()} threads, {numba_version()}, "
            f"Python {platform.python_version()}; "
            f"load average at the end of the run {load} (CPU s counts all threads of this process)")


def table(rows):
    lines = ["| measurement | wall s | CPU s | target (wall) | met |", "|---|---:|---:|---|---|"]
    for (name, t, target, ok), cpu in zip(rows, CPU):
        sec = "" if t is None else f"{t:.4f}"
        used = "" if cpu is None else f"{cpu:.4f}"
        met = "" if ok is None else ("yes" if ok else "NO")
        lines.append(f"| {name} | {sec} | {used} | {target} | {met} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "dp_results.md"))
    args = parser.parse_args()
    rows = run()
    text = f"Machine: {machine()}\n\n{table(rows)}\n"
    print(text)
    Path(args.out).write_text("# DP and phase-diagram benchmarks\n\n" + text)


if __name__ == "__main__":
    main()
