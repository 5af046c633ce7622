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
    extreme_values,
    interval_dp,
    optimal_tree,
    pareto_tree,
)
from lineardistill.student import INITS
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
        if "R11" in opt.method:  # one side of T: the min or the max tree
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
        own = abs(float(merge_value(approx.tree, sch, lam, ctau)) - opt.teacher)
        assert approx.w2 == pytest.approx(own, rel=1e-12, abs=1e-16)
        assert approx.w2 >= float(best) * (1 - 1e-12)


def test_approximate_method_beyond_enumeration():
    sch = ld.Schedule.cosine(14)
    lam, ctau = window_points(sch, 1)[0]
    opt = optimal_tree(sch, lam, ctau)
    assert not opt.exact and "approximate" in opt.method
    # a real tree: its W2 recomputed from the tree is the reported one
    assert opt.w2 == pytest.approx(abs(float(merge_value(opt.tree, sch, lam, ctau)) - opt.teacher), rel=1e-12)
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


@pytest.mark.parametrize("init", ["warm", "coarse"])
def test_large_batch_value_path_matches_the_pointer_path(init):
    from lineardistill.dp import BATCH_LAYOUT_MIN

    sch = ld.Schedule.linear(12)
    lam, ctau = random_points(77, BATCH_LAYOUT_MIN + 44)
    for opt in ("min", "max"):
        fast = interval_dp(sch, lam, ctau, opt, init, pointers=False).value
        slow = interval_dp(sch, lam, ctau, opt, init).value
        torch.testing.assert_close(fast, slow, rtol=1e-13, atol=0)


# ------------------------------------------------- compiled (numba) scalar path
# interval_dp runs one (variance, budget) pair with opt "min"/"max" through a numba kernel; the
# private keyword _engine forces the numba or the torch code so that the two can be compared.
OPTS_MIN_MAX = ("min", "max")


def scalar_points(seed, count):
    """``count`` (lam, ctau) pairs as Python floats, from :func:`random_points`."""
    lam, ctau = random_points(seed, count)
    return list(zip(lam.tolist(), ctau.tolist()))


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("opt", OPTS_MIN_MAX)
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [2, 3, 8, 33])
def test_numba_path_matches_torch_path(n, name, opt, init):
    pytest.importorskip("numba")
    sch = SCHEDULES[name](n)
    for lam, ctau in scalar_points(1000 + 7 * n, 4):
        fast = interval_dp(sch, lam, ctau, opt, init, _engine="numba")
        ref = interval_dp(sch, lam, ctau, opt, init, _engine="torch")
        assert fast.value.shape == ref.value.shape == ()
        torch.testing.assert_close(fast.value, ref.value, rtol=1e-13, atol=0)
        torch.testing.assert_close(fast.V, ref.V, rtol=1e-13, atol=0)
        torch.testing.assert_close(fast.G, ref.G, rtol=1e-13, atol=0)
        assert fast.split_v.dtype == ref.split_v.dtype and fast.split_v.shape == ref.split_v.shape
        assert torch.equal(fast.split_v, ref.split_v) and torch.equal(fast.split_g, ref.split_g)
        assert fast.tree() == ref.tree()


@functools.cache
def shared_brute_init(name, n, init):
    """Brute force at 5 random points for (schedule, N, init), computed once per test session."""
    sch = SCHEDULES[name](n)
    lam, ctau = random_points(500 + 11 * n, 5)
    _, values = brute_values(sch, lam, ctau, init)
    return sch, lam, ctau, values


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_numba_path_matches_brute_force(n, name, init):
    pytest.importorskip("numba")
    sch, lam, ctau, values = shared_brute_init(name, n, init)
    for i in range(lam.numel()):
        for opt, expected in (("min", values[:, i].min()), ("max", values[:, i].max())):
            dp = interval_dp(sch, float(lam[i]), float(ctau[i]), opt, init, _engine="numba")
            torch.testing.assert_close(dp.value, expected, rtol=1e-12, atol=1e-15)
            tree = dp.tree()
            assert tree.lo == 0 and tree.hi == n
            torch.testing.assert_close(merge_value(tree, sch, lam[i], ctau[i], init), dp.value, rtol=1e-12, atol=1e-15)


def test_numba_path_is_the_default_for_one_point_and_keeps_the_interface():
    pytest.importorskip("numba")
    sch = ld.Schedule.linear(12)
    for lam, ctau in ((0.7, 0.3), (torch.tensor([1.4]), 2.0), (torch.tensor([[3.0]]), torch.tensor([0.05]))):
        auto = interval_dp(sch, lam, ctau, "max", "coarse")
        ref = interval_dp(sch, lam, ctau, "max", "coarse", _engine="torch")
        assert auto.value.shape == ref.value.shape and auto.V.shape == ref.V.shape and auto.G.shape == ref.G.shape
        torch.testing.assert_close(auto.value, ref.value, rtol=1e-13, atol=0)
        index = (0,) * len(ref.shape)
        assert auto.tree(index) == ref.tree(index)
    values_only = interval_dp(sch, 0.7, 0.3, "min", pointers=False)
    assert values_only.split_v is None and values_only.split_g is None
    torch.testing.assert_close(values_only.value, interval_dp(sch, 0.7, 0.3, "min", _engine="torch").value,
                               rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="pointers=False"):
        values_only.tree()
    # batches and the target rule stay on torch; forcing numba there is refused
    with pytest.raises(ValueError, match="_engine"):
        interval_dp(sch, [0.5, 1.5], 1.0, "min", _engine="numba")
    with pytest.raises(ValueError, match="_engine"):
        interval_dp(sch, 0.5, 1.0, "target", _engine="numba")
    with pytest.raises(ValueError, match="_engine"):
        interval_dp(sch, 0.5, 1.0, "min", _engine="fast")


def test_torch_fallback_without_numba(monkeypatch):
    from lineardistill import dp as dp_module

    monkeypatch.setattr(dp_module, "_NUMBA_KERNEL", False)       # as if `import numba` had failed
    sch = ld.Schedule.cosine(7)
    auto = interval_dp(sch, 1.3, 0.4, "min", "teacher")
    # against brute force over all 903 trees, not against the torch path itself
    _, values = brute_values(sch, torch.tensor([1.3], dtype=torch.float64), 0.4, "teacher")
    assert float(auto.value) == pytest.approx(float(values.min()), rel=1e-13)
    assert float(merge_value(auto.tree(), sch, 1.3, 0.4, "teacher")) == pytest.approx(float(values.min()), rel=1e-13)
    with pytest.raises(RuntimeError, match="numba"):
        interval_dp(sch, 1.3, 0.4, "min", _engine="numba")


def test_importing_the_package_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, lineardistill, lineardistill.dp; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dispatch_uses_numba_only_for_one_point_min_max(monkeypatch):
    pytest.importorskip("numba")
    from lineardistill import dp as dp_module

    calls = []
    real = dp_module._numba_extremes
    monkeypatch.setattr(dp_module, "_numba_extremes", lambda *args: calls.append(args[-1]) or real(*args))
    sch = ld.Schedule.cosine(6)
    interval_dp(sch, 0.8, 0.5, "min")
    interval_dp(sch, [0.8], 0.5, "max", "identity")
    assert calls == ["min", "max"]
    interval_dp(sch, [0.8, 1.2], 0.5, "min")           # a batch: torch
    interval_dp(sch, 0.8, 0.5, "target")                # the target rule: torch
    interval_dp(sch, 0.8, 0.5, "min", _engine="torch")  # forced torch
    extreme_values(sch, 0.8, 0.5)                       # two scalar DPs: numba
    assert calls == ["min", "max", "min", "max"]
