"""Tests for lineardistill.dp (R10 to R13): the interval DP, exact enumeration, the optimum, the Pareto DP.

Every DP result is checked against brute force: all trees listed by
``trees.all_trees`` and evaluated one by one by ``trees.merge_value``, an
implementation independent of the DP's recurrence and tables.
"""

import functools

import pytest
import torch

import lineardistill as ld
from lineardistill.dp import (
    ENUMERATION_MAX_STEPS,
    enumerate_values,
    extreme_tables,
    extreme_values,
    interval_dp,
    merge_rule_value,
    optimal_tree,
    pareto_tree,
)
from lineardistill.problem import INITS
from lineardistill.search import descend
from lineardistill.trees import MergeTree, all_trees, count_trees, merge_value

SCHEDULES = {"cosine": ld.Schedule.cosine, "linear": ld.Schedule.linear}


def random_points(seed, count):
    """Variances spread over 0.05..20 (log-uniform) and budgets over 0.01..10, from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    lam = torch.exp(torch.empty(count, dtype=torch.float64).uniform_(-3.0, 3.0, generator=gen))
    ctau = torch.exp(torch.empty(count, dtype=torch.float64).uniform_(-4.6, 2.3, generator=gen))
    return lam, ctau


def brute_values(schedule, lam, ctau, init="warm"):
    """(trees, values[tree, point]) by evaluating every tree separately."""
    trees = all_trees(schedule.num_steps)
    return trees, torch.stack([merge_value(t, schedule, lam, ctau, init) for t in trees])


@functools.cache
def shared_brute(name, n):
    """Brute force at the shared random points of (schedule, N), computed once per test session."""
    sch = SCHEDULES[name](n)
    lam, ctau = random_points(100 + n, 12)
    trees, values = brute_values(sch, lam, ctau)
    return sch, lam, ctau, trees, values


# ------------------------------------------------------------ interval DP
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_min_max_match_brute_force_warm(name, n):
    sch, lam, ctau, _, values = shared_brute(name, n)
    least, largest = extreme_values(sch, lam, ctau)
    torch.testing.assert_close(least, values.min(dim=0).values, rtol=1e-12, atol=0)
    torch.testing.assert_close(largest, values.max(dim=0).values, rtol=1e-12, atol=0)


@pytest.mark.parametrize("init", [i for i in INITS if i != "warm"])
@pytest.mark.parametrize("n", [4, 6])
def test_min_max_match_brute_force_other_inits(init, n):
    sch = ld.Schedule.cosine(n)
    lam, ctau = random_points(7 * n, 10)
    _, values = brute_values(sch, lam, ctau, init)
    least, largest = extreme_values(sch, lam, ctau, init)
    torch.testing.assert_close(least, values.min(dim=0).values, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(largest, values.max(dim=0).values, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("opt", ["min", "max", "target"])
def test_dp_tree_has_the_dp_value(opt):
    sch = ld.Schedule.linear(9)
    lam, ctau = random_points(3, 6)
    dp = interval_dp(sch, lam, ctau, opt)
    for i in range(6):
        tree = dp.tree((i,))
        assert tree.hi == 9 and tree.lo == 0
        torch.testing.assert_close(merge_value(tree, sch, lam[i], ctau[i]), dp.value[i], rtol=1e-12, atol=0)


def test_dp_batches_over_a_grid_like_single_points():
    sch = ld.Schedule.cosine(7)
    lam = torch.tensor([0.3, 1.0, 1.6, 4.0], dtype=torch.float64)
    ctau = torch.tensor([0.05, 0.5, 5.0], dtype=torch.float64)
    grid = interval_dp(sch, lam[:, None], ctau[None, :], "min")
    assert grid.value.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            single = interval_dp(sch, float(lam[i]), float(ctau[j]), "min")
            assert float(single.value) == pytest.approx(float(grid.value[i, j]), rel=1e-14)
            assert grid.tree((i, j)) == single.tree()
    fast = interval_dp(sch, lam[:, None], ctau[None, :], "min", pointers=False)
    torch.testing.assert_close(fast.value, grid.value, rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="pointers=False"):
        fast.tree((0, 0))


def test_long_chain_rebuilds_without_recursion():
    n = 160
    sch = ld.Schedule.cosine(n)
    dp = interval_dp(sch, 0.5, 1.0, "min")
    assert dp.tree() == MergeTree.boot(n)  # R16 at lam <= 1, and no RecursionError


# ------------------------------------------------------------ enumeration
@pytest.mark.parametrize("init", ["warm", "coarse"])
@pytest.mark.parametrize("n", [1, 4, 7])
def test_enumeration_lists_every_tree_once(n, init):
    sch = ld.Schedule.linear(n)
    lam, ctau = random_points(n, 3)
    ev = enumerate_values(sch, lam, ctau, init)
    trees, values = brute_values(sch, lam, ctau, init)
    assert ev.num_trees == len(trees) == count_trees(n)
    torch.testing.assert_close(ev.values.sort(dim=-1).values, values.T.sort(dim=-1).values, rtol=1e-12, atol=0)
    listed = {ev.tree(j) for j in range(ev.num_trees)}
    assert listed == set(trees)
    gen = torch.Generator().manual_seed(n)
    for j in torch.randint(ev.num_trees, (5,), generator=gen).tolist():
        torch.testing.assert_close(merge_value(ev.tree(j), sch, lam, ctau, init), ev.values[:, j], rtol=1e-12, atol=0)


def test_enumeration_at_ten_steps():
    sch = ld.Schedule.cosine(10)
    ev = enumerate_values(sch, [0.5, 1.5], 1.0)
    assert ev.num_trees == 103049
    least, largest = extreme_values(sch, torch.tensor([0.5, 1.5]), 1.0)
    torch.testing.assert_close(ev.values.amin(-1), least, rtol=1e-12, atol=0)
    torch.testing.assert_close(ev.values.amax(-1), largest, rtol=1e-12, atol=0)


def test_enumeration_refuses_large_n():
    with pytest.raises(ValueError, match=f"num_steps <= {ENUMERATION_MAX_STEPS}"):
        enumerate_values(ld.Schedule.cosine(ENUMERATION_MAX_STEPS + 1), 1.0, 1.0)
    with pytest.raises(ValueError, match="enumerate"):
        optimal_tree(ld.Schedule.cosine(ENUMERATION_MAX_STEPS + 1), 1.3, 1.0, method="enumerate")


# ------------------------------------------------------------ the optimum
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [3, 5, 8])
def test_optimal_tree_matches_brute_force(name, n):
    sch, lam, ctau, _, values = shared_brute(name, n)
    T = ld.composite(sch, lam)
    norm = ld.vector_norms(sch, lam)[..., -1]
    brute = (norm * (values - T).abs()).min(dim=0).values
    for i in range(lam.numel()):
        opt = optimal_tree(sch, float(lam[i]), float(ctau[i]))
        assert opt.exact
        assert opt.w2 == pytest.approx(float(brute[i]), rel=1e-9, abs=1e-15)
        if opt.method.startswith(("min-DP", "max-DP")):  # one side of T: the min or the max tree
            side = values[:, i] >= T[i] * (1 - 1e-12) if "min" in opt.method else values[:, i] <= T[i] * (1 + 1e-12)
            assert bool(side.all())


def window_points(sch, count):
    """Points (lam, ctau) where tree values lie on both sides of T, found by scanning a grid."""
    lam = torch.linspace(1.0, 2.2, 49, dtype=torch.float64)[:, None]
    ctau = torch.logspace(-1.5, 1.0, 21, dtype=torch.float64)[None, :]
    least, largest = extreme_values(sch, lam, ctau)
    T = ld.composite(sch, lam).expand_as(least)
    inside = torch.nonzero((least < T * (1 - 1e-9)) & (largest > T * (1 + 1e-9)))
    assert inside.shape[0] >= count, "the mixed window should exist between lam = 1 and lambda_c"
    pick = inside[torch.linspace(0, inside.shape[0] - 1, count).long()]
    return [(float(lam[i, 0]), float(ctau[0, j])) for i, j in pick.tolist()]


@pytest.mark.parametrize("n", [5, 8])
def test_general_method_inside_the_window(n):
    sch = ld.Schedule.cosine(n)
    points = window_points(sch, 5)
    _, values = brute_values(sch, torch.tensor([p[0] for p in points], dtype=torch.float64),
                           torch.tensor([p[1] for p in points], dtype=torch.float64))
    for i, (lam, ctau) in enumerate(points):
        opt = optimal_tree(sch, lam, ctau)
        assert opt.exact and "enumeration" in opt.method
        assert opt.least < opt.teacher < opt.largest
        best = (values[:, i] - opt.teacher).abs().min()
        assert opt.w2 == pytest.approx(float(best), rel=1e-9, abs=1e-15)
        approx = optimal_tree(sch, lam, ctau, method="approximate")
        assert not approx.exact and "approximate" in approx.method
        assert opt.w2 <= approx.w2 + 1e-15          # the exact optimum is no worse
        # the approximate tree is a real tree: its W2, recomputed from its tree, is what it reports
        # and no better than the brute-force optimum (its gap_bound is its own W2, nothing to check)
        # (to the float64 evaluation bound of |m - T|, dp._resolution: 8 (N+1) ulps of T; the two
        # evaluations round differently and |m - T| cancels)
        own = abs(float(merge_value(approx.tree, sch, lam, ctau)) - opt.teacher)
        assert abs(approx.w2 - own) <= 8.0 * (n + 1) * 2.0**-53 * opt.teacher
        assert approx.w2 >= float(best) * (1 - 1e-12)


def test_search_beyond_enumeration_is_never_worse_than_the_dp_trees():
    sch = ld.Schedule.cosine(14)
    lam, ctau = window_points(sch, 1)[0]
    opt = optimal_tree(sch, lam, ctau, time_limit=0.5)
    approx = optimal_tree(sch, lam, ctau, method="approximate")
    assert not approx.exact and approx.gap_bound == pytest.approx(approx.w2)
    assert opt.w2 <= approx.w2 + 1e-15                  # the search starts from the best DP tree
    if not opt.exact:
        assert "time_limit" in opt.method and opt.gap_bound <= opt.w2 + opt.resolution
    boot = abs(float(merge_value(MergeTree.boot(14), sch, lam, ctau)) - opt.teacher)
    one = abs(float(merge_value(MergeTree.vanilla(14), sch, lam, ctau)) - opt.teacher)
    assert opt.w2 <= min(boot, one) + 1e-15


def test_optimal_tree_trivial_and_validation():
    sch = ld.Schedule.cosine(1)
    opt = optimal_tree(sch, 2.0, 1.0)
    assert str(opt.tree) == "1" and opt.w2 == 0.0 and opt.exact
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lam"):
        optimal_tree(sch, -1.0, 1.0)
    with pytest.raises(ValueError, match="ctau"):
        optimal_tree(sch, 1.0, -0.1)
    with pytest.raises(ValueError, match="single number"):
        optimal_tree(sch, [1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="init"):
        optimal_tree(sch, 1.0, 1.0, init="cold")
    with pytest.raises(ValueError, match="method"):
        optimal_tree(sch, 1.0, 1.0, method="magic")
    with pytest.raises(ValueError, match="opt"):
        interval_dp(sch, 1.0, 1.0, opt="best")
    with pytest.raises(TypeError, match="schedule"):
        interval_dp("cosine", 1.0, 1.0)


# ------------------------------------------------------------ Pareto DP
@pytest.mark.parametrize("init", ["warm", "teacher"])
@pytest.mark.parametrize("lam", [[0.5, 1.5, 3.0], [1.25, 1.4], [0.2, 0.7, 6.0, 1.3]])
def test_pareto_dp_matches_brute_force(lam, init):
    n = 6
    sch = ld.Schedule.cosine(n)
    lam_t = torch.tensor(lam, dtype=torch.float64)
    ctau = 0.4
    trees, values = brute_values(sch, lam_t, ctau, init)           # (trees, d)
    T = ld.composite(sch, lam_t)
    norm = ld.vector_norms(sch, lam_t)[..., -1]
    total = torch.sqrt(((norm * (values - T)) ** 2).sum(dim=1))
    result = pareto_tree(sch, lam, ctau, init, merges=True)
    assert result.w2 == pytest.approx(float(total.min()), rel=1e-12)
    torch.testing.assert_close(merge_value(result.tree, sch, lam_t, ctau, init), result.values, rtol=1e-12, atol=0)
    # every front point is a real tree's vector, and no tree beats a front point everywhere
    sign = result.orientation.to(torch.float64)
    merges = torch.tensor([t.num_merges for t in trees])
    for j in range(result.front_values.shape[0]):
        tree = result.front_tree(j)
        assert tree.num_merges == int(result.front_merges[j])
        torch.testing.assert_close(merge_value(tree, sch, lam_t, ctau, init), result.front_values[j], rtol=1e-12, atol=0)
    # fidelity against training cost: best W2 with at most k merges, from brute force
    expected, best = [], float("inf")
    for k in range(1, n):
        w = float(total[merges <= k].min())
        if w < best - 1e-15:
            expected.append((k, w))
            best = w
    got = [(k, w) for k, w, _ in result.cost_front()]
    assert [k for k, _ in got] == [k for k, _ in expected]
    for (_, a), (_, b) in zip(got, expected):
        assert a == pytest.approx(b, rel=1e-12)
    # orientation per coordinate, from the brute-force values: +1 every tree >= T, -1 every tree <= T, else 0
    above, below = (values >= T).all(dim=0), (values <= T).all(dim=0)
    want = torch.where(above, 1.0, torch.where(below, -1.0, 0.0)).to(torch.float64)
    assert torch.equal(sign, want), (sign, want)


def test_pareto_single_coordinate_agrees_with_optimal_tree():
    sch = ld.Schedule.linear(7)
    for lam in (0.4, 1.3, 5.0):
        single = optimal_tree(sch, lam, 0.7)
        multi = pareto_tree(sch, [lam], 0.7)
        assert multi.w2 == pytest.approx(single.w2, rel=1e-12, abs=1e-15)


def test_pareto_validation():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lam"):
        pareto_tree(sch, [], 1.0)
    with pytest.raises(ValueError, match="lam"):
        pareto_tree(sch, [[1.0, 2.0]], 1.0)
    with pytest.raises(ValueError, match="ctau"):
        pareto_tree(sch, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="merges"):
        pareto_tree(sch, [1.0], 1.0, merges="yes")


# ------------------------------------------------- the two engines of one recurrence
# interval_dp runs min/max on the CPU through the compiled mirror (lineardistill.kernels) when numba
# is importable; backend= forces one engine. The mirror repeats the merge rule's operations in the same
# order, so the tables must agree bit for bit (not merely to a tolerance).
def scalar_points(seed, count):
    """``count`` (lam, ctau) pairs as Python floats, from :func:`random_points`."""
    lam, ctau = random_points(seed, count)
    return list(zip(lam.tolist(), ctau.tolist()))


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("opt", ["min", "max"])
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [2, 3, 8, 33])
def test_kernel_tables_equal_torch_tables_bit_for_bit(n, name, opt, init):
    pytest.importorskip("numba")
    sch = SCHEDULES[name](n)
    lam, ctau = random_points(1000 + 7 * n, 5)
    fast = interval_dp(sch, lam, ctau, opt, init, backend="numba")
    ref = interval_dp(sch, lam, ctau, opt, init, backend="torch")
    assert fast.backend == "numba" and ref.backend == "torch"
    assert torch.equal(fast.value, ref.value)
    upper = torch.ones(n + 1, n + 1, dtype=torch.bool).triu(1)
    assert torch.equal(fast.G[..., upper], ref.G[..., upper])
    assert torch.equal(fast.V[..., upper.T], ref.V[..., upper.T])
    for i in range(5):
        assert fast.tree((i,)) == ref.tree((i,))
    values_only = interval_dp(sch, lam, ctau, opt, init, pointers=False)
    assert torch.equal(values_only.value, ref.value)


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_kernel_matches_brute_force(n, name, init):
    pytest.importorskip("numba")
    sch = SCHEDULES[name](n)
    lam, ctau = random_points(500 + 11 * n, 5)
    _, values = brute_values(sch, lam, ctau, init)
    both = extreme_values(sch, lam, ctau, init)
    torch.testing.assert_close(both.least, values.min(dim=0).values, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(both.largest, values.max(dim=0).values, rtol=1e-12, atol=1e-15)
    for opt in ("min", "max"):
        dp = interval_dp(sch, lam, ctau, opt, init, backend="numba")
        for i in range(lam.numel()):
            tree = dp.tree((i,))
            assert tree.lo == 0 and tree.hi == n
            torch.testing.assert_close(merge_value(tree, sch, lam[i], ctau[i], init), dp.value[i],
                                       rtol=1e-12, atol=1e-15)


def test_backend_choice_and_its_errors(monkeypatch):
    sch = ld.Schedule.linear(12)
    assert interval_dp(sch, 0.5, 1.0, "target").backend == "torch"
    with pytest.raises(ValueError, match="backend"):
        interval_dp(sch, 0.5, 1.0, "target", backend="numba")
    with pytest.raises(ValueError, match="backend"):
        interval_dp(sch, 0.5, 1.0, "min", backend="fast")
    from lineardistill import dp as dp_module

    monkeypatch.setattr(dp_module, "_numba_kernels", lambda: None)        # as if `import numba` had failed
    auto = interval_dp(sch, 1.3, 0.4, "min", "teacher")
    assert auto.backend == "torch"
    with pytest.raises(RuntimeError, match="numba"):
        interval_dp(sch, 1.3, 0.4, "min", backend="numba")
    assert optimal_tree(sch, 1.3, 0.4).exact


def test_importing_the_package_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, lineardistill, lineardistill.dp; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_merge_problem_is_accepted_in_place_of_plain_arguments():
    sch = ld.Schedule.cosine(7)
    prob = ld.MergeProblem(sch, [0.5, 1.3], 0.7)
    torch.testing.assert_close(interval_dp(prob, opt="max").value, interval_dp(sch, [0.5, 1.3], 0.7, "max").value,
                               rtol=0, atol=0)
    one = ld.MergeProblem(sch, 1.3, 0.7)
    assert optimal_tree(one).w2 == optimal_tree(sch, 1.3, 0.7).w2
    with pytest.raises(ValueError, match="MergeProblem"):
        interval_dp(prob, 1.0, 1.0)


# ------------------------------------------------- size and time guards
def test_size_guards_state_the_cost_and_the_override():
    big = ld.Schedule.cosine(10_000)
    for call in (lambda: optimal_tree(big, 1.3, 1.0), lambda: interval_dp(big, 1.3, 1.0),
                 lambda: extreme_values(big, 1.3, 1.0), lambda: ld.shared_optimal_tree(big, [1.3, 2.0], 1.0)):
        with pytest.raises(ValueError, match="num_steps=10000") as info:
            call()
        assert "floating-point operations" in str(info.value) and "max_operations=None" in str(info.value)
    with pytest.raises(ValueError, match="max_operations"):
        interval_dp(ld.Schedule.cosine(4), 1.0, 1.0, max_operations=-1)
    # the cap counts the batch too
    with pytest.raises(ValueError, match="400 point"):
        interval_dp(ld.Schedule.cosine(400), torch.linspace(0.5, 2, 400), 1.0, max_operations=1e9)
    assert interval_dp(ld.Schedule.cosine(40), 1.3, 1.0, max_operations=None).value > 0


# ------------------------------------------------- the window: branch and bound
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [5, 7, 9])
def test_search_matches_enumeration_on_a_window_grid(name, n):
    sch = SCHEDULES[name](n)
    lam = torch.linspace(1.0, 2.2, 121, dtype=torch.float64)[:, None]
    ctau = torch.logspace(-1.5, 1.0, 6, dtype=torch.float64)[None, :]
    both = extreme_values(sch, lam, ctau)
    T = ld.composite(sch, lam).expand_as(both.least)
    inside = torch.nonzero((both.least < T) & (both.largest > T)).tolist()
    assert len(inside) >= 3
    for i, j in inside[:: max(1, len(inside) // 10)]:
        lam_f, ctau_f = float(lam[i, 0]), float(ctau[0, j])
        found = optimal_tree(sch, lam_f, ctau_f, method="search", time_limit=30)
        listed = optimal_tree(sch, lam_f, ctau_f, method="enumerate")
        assert found.exact and "branch and bound" in found.method
        assert abs(found.w2 - listed.w2) <= found.gap_bound + found.resolution
        torch.testing.assert_close(merge_value(found.tree, sch, lam_f, ctau_f), torch.tensor(found.value,
                                   dtype=torch.float64), rtol=1e-13, atol=0)


@pytest.mark.parametrize("listed", [0, 2, 5])
def test_search_proves_the_same_optimum_whatever_is_read_from_the_sorted_lists(monkeypatch, listed):
    # intervals of up to SHORT_STEPS steps are read from sorted lists by binary search instead of being
    # searched; 0 switches that off. Every setting must prove the optimum that enumeration finds.
    import lineardistill.search as search

    monkeypatch.setattr(search, "SHORT_STEPS", listed)
    for name in sorted(SCHEDULES):
        sch = SCHEDULES[name](9)
        for lam, ctau in window_points(sch, 2):
            found = optimal_tree(sch, lam, ctau, method="search", time_limit=60)
            listed_all = optimal_tree(sch, lam, ctau, method="enumerate")
            assert found.exact and "branch and bound" in found.method
            assert abs(found.w2 - listed_all.w2) <= found.gap_bound + found.resolution
            assert float(merge_value(found.tree, sch, lam, ctau)) == pytest.approx(found.value, rel=1e-13)


@pytest.mark.parametrize("n", [10, 11])
def test_search_proves_the_enumeration_optimum_where_enumeration_still_runs(n):
    sch = ld.Schedule.linear(n)
    for lam, ctau in window_points(sch, 2):
        listed = optimal_tree(sch, lam, ctau)                  # auto: enumeration up to N = 11
        searched = optimal_tree(sch, lam, ctau, method="search", time_limit=60)
        assert listed.method.startswith("enumeration")
        assert searched.exact and "branch and bound" in searched.method
        assert abs(searched.w2 - listed.w2) <= searched.gap_bound + searched.resolution


def test_search_with_a_time_limit_reports_a_valid_bound():
    sch = ld.Schedule.cosine(9)
    lam, ctau = 1.18, 2.37
    listed = optimal_tree(sch, lam, ctau, method="enumerate")
    quick = optimal_tree(sch, lam, ctau, method="search", time_limit=1e-3)
    assert quick.w2 >= listed.w2 - quick.resolution
    assert quick.w2 - listed.w2 <= quick.gap_bound + quick.resolution
    if not quick.exact:
        assert "time_limit" in quick.method


# ------------------------------------------------- the greedy descent (the search's first incumbent)
def _distances(p):
    T = float(p.T[0])
    return T, (enumerate_values(p).values[0] - T).abs()


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_descent_is_the_optimum_when_every_split_is_listed(name, init):
    # N <= short_steps + 1: both parts of every split of the root are listed, so the pair search is exhaustive
    for n, lam, ctau in ((3, 1.3, 1.0), (5, 0.6, 0.3), (8, 1.25, 2.0), (8, 3.0, 0.1)):
        p = ld.MergeProblem(SCHEDULES[name](n), lam, ctau, init).flat()
        tree = descend(p, extreme_tables(p))
        T, dist = _distances(p)
        assert tree.num_steps == n
        assert abs(float(merge_rule_value(tree, p)) - T) == float(dist.min())


def test_descent_reaches_the_value_of_any_tree_it_is_aimed_at():
    p = ld.MergeProblem(ld.Schedule.linear(7), 1.4, 0.7).flat()
    values = enumerate_values(p).values[0]
    tables = extreme_tables(p)
    for j in torch.linspace(0, values.numel() - 1, 25).long().tolist():
        aim = float(values[j])
        assert float(merge_rule_value(descend(p, tables, target=aim), p)) == aim


@pytest.mark.parametrize("short_steps", [2, 3, 4])
def test_descent_through_long_parts_lands_among_the_best_trees(short_steps):
    # parts longer than short_steps are solved greedily (and at N = 9, short_steps = 2 or 3, both parts of
    # some splits are long). Measured on this grid: the descent returns the optimum in most cases and never
    # ranks below the best 1.4% of all trees; a descent that aimed its parts wrongly would sit near 50%.
    ranks = []
    for name, init, lam, ctau in (("cosine", "warm", 1.3, 2.0), ("linear", "warm", 1.5, 1.0),
                                  ("linear", "coarse", 1.2, 0.5), ("cosine", "zero", 1.2, 0.3)):
        p = ld.MergeProblem(SCHEDULES[name](9), lam, ctau, init).flat()
        T, dist = _distances(p)
        tree = descend(p, extreme_tables(p), short_steps=short_steps)
        ranks.append(float((dist < abs(float(merge_rule_value(tree, p)) - T)).double().mean()))
    assert max(ranks) <= 0.02, ranks
    assert sorted(ranks)[len(ranks) // 2 - 1] == 0.0, ranks


@pytest.mark.parametrize("init", ["warm", "coarse"])
def test_descent_solves_the_merge_rule_for_either_part(init):
    # the descent aims each part at the value that, with its partner, gives x: check both inverses of the rule
    from lineardistill.search import _Descent, _ShortTrees

    p = ld.MergeProblem(ld.Schedule.cosine(6), 1.3, 0.8, init).flat()
    idx = torch.arange(7)
    start = None if init == "warm" else p.start(idx[:, None], idx[None, :].clamp(min=1))[0].numpy()
    d = _Descent(_ShortTrees(p.r[0].numpy(), p.w[0].numpy(), start), (None,) * 4, 3, 1)
    gen = torch.Generator().manual_seed(5)
    for kind in ("single", "seq"):
        for s, t in ((0, 6), (2, 5), (1, 3)):
            x, a, b = (0.5 + torch.rand(3, generator=gen, dtype=torch.float64)).tolist()
            value, need_a, need_b = d.rule(kind, s, t, x)
            assert value(need_a(b), b) == pytest.approx(x, rel=1e-14)
            assert value(a, need_b(a)) == pytest.approx(x, rel=1e-14)
            combined = float(p.merge(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64), s, t)) if kind == "single" else a * b
            assert value(a, b) == pytest.approx(combined, rel=1e-15)


def test_descent_validation():
    p = ld.MergeProblem(ld.Schedule.cosine(6), 1.3, 1.0).flat()
    tables = extreme_tables(p)
    with pytest.raises(ValueError, match="problem"):
        descend(ld.MergeProblem(ld.Schedule.cosine(6), [1.3, 1.4], 1.0).flat(), tables)
    with pytest.raises(ValueError, match="problem"):
        descend("cosine", tables)
    for kw, name in (({"beam": 0}, "beam"), ({"short_steps": 10}, "short_steps"), ({"target": -1.0}, "target"),
                     ({"target": float("nan")}, "target")):
        with pytest.raises(ValueError, match=name):
            descend(p, tables, **kw)


# ------------------------------------------------- one tree for many coordinates
SHARED_CASES = [("cosine", 6, [1.4, 1.45], 1.0), ("cosine", 6, [0.5, 1.5, 3.0], 0.4),
                ("linear", 7, [0.2, 0.7, 6.0, 1.3], 0.5), ("cosine", 8, [0.3, 1.2, 1.25, 1.3, 2.5], 1.0),
                ("linear", 8, [1.3, 1.35], 3.0), ("cosine", 5, [1.2], 0.1)]


@pytest.mark.parametrize("name, n, lam, ctau", SHARED_CASES)
def test_shared_optimal_tree_equals_brute_force(name, n, lam, ctau):
    sch = SCHEDULES[name](n)
    lam_t = torch.tensor(lam, dtype=torch.float64)
    every = enumerate_values(sch, lam_t, ctau).values                   # (d, trees)
    total = ld.w2(every, sch, lam_t[:, None], dim=0)                    # (trees,)
    res = ld.shared_optimal_tree(sch, lam, ctau)
    assert res.exact and res.status == "proved"
    assert res.w2 == pytest.approx(float(total.min()), rel=1e-12, abs=1e-15)
    assert res.lower_bound <= float(total.min()) * (1 + 1e-12) + 1e-15
    torch.testing.assert_close(merge_value(res.tree, sch, lam_t, ctau), res.values, rtol=1e-13, atol=0)
    # no shared tree beats a coordinate's own bound
    assert float(torch.sqrt((res.own_w2**2).sum())) <= res.w2 * (1 + 1e-12)


def test_shared_optimal_tree_time_limit_gives_a_proved_lower_bound():
    sch = ld.Schedule.cosine(8)
    lam = [0.3, 1.2, 1.25, 1.3, 1.45, 2.5]
    lam_t = torch.tensor(lam, dtype=torch.float64)
    best = float(ld.w2(enumerate_values(sch, lam_t, 1.0).values, sch, lam_t[:, None], dim=0).min())
    res = ld.shared_optimal_tree(sch, lam, 1.0, time_limit=1e-4)
    assert res.lower_bound <= best * (1 + 1e-12) <= res.w2 * (1 + 1e-12)
    assert res.exact == (res.status == "proved")


def test_shared_optimal_tree_validation():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lam"):
        ld.shared_optimal_tree(sch, [], 1.0)
    with pytest.raises(ValueError, match="lam"):
        ld.shared_optimal_tree(sch, [[1.0, 2.0]], 1.0)
    with pytest.raises(ValueError, match="ctau"):
        ld.shared_optimal_tree(sch, [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="time_limit"):
        ld.shared_optimal_tree(sch, [1.0, 2.0], 1.0, time_limit=0)
    with pytest.raises(ValueError, match="init"):
        ld.shared_optimal_tree(sch, [1.0, 2.0], 1.0, init="cold")


def test_shared_tree_on_the_digits_spectrum_is_certified_at_sixteen_steps():
    digits = ld.digits_spectrum()
    res = ld.shared_optimal_tree(ld.Schedule.cosine(16), digits, 1.0, time_limit=60)
    assert res.exact and res.lower_bound == res.w2
    boot = float(ld.w2(merge_value(MergeTree.boot(16), ld.Schedule.cosine(16), digits, 1.0), ld.Schedule.cosine(16),
                       digits))
    assert res.w2 <= boot


@pytest.mark.parametrize("init", ["warm", "coarse"])
def test_the_kernel_runs_as_plain_python_too(init):
    """The compiled mirror and its plain-Python source (what runs without numba) give the same tables."""
    pytest.importorskip("numba")
    import numpy as np

    from lineardistill import dp as dp_module, kernels

    p = ld.MergeProblem(ld.Schedule.linear(9), 1.4, 0.8, init).flat()
    s0 = dp_module._start_table(p)
    s0 = np.zeros((1, 1)) if s0 is None else s0[0].numpy()
    r, w = p.r[0].numpy(), p.w[0].numpy()
    tables = [[np.zeros((10, 10)) for _ in range(4)] for _ in range(2)]
    kernels.point_tables(r, w, s0, init == "warm", 0, *tables[0])
    kernels.point_tables.py_func(r, w, s0, init == "warm", 0, *tables[1])
    for fast, slow in zip(*tables):
        assert np.array_equal(fast, slow)
    ref = interval_dp(p, opt="max", backend="torch")
    assert float(ref.value) == tables[1][2][9, 0]


@pytest.mark.parametrize("init", [i for i in INITS if i != "warm"])
def test_search_and_shared_tree_under_other_starts(init):
    sch = ld.Schedule.cosine(6)
    lam = torch.tensor([0.5, 1.3, 1.45, 3.0], dtype=torch.float64)
    every = enumerate_values(sch, lam, 0.7, init).values
    best = float(ld.w2(every, sch, lam[:, None], dim=0).min())
    res = ld.shared_optimal_tree(sch, lam, 0.7, init)
    assert res.exact and res.w2 == pytest.approx(best, rel=1e-12)
    for value in lam.tolist():
        found = optimal_tree(sch, value, 0.7, init, method="search", time_limit=30)
        listed = optimal_tree(sch, value, 0.7, init, method="enumerate")
        assert found.exact and abs(found.w2 - listed.w2) <= found.gap_bound + found.resolution
