"""Tests for lineardistill.student (R6, R7): the closed-form merge rule and its initializations."""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.student import (
    INITS,
    coarse_multipliers,
    initial_value,
    merge_block,
    training_weights,
)

DT = torch.float64


def test_training_weight_convention():
    sch = ld.Schedule.cosine(5)
    lam = torch.tensor([0.3, 2.0], dtype=DT)
    w = training_weights(sch, lam, 0.7)
    norm2 = sch.alphas**2 * lam[:, None] + sch.sigmas**2
    torch.testing.assert_close(w, torch.exp(-0.7 * norm2))
    assert torch.equal(training_weights(sch, lam, 0.0), torch.ones(2, 6, dtype=DT))
    assert w.shape == (2, 6)


def test_closed_form_solves_the_gradient_flow():
    """R6 against a fine RK4 integration of dS/dtau = -eta ||v_t||^2 (S - C) (no library formula inside)."""
    sch = ld.Schedule.linear(6)
    lam = torch.tensor([0.1, 1.0, 7.0], dtype=DT)
    r = ld.teacher_multipliers(sch, lam)
    t, s = 5, 2
    kids = [r[..., 4], r[..., 3], r[..., 2]]
    target = kids[0] * kids[1] * kids[2]
    norm2 = sch.alphas[t] ** 2 * lam + sch.sigmas[t] ** 2
    ctau = 1.3

    def grad(S):
        return -norm2 * (S - target)

    S, n = kids[0].clone(), 2000
    h = ctau / n
    for _ in range(n):
        k1 = grad(S)
        k2 = grad(S + h / 2 * k1)
        k3 = grad(S + h / 2 * k2)
        k4 = grad(S + h * k3)
        S = S + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    torch.testing.assert_close(merge_block(kids, sch, lam, ctau, s, t), S, rtol=1e-10, atol=1e-12)


def test_warm_start_factored_form_and_convexity():
    sch = ld.Schedule.cosine(8)
    lam = torch.logspace(-1, 2, 9, dtype=DT)[:, None]
    ctau = torch.tensor([0.1, 1.0, 5.0], dtype=DT)
    r = ld.teacher_multipliers(sch, lam)
    kids = [r[..., 7], r[..., 6], r[..., 5], r[..., 4]]
    m = merge_block(kids, sch, lam, ctau, 4, 8)
    w = training_weights(sch, lam, ctau)[..., 8]
    torch.testing.assert_close(m, kids[0] * (w + (1 - w) * kids[1] * kids[2] * kids[3]))
    lo = torch.minimum(kids[0], kids[0] * kids[1] * kids[2] * kids[3])
    hi = torch.maximum(kids[0], kids[0] * kids[1] * kids[2] * kids[3])
    assert bool(((m >= lo - 1e-15) & (m <= hi + 1e-15)).all())


def test_each_init_start_value():
    sch = ld.Schedule.cosine(6)
    lam = torch.tensor([0.4, 3.0], dtype=DT)
    first = torch.tensor([0.9, 1.1], dtype=DT)
    a, sg = sch.alphas, sch.sigmas
    s, t = 2, 5
    expected = {
        "warm": first,
        "zero": torch.zeros(2, dtype=DT),
        "identity": torch.ones(2, dtype=DT),
        "teacher": (a[t - 1] * a[t] * lam + sg[t - 1] * sg[t]) / (a[t] ** 2 * lam + sg[t] ** 2),
        "coarse": (a[s] * a[t] * lam + sg[s] * sg[t]) / (a[t] ** 2 * lam + sg[t] ** 2),
    }
    assert set(expected) == set(INITS)
    for init, want in expected.items():
        torch.testing.assert_close(initial_value(init, first, sch, lam, s, t), want)
        # no training keeps the start; a huge budget reaches the product of the children
        kids = [first, torch.tensor([0.8, 1.2], dtype=DT)]
        torch.testing.assert_close(merge_block(kids, sch, lam, 0.0, s, t, init=init), want)
        torch.testing.assert_close(merge_block(kids, sch, lam, 1e4, s, t, init=init), kids[0] * kids[1])


def test_coarse_table_is_one_ddim_jump():
    sch = ld.Schedule.cosine(5)
    lam = torch.tensor([0.5, 2.0], dtype=DT)
    table = coarse_multipliers(sch, lam)
    r = ld.teacher_multipliers(sch, lam)
    for t in range(1, 6):
        torch.testing.assert_close(table[..., t - 1, t], r[..., t - 1])
        torch.testing.assert_close(table[..., t, t], torch.ones(2, dtype=DT))
    # a one-jump DDIM run from t = 5 to s = 1 with the exact denoiser
    z = torch.tensor([1.0, 1.0], dtype=DT)
    g = ld.denoiser_gain(sch, lam)[..., 5]
    x0 = g * z
    eps = (z - sch.alphas[5] * x0) / sch.sigmas[5]
    jump = sch.alphas[1] * x0 + sch.sigmas[1] * eps
    torch.testing.assert_close(table[..., 1, 5], jump)


@pytest.mark.parametrize("lam,ctau", [(-1.0, 1.0), (math.nan, 1.0), (1.0, -1.0), (1.0, math.nan), (0.0, 1.0)])
def test_bad_lam_ctau(lam, ctau):
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="lam|ctau"):
        training_weights(sch, lam, ctau)
    with pytest.raises(ValueError, match="lam|ctau"):
        merge_block([0.9, 0.9], sch, lam, ctau, 2, 4)


def test_bad_block_arguments():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match="init"):
        initial_value("hot", 1.0, sch, 1.0, 1, 3)
    with pytest.raises(ValueError, match="t"):
        merge_block([0.9, 0.9], sch, 1.0, 1.0, 2, 9)
    with pytest.raises(ValueError, match="child_values"):
        merge_block([], sch, 1.0, 1.0, 2, 4)
    with pytest.raises(TypeError):
        merge_block([0.9, 0.9], "cosine", 1.0, 1.0, 2, 4)


def test_symbolic_gradient_flow_matches_library():
    from lineardistill import symbolic

    assert symbolic.check_gradient_flow()
    assert symbolic.check_warm_start(2) and symbolic.check_warm_start(4)
    flow = symbolic.derive_gradient_flow()
    f = symbolic.to_torch(flow, [symbolic.s0_sym, symbolic.c_sym, symbolic.eta_sym, symbolic.tau_sym,
                                 symbolic.q_sym])
    sch = ld.Schedule.cosine(4)
    lam = torch.tensor([0.3, 3.0], dtype=DT)
    kids = [torch.tensor([0.95, 1.05], dtype=DT), torch.tensor([0.9, 1.2], dtype=DT)]
    q = sch.alphas[4] ** 2 * lam + sch.sigmas[4] ** 2
    # eta = 0.5, tau = 1.2: the budget is ctau = 0.6
    got = f(kids[0], kids[0] * kids[1], torch.tensor(0.5, dtype=DT), torch.tensor(1.2, dtype=DT), q)
    torch.testing.assert_close(got, merge_block(kids, sch, lam, 0.6, 2, 4))
