"""Tests for the exact lines inside the band and the closed forms (theory R19, R20)."""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.phase import classify, exact_variances, step_thresholds
from lineardistill.trees import MergeTree, merge_value

D = torch.float64


def _bisect_sign(f, lo, hi, steps=200):
    """Plain bisection on the sign of a Python function (independent of the library's root finder)."""
    f_lo = f(lo) > 0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if (f(mid) > 0) == f_lo:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _tree_gap(tree, sch, ctau):
    return lambda lam: float(merge_value(tree, sch, lam, ctau) - ld.composite(sch, lam))


@pytest.mark.parametrize("ctau, boot", [(0.3, 1.316121), (1.0, 1.316265), (3.0, 1.316388)])
def test_cosine8_lines_against_independent_bisection(ctau, boot):
    sch = ld.Schedule.cosine(8)
    ex = exact_variances(sch, ctau)
    lb, lc = ld.lambda_boot(sch), ld.lambda_c(sch)
    one = _bisect_sign(_tree_gap(MergeTree.vanilla(8), sch, ctau), lb, lc)
    chain = _bisect_sign(_tree_gap(MergeTree.boot(8), sch, ctau), lb, lc)
    assert ex.one_shot == pytest.approx(one, rel=1e-10)
    assert len(ex.boot) == 1 and ex.boot_unique
    assert ex.boot[0] == pytest.approx(chain, rel=1e-10)
    assert round(ex.one_shot, 6) == 1.316022 and round(ex.boot[0], 6) == boot
    assert 1 < ex.one_shot < ex.boot[0] < lc


@pytest.mark.parametrize("n", [3, 5, 8, 16, 32])
def test_named_trees_reproduce_the_teacher_on_their_lines(n):
    sch = ld.Schedule.cosine(n)
    for ctau in (0.05, 1.0, 4.0):
        ex = exact_variances(sch, ctau)
        T = ld.composite(sch, ex.one_shot)
        assert abs(float(merge_value(MergeTree.vanilla(n), sch, ex.one_shot, ctau) - T)) < 1e-13 * float(T)
        T = ld.composite(sch, ex.boot[0])
        assert abs(float(merge_value(MergeTree.boot(n), sch, ex.boot[0], ctau) - T)) < 1e-13 * float(T)
        # the one-shot line does not depend on the budget; the BOOT curve does
        assert ex.one_shot == exact_variances(sch, 0.5).one_shot
    assert exact_variances(sch, 0.0).boot == (exact_variances(sch, 0.0).one_shot,)


@pytest.mark.parametrize("n", [6, 8, 16])
def test_classify_agrees_on_the_lines(n):
    """On the lines a named tree is exactly optimal; classify must say so (for N = 16 without enumeration)."""
    sch = ld.Schedule.cosine(n)
    for ctau in (0.3, 1.0, 3.0):
        ex = exact_variances(sch, ctau)
        assert classify(sch, ex.one_shot, ctau).names() == "one-shot"
        assert classify(sch, ex.boot[0], ctau).names() == "BOOT"
        # just beside the lines (well outside their windows) the optimum is mixed again
        assert classify(sch, ex.one_shot * (1 - 1e-3), ctau).names() == "mixed"


def test_boot_root_is_unique_on_a_fine_scan():
    sch = ld.Schedule.cosine(8)
    lam = torch.linspace(ld.lambda_boot(sch), ld.lambda_c(sch), 20001, dtype=D)
    for ctau in (0.1, 1.0, 10.0):
        gap = ld.boot_value(sch, lam, ctau) - ld.composite(sch, lam)
        assert int((torch.sign(gap[1:]) != torch.sign(gap[:-1])).sum()) == 1


def test_linear_schedule_lines():
    sch = ld.Schedule.linear(8)
    ex = exact_variances(sch, 1.0)
    assert not ex.boot_unique and len(ex.boot) == 1
    chain = _bisect_sign(_tree_gap(MergeTree.boot(8), sch, 1.0), ex.lambda_b, ex.lambda_c)
    assert ex.boot[0] == pytest.approx(chain, rel=1e-10)
    assert ex.lambda_b < ex.one_shot < ex.lambda_c


def test_exact_variances_edge_cases_and_validation():
    assert exact_variances(ld.Schedule.cosine(1), 1.0).one_shot is None
    assert exact_variances(ld.Schedule.variance_exploding(6), 1.0).boot == ()
    two = exact_variances(ld.Schedule.cosine(2), 1.0)  # BOOT and one-shot are one tree: both lines at lambda_c
    assert two.one_shot == pytest.approx(1 + math.sqrt(2), rel=1e-12) and two.boot[0] == pytest.approx(two.one_shot)
    with pytest.raises(ValueError, match="ctau"):
        exact_variances(ld.Schedule.cosine(8), [0.1, 1.0])
    with pytest.raises(ValueError, match="ctau"):
        exact_variances(ld.Schedule.cosine(8), -1.0)
    with pytest.raises(TypeError, match="schedule"):
        exact_variances(8, 1.0)


# ------------------------------------------------------------- closed forms (R20)
@pytest.mark.parametrize("n", [2, 3, 4, 8, 16, 32, 64, 128])
def test_lambda_c_cosine_closed_form(n):
    sch = ld.Schedule.cosine(n)
    closed = 1 + 1 / math.cos(math.pi / (2 * n))
    assert ld.lambda_c(sch) == pytest.approx(closed, rel=1e-12)
    assert int(step_thresholds(sch).argmax()) == 0  # attained at t = 1


def test_first_threshold_is_one_plus_inverse_alpha_for_any_vp_schedule():
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        ac = torch.sort(torch.rand(12, generator=gen, dtype=D) * 0.98 + 0.01, descending=True).values
        sch = ld.Schedule.from_alphas_cumprod(ac)
        th = step_thresholds(sch)
        assert float(th[0]) == pytest.approx(1 + 1 / float(sch.alphas[1]), rel=1e-12)
        # the angle form (1 + q_t) / (1 - q_t)
        phi = torch.atan2(sch.sigmas, sch.alphas)
        q = torch.sin((phi[1:-1] - phi[:-2]) / 2) / torch.sin((3 * phi[1:-1] + phi[:-2]) / 2)
        torch.testing.assert_close(th, torch.tan(phi[1:-1]) / torch.tan((phi[1:-1] + phi[:-2]) / 2), rtol=1e-10, atol=0)
        torch.testing.assert_close(th, (1 + q) / (1 - q), rtol=1e-10, atol=0)
        assert ld.lambda_c(sch) > 2


def test_lambda_c_maximum_not_always_at_the_first_step():
    lin = ld.Schedule.linear(4)
    assert int(step_thresholds(lin).argmax()) == 2  # t = 3
    assert ld.lambda_c(lin) > 1 + 1 / float(lin.alphas[1]) + 0.5
    odd = ld.Schedule.from_alphas_cumprod([0.999, 0.3, 0.1, 0.01])  # a tiny first step, then a big one
    assert int(step_thresholds(odd).argmax()) == 1


@pytest.mark.parametrize("n", [4, 8, 16, 32, 64, 256])
def test_lambda_b_cosine_bounds(n):
    s, h = math.sin(math.pi / (4 * n)), math.pi / (2 * n)
    lb = ld.lambda_boot(ld.Schedule.cosine(n))
    assert (1 + s) / (1 - s) <= lb * (1 + 1e-12)
    assert lb <= (1 + s / math.cos(h)) / (1 - s / math.cos(h)) * (1 + 1e-12)


@pytest.mark.parametrize("name", ["cosine", "linear"])
def test_boot_stops_being_optimal_at_lambda_b(name):
    sch = getattr(ld.Schedule, name)(8)
    lb = ld.lambda_boot(sch)
    for ctau in (0.1, 1.0):
        assert classify(sch, lb, ctau).names() == "BOOT"
        assert classify(sch, lb * (1 + 1e-8), ctau).names() == "mixed"


@pytest.mark.parametrize("sch", [ld.Schedule.cosine(8), ld.Schedule.linear(8), ld.Schedule.linear(4)],
                         ids=["cosine8", "linear8", "linear4"])
def test_one_shot_stops_being_optimal_just_below_lambda_c(sch):
    """Both cases of the proof: linear N = 4 has its largest threshold at t = N - 1 = 3."""
    lc = ld.lambda_c(sch)
    for ctau in (0.1, 1.0):
        assert classify(sch, lc, ctau).names() == "one-shot"
        assert classify(sch, lc * (1 - 1e-7), ctau).names() == "mixed"
    if sch.num_steps == 4:
        assert int(step_thresholds(sch).argmax()) == sch.num_steps - 2


def test_tie_rule_is_explicit():
    """Within TOLERANCE * T two distances are equal: at ctau = 0 every tree is r_N (a tie),
    and a tie never hides a strictly better tree."""
    sch = ld.Schedule.cosine(6)
    ph = classify(sch, torch.tensor([0.5, 1.5, 3.0], dtype=D), 0.0)
    assert ph.names() == ["tie", "tie", "tie"]
    ph = classify(sch, torch.linspace(0.2, 5.0, 60, dtype=D), 1.0)
    for code, best, b, o, T in zip(ph.code.tolist(), ph.best.tolist(), ph.boot.tolist(), ph.one_shot.tolist(),
                                   ph.teacher.tolist()):
        tol = 1e-12 * T
        assert (code == 3) == (b <= best + tol and o <= best + tol)
        assert best <= min(b, o) + tol
