"""Phase analysis at the edges of its arguments (issue 16, mutation survivors of phase.py).

Thresholds are found here by bisection on the teacher multipliers (``r_t = 1``),
phases by brute force over every tree, shares by counting.
"""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.phase import PHASES, classify, exact_variances, lambda_c, phase_diagram, step_thresholds
from lineardistill.trees import MergeTree, all_trees, merge_value

F64 = torch.float64
# alpha stays at 0.9 over step 2 (a VE-like step) and drops elsewhere; sigma increases throughout
FLAT = ld.Schedule(torch.tensor([1.0, 0.9, 0.9, 0.5, 0.4], dtype=F64),
                   torch.tensor([0.0, 0.3, 0.5, 0.8, 1.0], dtype=F64), variance_preserving=False)


def crossing(sch, t, lo=1e-6, hi=1e6):
    """The variance where r_t = 1, by bisection in log lam on teacher_multipliers (r_t increases with lam)."""
    f = lambda lam: float(ld.teacher_multipliers(sch, lam)[t - 1]) - 1.0      # noqa: E731
    if f(hi) < 0:
        return math.inf
    lo, hi = math.log(lo), math.log(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(math.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
    return math.exp(0.5 * (lo + hi))


@pytest.mark.parametrize("sch", [FLAT, ld.Schedule.linear(5), ld.Schedule.variance_exploding(4)],
                         ids=["flat-step", "linear5", "ve4"])
def test_step_thresholds_are_where_each_inner_step_crosses_one(sch):
    th = step_thresholds(sch)
    assert th.shape == (sch.num_steps - 1,)
    for t in range(1, sch.num_steps):
        want = crossing(sch, t)
        got = float(th[t - 1])
        assert got == want if math.isinf(want) else got == pytest.approx(want, rel=1e-9)
    assert step_thresholds(ld.Schedule.cosine(1)).shape == (0,)
    assert math.isinf(lambda_c(sch)) == bool(torch.isinf(th).any())


def test_names_follow_the_shape_of_the_codes():
    sch = ld.Schedule.cosine(5)
    lam = torch.tensor([[0.3], [1.6], [9.0]], dtype=F64)
    ph = classify(sch, lam, torch.tensor([0.0, 1.0], dtype=F64))
    names = ph.names()
    assert len(names) == 3 and all(len(row) == 2 for row in names)
    assert names == [[PHASES[int(c)] for c in row] for row in ph.code]
    assert names[0] == ["tie", "BOOT"] and names[2] == ["tie", "one-shot"]
    assert classify(sch, 0.3, 1.0).names() == "BOOT"


def test_phase_diagram_holds_its_grid_and_counts_each_phase():
    sch = ld.Schedule.cosine(6)
    lams = torch.tensor([0.5, 1.3, 1.4, 3.0], dtype=F64)
    ctaus = torch.tensor([0.0, 0.4, 2.0], dtype=F64)
    pd = phase_diagram(sch, lams, ctaus, init="warm")
    assert pd.init == "warm" and torch.equal(pd.schedule.alphas, sch.alphas)
    assert torch.equal(pd.lams, lams) and torch.equal(pd.ctaus, ctaus)
    assert pd.lambda_c == lambda_c(sch)
    # brute force over all 197 trees at every grid point
    trees = all_trees(6)
    lam_b, ctau_b = torch.broadcast_tensors(lams[:, None], ctaus[None, :])
    values = torch.stack([merge_value(t, sch, lam_b, ctau_b) for t in trees])
    T = ld.composite(sch, lam_b)
    dist = (values - T).abs()
    best = dist.min(0).values
    tol = 1e-12 * T
    boot_ok = dist[trees.index(MergeTree.boot(6))] <= best + tol
    one_ok = dist[trees.index(MergeTree.vanilla(6))] <= best + tol
    want = torch.where(boot_ok & one_ok, 3, torch.where(boot_ok, 0, torch.where(one_ok, 2, 1)))
    assert torch.equal(pd.code, want)
    shares = pd.fractions()
    assert list(shares) == list(PHASES)
    for k, name in enumerate(PHASES):
        assert shares[name] == int((want == k).sum()) / 12
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-15)


def test_grid_arguments_are_named():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match=r"^lam\b"):
        classify(sch, -1.0, 1.0)
    with pytest.raises(ValueError, match=r"^ctau\b"):
        classify(sch, 1.0, -1.0)
    for fn in (ld.phase.boot_value, ld.phase.one_shot_value):
        with pytest.raises(ValueError, match=r"^lam\b"):
            fn(sch, 0.0, 1.0)
        with pytest.raises(ValueError, match=r"^ctau\b"):
            fn(sch, 1.0, float("nan"))
    with pytest.raises(ValueError, match=r"^lams and ctaus must be non-empty, got 0 and 1"):
        phase_diagram(sch, [], [1.0])
    with pytest.raises(ValueError, match=r"^lams and ctaus must be non-empty, got 2 and 0"):
        phase_diagram(sch, [1.0, 2.0], [])
    with pytest.raises(ValueError, match=r"^lams\b"):
        phase_diagram(sch, [0.0], [1.0])
    with pytest.raises(ValueError, match=r"^ctaus\b"):
        phase_diagram(sch, [1.0], [-1.0])
    with pytest.raises(ValueError, match=r"^ctau must be a single budget, got shape \(2,\)"):
        exact_variances(sch, [0.1, 1.0])


def brute_phases(sch, lam, ctau, init):
    """Window, best distance and phase code at every point, by evaluating all trees (N <= 7)."""
    trees = all_trees(sch.num_steps)
    lam_b, ctau_b = torch.broadcast_tensors(lam, ctau)
    values = torch.stack([merge_value(t, sch, lam_b, ctau_b, init) for t in trees])
    T = ld.composite(sch, lam_b)
    tol = 1e-12 * T
    dist = (values - T).abs()
    best = dist.min(0).values
    window = (values.min(0).values < T - tol) & (values.max(0).values > T + tol)
    boot_ok = dist[trees.index(MergeTree.boot(sch.num_steps))] <= best + tol
    one_ok = dist[trees.index(MergeTree.vanilla(sch.num_steps))] <= best + tol
    code = torch.where(boot_ok & one_ok, 3, torch.where(boot_ok, 0, torch.where(one_ok, 2, 1)))
    return window, best, code


@pytest.mark.parametrize("init", ["warm", "identity", "teacher"])
def test_points_whose_trees_straddle_the_teacher_are_enumerated(init):
    """Inside the band, tree values fall on both sides of T at some points (the window): there the optimum
    is enumerated (N = 6), so every point is exact and its best distance is the brute-force one."""
    sch = ld.Schedule.cosine(6)
    lam = torch.tensor([1.3, 1.316, 1.35, 1.4, 1.45, 1.6, 2.0], dtype=F64)[:, None]
    ctau = torch.tensor([0.3, 1.0, 3.0], dtype=F64)[None, :]
    ph = classify(sch, lam, ctau, init)
    window, best, code = brute_phases(sch, lam, ctau, init)
    assert int(window.sum()) >= 2                       # the check below is about those points
    assert torch.equal(ph.window, window)
    assert bool(ph.exact.all())
    torch.testing.assert_close(ph.best, best, rtol=1e-12, atol=1e-16)
    assert torch.equal(ph.code, code)
    pd = phase_diagram(sch, lam.reshape(-1), ctau.reshape(-1), init=init)
    assert pd.init == init and torch.equal(pd.code, code)


def test_exact_variances_reports_every_field():
    one = exact_variances(ld.Schedule.cosine(1), 0.5)
    assert (one.one_shot, one.boot, one.boot_unique, one.lambda_b, one.lambda_c, one.ctau) == \
        (None, (), True, 0.0, 0.0, 0.5)
    ve = exact_variances(ld.Schedule.variance_exploding(5), 2.0)
    assert (ve.one_shot, ve.boot, ve.boot_unique, ve.ctau) == (None, (), True, 2.0)
    assert math.isinf(ve.lambda_b) and math.isinf(ve.lambda_c)
    lin = exact_variances(ld.Schedule.linear(6), 0.7)
    assert lin.ctau == 0.7 and lin.boot_unique is False and lin.lambda_c == lambda_c(ld.Schedule.linear(6))
    # a negative budget is refused whatever the schedule, also where no root is searched
    for sch in (ld.Schedule.cosine(1), ld.Schedule.variance_exploding(5), ld.Schedule.cosine(4)):
        with pytest.raises(ValueError, match=r"^ctau\b"):
            exact_variances(sch, -1.0)


def test_boot_line_in_the_exact_merge_limit():
    """ctau = 1000 makes w_N = exp(-1000) = 0 on a cosine schedule: BOOT is then exact inner merging, its value
    r_N prod_{j<N} r_j (w -> 0 of the convex weights) minus T vanishes to first order in w where sum_j (1/r_j - 1)
    = 0. That root is found here by bisection on the teacher multipliers."""
    sch = ld.Schedule.cosine(8)

    def f(lam):
        r = ld.teacher_multipliers(sch, lam)[:-1]
        return float((1 / r - 1).sum())

    lo, hi = 1.0, ld.lambda_c(sch)
    assert f(lo) > 0 > f(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    ex = exact_variances(sch, 1000.0)
    assert len(ex.boot) == 1 and ex.boot[0] == pytest.approx(lo, rel=1e-10)


def test_every_sign_change_of_the_gap_on_the_scan_is_a_root(monkeypatch):
    """When alpha_N > 0 the BOOT roots are found from sign changes on a scan of [lambda_b / 2, 2 lambda_c].
    No schedule we know has more than one root (a scan of 288 schedules and budgets found none), so the
    scan is checked on a gap with three known roots: two crossings downwards and one upwards."""
    import lineardistill.phase as phase

    sch = ld.Schedule.linear(6)
    lb, lc = ld.lambda_boot(sch), ld.lambda_c(sch)
    roots = [lb * 1.01, math.sqrt(lb * lc) * 1.003, lc * 0.97]           # none on a scan point
    x = [math.log(r) for r in roots]

    def gap(s, lam, ctau):                               # uses its schedule and budget, as the real gap does
        y = torch.log(torch.as_tensor(lam, dtype=F64))
        return -(y - x[0]) * (y - x[1]) * (y - x[2]) * (40.0 / s.num_steps) * (1.0 + float(ctau))

    monkeypatch.setattr(phase, "_boot_gap", gap)
    ex = exact_variances(sch, 0.5)
    assert not ex.boot_unique and len(ex.boot) == 3
    for got, want in zip(ex.boot, roots):
        assert got == pytest.approx(want, rel=1e-12)
    assert list(ex.boot) == sorted(ex.boot)


def test_one_step_and_two_step_schedules_are_ties():
    """N <= 2: BOOT and one-shot are the same tree, so both attain the optimum, also where T = 0 (cosine, N = 1)."""
    lam = torch.tensor([0.5, 3.0], dtype=F64)
    for n in (1, 2):
        ph = classify(ld.Schedule.cosine(n), lam, torch.tensor([[0.0], [1.0]], dtype=F64))
        assert ph.names() == [["tie", "tie"], ["tie", "tie"]]
    assert bool((classify(ld.Schedule.cosine(1), lam, 1.0).teacher == 0).all())


@pytest.mark.parametrize("lam", [1e-12, 1e-6, 1e6, 1e9])
def test_extreme_variances_against_brute_force(lam):
    """T spans 1e-12 to 1e9 here, so a tie band that is not relative to T would show."""
    sch = ld.Schedule.cosine(4)
    lam_t = torch.tensor([lam], dtype=F64)
    ctau = torch.tensor([0.3, 3.0], dtype=F64)
    ph = classify(sch, lam_t[:, None], ctau[None, :])
    window, best, code = brute_phases(sch, lam_t[:, None], ctau[None, :], "warm")
    assert torch.equal(ph.code, code) and torch.equal(ph.window, window)
    torch.testing.assert_close(ph.best, best, rtol=1e-12, atol=0)


def test_enumeration_is_used_up_to_its_limit_inclusive(monkeypatch):
    """Window points are enumerated (exact) when N <= ENUMERATION_MAX_STEPS; above it they are not."""
    import lineardistill.phase as phase

    lam = torch.tensor([1.316, 1.35, 1.4], dtype=F64)[:, None]
    ctau = torch.tensor([0.3, 1.0, 3.0], dtype=F64)[None, :]
    sch = ld.Schedule.cosine(6)
    monkeypatch.setattr(phase, "ENUMERATION_MAX_STEPS", 6)
    at = classify(sch, lam, ctau)
    assert bool(at.window.any()) and bool(at.exact.all())
    monkeypatch.setattr(phase, "ENUMERATION_MAX_STEPS", 5)
    above = classify(sch, lam, ctau)
    assert torch.equal(above.window, at.window)
    assert not bool(above.exact[above.window].any())


@pytest.mark.parametrize("init", ["warm", "identity"])
def test_a_point_is_classified_the_same_alone_or_in_a_batch(init):
    """N = 16 (beyond enumeration): window points get their best tree from a per-point search."""
    sch = ld.Schedule.cosine(16)
    lam = torch.tensor([1.125, 1.15, 1.175, 1.2, 1.25], dtype=F64)[:, None]
    ctau = torch.tensor([0.3, 1.0, 3.0], dtype=F64)[None, :]
    batch = classify(sch, lam, ctau, init)
    assert int(batch.window.sum()) >= 2
    for i in range(5):
        for j in range(3):
            one = classify(sch, lam[i, 0], ctau[0, j], init)
            assert int(one.code) == int(batch.code[i, j])
            assert float(one.best) == pytest.approx(float(batch.best[i, j]), rel=1e-12, abs=1e-300)
            assert bool(one.window) == bool(batch.window[i, j]) and bool(one.exact) == bool(batch.exact[i, j])


def test_classify_names_a_bad_init():
    with pytest.raises(ValueError, match=r"^init must be one of"):
        classify(ld.Schedule.cosine(4), 1.0, 1.0, init="cold")
