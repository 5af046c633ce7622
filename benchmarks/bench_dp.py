"""Benchmarks of the optimal-merging DP, the window search and the shared tree (chapters 6, 9, 10).

Usage: python benchmarks/bench_dp.py [--out benchmarks/dp_results.md] [--quick]

Every goal is reported as a ratio measured in the same run:

1. batched DP (min and max, values only) at N = 512 against the float64 matrix-product rate of
   this process (counting 2 DPs x 2 flops x N^3/6 per point; goal >= 10%), and against the torch
   engine of the same recurrence; on CUDA too when a GPU is present;
2. one DP with back-pointers at N = 1024, the compiled DP against a pure-Python triple loop at N = 128,
   a phase diagram (256 x 64 points at N = 32) and the enumeration of all trees at N = 10;
3. ``optimal_tree`` in the window (tree values on both sides of T) at N = 12..64, both schedules:
   how many points are certified, median and largest time (goal: all, median <= 0.1 s, max <= 2 s),
   the distance of the returned trees to T against the DP trees alone (the method before the search),
   the greedy descent alone, and the search against enumeration at N = 10;
4. ``shared_optimal_tree`` on the digits spectrum at N = 16 and 32 (goal: certified within 10 s and
   60 s), against the Pareto DP and against enumeration at N = 8.

Timings are best-of-k wall clock on a shared machine; the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import torch

import lineardistill as ld
from lineardistill import dp as dpmod
from lineardistill.search import descend

ROOT = Path(__file__).resolve().parents[1]


def best_time(fn, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def matmul_rate(device="cpu", size=1024, repeats=5):
    a = torch.randn(size, size, dtype=torch.float64, device=device)
    b = torch.randn(size, size, dtype=torch.float64, device=device)

    def run():
        c = a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        return c

    run()
    t, _ = best_time(run, repeats)
    return 2 * size**3 / t


def python_dp(r, w):
    """R11 (min, warm start) as a plain triple loop over Python floats."""
    n = len(r)
    V = [[0.0] * (n + 1) for _ in range(n + 1)]
    G = [[0.0] * (n + 1) for _ in range(n + 1)]
    for t in range(1, n + 1):
        V[t - 1][t] = G[t - 1][t] = r[t - 1]
    for length in range(2, n + 1):
        for s in range(n - length + 1):
            t = s + length
            wt = w[t]
            best_v = best_p = float("inf")
            for u in range(s + 1, t):
                a, b = V[u][t], G[s][u]
                best_v = min(best_v, a * (wt + (1 - wt) * b))
                best_p = min(best_p, a * b)
            V[s][t], G[s][t] = best_v, min(best_v, best_p)
    return V[0][n]


def window_points(sch, count):
    lam = torch.linspace(1.0, 2.2, 121, dtype=torch.float64)[:, None]
    ctau = torch.logspace(-1.5, 1.0, 9, dtype=torch.float64)[None, :]
    both = ld.extreme_values(sch, lam, ctau)
    T = ld.composite(sch, lam).expand_as(both.least)
    inside = torch.nonzero((both.least < T) & (both.largest > T))
    pick = inside[torch.linspace(0, inside.shape[0] - 1, min(count, inside.shape[0])).long()]
    return [(float(lam[i, 0]), float(ctau[0, j])) for i, j in pick.tolist()]


def run(quick=False):
    rows = []   # (measurement, value, goal, met)
    sch = ld.Schedule.cosine(8)
    start = time.perf_counter()
    ld.extreme_values(sch, [0.5, 1.3], 1.0)          # compiles (or loads from cache) the kernels
    rows.append(("first DP call of the process (numba import and kernel compile or cache load), s",
                 f"{time.perf_counter() - start:.2f}", "", None))

    # 1. batched DP against the matrix-product rate
    rate = matmul_rate()
    rows.append(("float64 matrix product 1024 x 1024 in this process, GFLOP/s", f"{rate / 1e9:.1f}", "", None))
    n, batch = (256, 32) if quick else (512, 64)
    sch = ld.Schedule.cosine(n)
    lam = torch.linspace(0.5, 3.0, batch, dtype=torch.float64)
    flops = batch * 2 * 2 * n**3 / 6
    t_k, both = best_time(lambda: ld.extreme_values(sch, lam, 1.0), 2)
    ratio = flops / t_k / rate
    rows.append((f"batched min+max DP, {batch} points, N = {n} (compiled, all cores): s / GFLOP/s",
                 f"{t_k:.2f} / {flops / t_k / 1e9:.2f}", "", None))
    rows.append(("  ratio to the matrix-product rate of the same run", f"{100 * ratio:.1f}%", ">= 10%", ratio >= 0.10))
    nt, bt = (128, 16) if quick else (192, 32)
    sch_t = ld.Schedule.cosine(nt)
    lam_t = torch.linspace(0.5, 3.0, bt, dtype=torch.float64)
    t_t, lo_t = best_time(lambda: dpmod._torch_tables(ld.MergeProblem(sch_t, lam_t, 1.0).flat(), "min"), 1)
    t_k2, both2 = best_time(lambda: ld.extreme_values(sch_t, lam_t, 1.0), 2)
    assert torch.equal(lo_t[0][:, nt, 0], both2.least), "the engines disagree"
    rows.append((f"  against the torch engine (previous batched path), {bt} points, N = {nt}: torch min-DP s / "
                 "compiled min+max s", f"{t_t:.2f} / {t_k2:.3f}", "", None))
    rows.append(("  speed-up of the compiled engine (2 DPs vs 1)", f"{2 * t_t / t_k2:.0f}x", "", None))
    if torch.cuda.is_available():
        grate = matmul_rate("cuda", 4096)
        prob = ld.MergeProblem(ld.Schedule.cosine(n).to("cuda") if hasattr(ld.Schedule, "to") else sch, lam, 1.0)
        if prob.device.type == "cuda":
            def gpu():
                out = ld.extreme_values(prob)
                torch.cuda.synchronize()
                return out
            gpu()
            t_g, _ = best_time(gpu, 2)
            rows.append((f"CUDA: batched min+max DP (torch engine), {batch} points, N = {n}: s / share of "
                         "the GPU matrix-product rate", f"{t_g:.2f} / {100 * flops / t_g / grate:.2f}%", "", None))
        else:
            rows.append(("CUDA present, but schedules cannot be moved to it here", "", "", None))
    else:
        rows.append(("CUDA: no GPU in this run (the torch engine runs there; not measured)", "", "", None))

    # 2. one DP with the tree, and the compiled DP against a Python loop
    sch = ld.Schedule.cosine(1024)
    t1, _ = best_time(lambda: ld.interval_dp(sch, 0.5, 1.0, "min"), 2)
    rows.append(("interval DP with tables for the tree, one point, N = 1024, s", f"{t1:.3f}", "<= 2 s", t1 <= 2))
    sch = ld.Schedule.cosine(128)
    prob = ld.MergeProblem(sch, 0.5, 1.0)
    t_py, v_py = best_time(lambda: python_dp(prob.r.tolist(), prob.w.tolist()), 1)
    t_dp, dp = best_time(lambda: ld.interval_dp(sch, 0.5, 1.0, "min"), 20)
    assert abs(v_py - float(dp.value)) <= 1e-12 * abs(v_py)
    rows.append(("compiled DP (whole call) against a pure-Python triple loop, N = 128", f"{t_py / t_dp:.0f}x",
                 ">= 100x", t_py / t_dp >= 100))

    sch = ld.Schedule.cosine(32)
    lams = torch.logspace(-1, 1, 256, dtype=torch.float64)
    ctaus = torch.logspace(-2, 1, 64, dtype=torch.float64)
    t, _ = best_time(lambda: ld.phase_diagram(sch, lams, ctaus), 2)
    rows.append(("phase diagram, 256 variances x 64 budgets at N = 32, s", f"{t:.2f}", "<= 5 s", t <= 5.0))
    s10 = ld.Schedule.cosine(10)
    t, ev = best_time(lambda: ld.enumerate_values(s10, 1.3, 1.0), 2)
    rows.append((f"exact values of all {ev.num_trees:,} trees at N = 10, s", f"{t:.3f}", "<= 30 s", t <= 30.0))

    # 3. the per-coordinate optimum in the window
    sizes = (12, 16, 32) if quick else (12, 16, 24, 32, 48, 64)
    times, exact, total, dist, dist_dp, dist_descent, t_descent = [], 0, 0, [], [], [], []
    for name in ("cosine", "linear"):
        for n in sizes:
            s = getattr(ld.Schedule, name)(n)
            for lam_f, ctau_f in window_points(s, 2 if quick else 3):
                start = time.perf_counter()
                opt = ld.optimal_tree(s, lam_f, ctau_f)
                times.append(time.perf_counter() - start)
                exact += opt.exact
                total += 1
                dist.append(abs(opt.value - opt.teacher) / opt.teacher)
                dp_trees = ld.optimal_tree(s, lam_f, ctau_f, method="approximate")
                dist_dp.append(abs(dp_trees.value - dp_trees.teacher) / dp_trees.teacher)
                p = ld.MergeProblem(s, lam_f, ctau_f).flat()
                tables = dpmod.extreme_tables(p)
                start = time.perf_counter()
                tree = descend(p, tables)
                t_descent.append(time.perf_counter() - start)
                dist_descent.append(abs(float(dpmod.merge_rule_value(tree, p)) - opt.teacher) / opt.teacher)
    med, worst = statistics.median(times), max(times)
    rows.append((f"optimal_tree in the window, N = {', '.join(map(str, sizes))}, cosine and linear: certified",
                 f"{exact} of {total}", "all", exact == total))
    rows.append(("  median / largest time per call, s (default time_limit 1.8 s)", f"{med:.3f} / {worst:.2f}",
                 "<= 0.1 / <= 2", med <= 0.1 and worst <= 2.0))
    rows.append(("  |m - T| / T of the returned tree: median / largest (the DP trees alone: median / largest)",
                 f"{statistics.median(dist):.1e} / {max(dist):.1e} ({statistics.median(dist_dp):.1e} / "
                 f"{max(dist_dp):.1e})", "", None))
    rows.append(("  greedy descent alone (the search's first incumbent): median / largest |m - T| / T, median / "
                 "largest s", f"{statistics.median(dist_descent):.1e} / {max(dist_descent):.1e}, "
                 f"{statistics.median(t_descent):.3f} / {max(t_descent):.3f}", "", None))
    s10 = ld.Schedule.cosine(10)
    pts = window_points(s10, 3)
    t_s = sum(best_time(lambda p=p: ld.optimal_tree(s10, *p, method="search", time_limit=60), 1)[0] for p in pts)
    t_e = sum(best_time(lambda p=p: ld.optimal_tree(s10, *p, method="enumerate"), 1)[0] for p in pts)
    rows.append(("  N = 10, 3 window points: search s / enumeration s (both exact)", f"{t_s:.2f} / {t_e:.2f}", "",
                 None))

    # 4. one tree for the digits spectrum
    digits = ld.digits_spectrum()
    for n, goal in ((16, 10.0), (32, 60.0)):
        t, res = best_time(lambda n=n: ld.shared_optimal_tree(ld.Schedule.cosine(n), digits, 1.0, time_limit=goal), 1)
        rows.append((f"shared_optimal_tree, digits ({digits.numel()} eigenvalues), N = {n}, c tau = 1: s "
                     f"(certified: {res.exact}, {res.nodes} partial trees)", f"{t:.2f}", f"<= {goal:.0f} s, certified",
                     res.exact and t <= goal))
    s6 = ld.Schedule.cosine(6)
    t_b, res6 = best_time(lambda: ld.shared_optimal_tree(s6, digits, 1.0), 2)
    t_p, par6 = best_time(lambda: ld.pareto_tree(s6, digits, 1.0), 1)
    assert abs(res6.w2 - par6.w2) <= 1e-9 * par6.w2
    rows.append(("  N = 6: Pareto DP (previous method) s / branch and bound s", f"{t_p:.2f} / {t_b:.3f}",
                 "", None))
    s8 = ld.Schedule.cosine(8)
    t_b8, res8 = best_time(lambda: ld.shared_optimal_tree(s8, digits, 1.0), 2)
    t_e8, ev8 = best_time(
        lambda: ld.w2(ld.enumerate_values(s8, digits, 1.0).values, s8, digits[:, None], dim=0).min(), 1)
    assert abs(res8.w2 - float(ev8)) <= 1e-9 * res8.w2
    rows.append(("  N = 8: enumeration of all 4,279 trees s / branch and bound s (same optimum)",
                 f"{t_e8:.2f} / {t_b8:.3f}", "", None))
    return rows


def machine():
    try:
        import numba
        nb = f"numba {numba.__version__}"
    except ImportError:
        nb = "numba not installed"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} CPU cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {nb}, "
            f"Python {platform.python_version()}; load average at the end {load}")


def table(rows):
    lines = ["| measurement | result | goal | met |", "|---|---:|---|---|"]
    for name, value, goal, ok in rows:
        lines.append(f"| {name} | {value} | {goal} | {'' if ok is None else ('yes' if ok else 'NO')} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "dp_results.md"))
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke test)")
    args = parser.parse_args()
    rows = run(args.quick)
    text = f"Machine: {machine()}\n\n{table(rows)}\n"
    print(text)
    Path(args.out).write_text("# DP, window search and shared-tree benchmarks\n\n" + text)


if __name__ == "__main__":
    main()
