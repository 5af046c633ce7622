"""Tests for lineardistill.phase (R14 to R17): lambda_c, the theorem, the phase classification."""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.dp import optimal_tree
from lineardistill.phase import (
    BOOT,
    MIXED,
    ONE_SHOT,
    PHASES,
    TIE,
    UNRESOLVED,
    boot_value,
    classify,
    lambda_c,
    one_shot_value,
    phase_diagram,
)
from lineardistill.trees import MergeTree, all_trees, merge_value

SCHEDULES = {"cosine": ld.Schedule.cosine, "linear": ld.Schedule.linear}


@pytest.mark.parametrize("n, expected", [(8, 2.0196), (16, 2.0048), (32, 2.0012)])
def test_lambda_c_cosine_values(n, expected):
    assert round(lambda_c(ld.Schedule.cosine(n)), 4) == expected


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_lambda_c_is_the_threshold_for_r_at_least_one(name, n):
    sch = SCHEDULES[name](n)
    lc = lambda_c(sch)
    r_at = ld.teacher_multipliers(sch, lc * (1 + 1e-12))[:-1]
    r_below = ld.teacher_multipliers(sch, lc * (1 - 1e-6))[:-1]
    assert bool((r_at >= 1).all())
    assert bool((r_below < 1).any())
    # R15, first half: lam <= 1 gives every r_t <= 1 under VP
    lam = torch.linspace(0.01, 1.0, 50, dtype=torch.float64)
    assert bool((ld.teacher_multipliers(sch, lam) <= 1 + 1e-15).all())


def test_lambda_c_edge_cases():
    assert lambda_c(ld.Schedule.cosine(1)) == 0.0
    assert lambda_c(ld.Schedule.variance_exploding(8)) == math.inf
    with pytest.raises(TypeError, match="schedule"):
        lambda_c(8)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_closed_forms_of_boot_and_one_shot(name):
    sch = SCHEDULES[name](9)
    gen = torch.Generator().manual_seed(5)
    lam = torch.exp(torch.empty(20, dtype=torch.float64).uniform_(-3, 3, generator=gen))
    ctau = torch.exp(torch.empty(20, dtype=torch.float64).uniform_(-4, 2, generator=gen))
    torch.testing.assert_close(boot_value(sch, lam, ctau), merge_value(MergeTree.boot(9), sch, lam, ctau),
                               rtol=1e-12, atol=0)
    torch.testing.assert_close(one_shot_value(sch, lam, ctau), merge_value(MergeTree.vanilla(9), sch, lam, ctau),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("n", [8, 16, 32])
def test_theorem_r16(name, n):
    """BOOT is W2-optimal for lam <= 1 and one-shot for lam >= lambda_c, by the exact DP (R11)."""
    sch = SCHEDULES[name](n)
    lc = lambda_c(sch)
    for ctau in (0.05, 0.5, 3.0):
        assert optimal_tree(sch, 0.4, ctau).tree == MergeTree.boot(n)
        for lam in (0.05, 0.4, 1.0):
            opt = optimal_tree(sch, lam, ctau)
            assert opt.exact and "min-DP" in opt.method
            assert opt.value == pytest.approx(float(boot_value(sch, lam, ctau)), rel=1e-12)
            assert opt.least == pytest.approx(opt.value, rel=1e-12)  # BOOT attains the least value
        for lam in (lc, 1.5 * lc, 40.0):
            opt = optimal_tree(sch, lam, ctau)
            assert opt.exact and "max-DP" in opt.method
            # the returned tree may differ where trees tie (r_t = 1 exactly, or exact inner merges)
            assert opt.value == pytest.approx(float(one_shot_value(sch, lam, ctau)), rel=1e-12)
            assert opt.largest == pytest.approx(opt.value, rel=1e-12)


def test_theorem_r16_against_brute_force():
    n = 7
    sch = ld.Schedule.cosine(n)
    trees = all_trees(n)
    lam = torch.tensor([0.3, 1.0, lambda_c(sch), 5.0], dtype=torch.float64)
    ctau = torch.tensor([0.2, 1.0, 0.7, 2.0], dtype=torch.float64)
    values = torch.stack([merge_value(t, sch, lam, ctau) for t in trees])
    dist = (values - ld.composite(sch, lam)).abs()
    best = dist.min(dim=0).values
    torch.testing.assert_close(dist[trees.index(MergeTree.boot(n)), :2], best[:2], rtol=1e-12, atol=0)
    torch.testing.assert_close(dist[trees.index(MergeTree.vanilla(n)), 2:], best[2:], rtol=1e-12, atol=0)


@pytest.mark.parametrize("init", ["warm", "coarse"])
def test_classify_matches_brute_force(init):
    n = 6
    sch = ld.Schedule.cosine(n)
    lam = torch.tensor([0.3, 0.9, 1.2, 1.35, 1.6, 2.5, 8.0], dtype=torch.float64)[:, None]
    ctau = torch.tensor([0.0, 0.1, 0.6, 2.0], dtype=torch.float64)[None, :]
    phases = classify(sch, lam, ctau, init)
    trees = all_trees(n)
    lam_b, ctau_b = torch.broadcast_tensors(lam, ctau)
    values = torch.stack([merge_value(t, sch, lam_b, ctau_b, init) for t in trees])
    dist = (values - ld.composite(sch, lam_b)).abs()
    best = dist.min(dim=0).values
    tol = 1e-12 * ld.composite(sch, lam_b)
    boot_ok = dist[trees.index(MergeTree.boot(n))] <= best + tol
    one_ok = dist[trees.index(MergeTree.vanilla(n))] <= best + tol
    expected = torch.where(boot_ok & one_ok, TIE, torch.where(boot_ok, BOOT, torch.where(one_ok, ONE_SHOT, MIXED)))
    assert torch.equal(phases.code, expected)
    assert bool(phases.exact.all())
    torch.testing.assert_close(phases.best, best, rtol=1e-9, atol=1e-15)
    if init == "warm":
        assert (phases.code == MIXED).any() and (phases.code == BOOT).any() and (phases.code == ONE_SHOT).any()
        assert bool((phases.code[:, 0] == TIE).all())  # ctau = 0: no training, every tree is r_N


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_phase_diagram_bands(name):
    """R17 at N = 16 (beyond enumeration): BOOT for lam <= 1, one-shot from lambda_c on, mixed only between."""
    sch = SCHEDULES[name](16)
    lams = torch.logspace(-1, 1, 40, dtype=torch.float64)
    ctaus = torch.logspace(-2, 1, 12, dtype=torch.float64)
    pd = phase_diagram(sch, lams, ctaus)
    assert pd.code.shape == (40, 12)
    low, high = lams <= 1, lams >= pd.lambda_c
    assert bool((pd.code[low] == BOOT).all())
    assert bool((pd.code[high] == ONE_SHOT).all())
    mid = ~low & ~high
    assert bool((pd.code[mid] == MIXED).any())
    assert not bool((pd.code == UNRESOLVED).any())
    # the share of each class, counted here from the codes (a wrong count or a dropped class fails)
    counts = {name: float((pd.code == k).double().mean()) for k, name in enumerate(PHASES)}
    fractions = pd.fractions()
    for name, share in counts.items():
        assert fractions.get(name, 0.0) == pytest.approx(share, abs=1e-12), (name, fractions)
    assert counts["BOOT"] >= float(low.double().mean()) and counts["one-shot"] >= float(high.double().mean())


def test_ve_schedule_has_no_transition():
    sch = ld.Schedule.variance_exploding(10)
    lams = torch.logspace(-2, 3, 30, dtype=torch.float64)
    assert bool((ld.teacher_multipliers(sch, lams) <= 1).all())
    pd = phase_diagram(sch, lams, torch.logspace(-4, -1, 6, dtype=torch.float64))
    assert bool(((pd.code == BOOT) | (pd.code == TIE)).all())
    assert bool((pd.code == BOOT).any())


def test_phase_validation():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lams"):
        phase_diagram(sch, [], [1.0])
    with pytest.raises(ValueError, match="ctaus"):
        phase_diagram(sch, [1.0], [-1.0])
    with pytest.raises(ValueError, match="init"):
        classify(sch, 1.0, 1.0, init="cold")


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_bands_are_lambda_boot_to_lambda_c(name):
    """In our model the mixed band is exactly (lambda_boot, lambda_c), at every budget (N = 8, exact enumeration)."""
    from lineardistill.phase import lambda_boot

    sch = SCHEDULES[name](8)
    lo, hi = lambda_boot(sch), lambda_c(sch)
    assert 1.0 < lo < hi
    r = ld.teacher_multipliers(sch, lo)[:-1]
    assert float(r.max()) == pytest.approx(1.0, abs=1e-12)
    f64 = {"dtype": torch.float64}
    lams = torch.cat([torch.linspace(0.5, lo - 1e-3, 8, **f64), torch.linspace(lo + 1e-3, hi - 1e-3, 12, **f64),
                      torch.linspace(hi * (1 + 1e-9), 6.0, 6, **f64)])
    pd = phase_diagram(sch, lams, torch.tensor([0.03, 0.3, 3.0], dtype=torch.float64))
    assert bool((pd.code[:8] == BOOT).all())
    assert bool((pd.code[8:20] == MIXED).all())
    assert bool((pd.code[20:] == ONE_SHOT).all())


def test_lambda_boot_ignores_steps_that_keep_alpha_fixed():
    # alpha stays at 0.9 over step 2 (its r_2 < 1 at every variance) but drops over steps 1 and 3:
    # lambda_b is where the first inner step reaches 1, so that every inner r_t <= 1 below it holds
    sch = ld.Schedule(torch.tensor([1.0, 0.9, 0.9, 0.5, 0.4], dtype=torch.float64),
                      torch.tensor([0.0, 0.3, 0.5, 0.8, 1.0], dtype=torch.float64), variance_preserving=False)
    lb = ld.lambda_boot(sch)
    assert math.isfinite(lb) and ld.lambda_c(sch) == math.inf
    inner = lambda lam: ld.teacher_multipliers(sch, lam)[:-1]
    assert bool((inner(lb * (1 - 1e-9)) <= 1).all())
    assert bool((inner(lb * (1 + 1e-9)) > 1).any())
    # r_1 = 1 at sigma_1 (sigma_1 - sigma_0) / (alpha_1 (alpha_0 - alpha_1)) = 0.3 * 0.3 / (0.9 * 0.1) = 1
    assert lb == pytest.approx(1.0, rel=1e-12)
