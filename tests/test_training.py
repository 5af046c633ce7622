"""Tests for lineardistill.training (R8): torch students against the closed form R6/R7.

Tolerances come from the error model in the training module's docstring:
with a fresh batch of B latents per step for n steps, the weight kept on the
start has relative spread about ctau ||v_t||^2 sqrt(2 / (B n)) around the
exact-gradient GD weight (1 - eta ||v_t||^2)^n; that in turn differs from
the gradient-flow weight exp(-ctau ||v_t||^2) by a relative ~ ctau eta ||v_t||^4 / 2.
"""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.training import gd_weights, train_block, train_tree

DT = torch.float64


def _setup(n=6):
    sch = ld.Schedule.cosine(n)
    lam = torch.tensor([0.05, 0.5, 1.0, 3.0, 20.0], dtype=DT)
    r = ld.teacher_multipliers(sch, lam)
    return sch, lam, r


def test_fixed_sample_is_exact_discrete_gd():
    """With one fixed sample, GD is S_n = C + (1 - eta q)^n (S_0 - C), q = mean z^2 of that sample."""
    sch, lam, r = _setup()
    t, s, steps, batch, ctau = 6, 3, 50, 64, 0.8
    kids = [r[..., 5], r[..., 4], r[..., 3]]
    res = train_block(kids, sch, lam, ctau, s, t, steps=steps, batch_size=batch, resample=False, seed=7,
                      device="cpu")
    g = torch.Generator().manual_seed(7)
    eps = torch.randn((batch, 1), generator=g, dtype=DT)  # one draw per sample, shared by all variances
    norm2 = sch.alphas[t] ** 2 * lam + sch.sigmas[t] ** 2
    q = norm2 * (eps**2).mean(dim=0)
    product = kids[0] * kids[1] * kids[2]
    want = product + (1 - ctau / steps * q) ** steps * (kids[0] - product)
    torch.testing.assert_close(res.value, want, rtol=1e-11, atol=1e-13)


def test_fresh_batches_match_gd_expectation_and_closed_form():
    """Monte Carlo: 5-sigma band around the exact-gradient GD value; then GD vs gradient flow."""
    sch, lam, r = _setup()
    t, s, steps, batch, ctau = 6, 4, 400, 512, 1.0
    kids = [r[..., 5], r[..., 4]]
    res = train_block(kids, sch, lam, ctau, s, t, steps=steps, batch_size=batch, seed=1, device="cpu")
    product = kids[0] * kids[1]
    w_gd = gd_weights(sch, lam, ctau, steps)[..., t]
    s_gd = product + w_gd * (kids[0] - product)
    norm2 = sch.alphas[t] ** 2 * lam + sch.sigmas[t] ** 2
    sigma = w_gd * ctau * norm2 * math.sqrt(2 / (batch * steps)) * (kids[0] - product).abs()
    assert bool(((res.value - s_gd).abs() <= 5 * sigma + 1e-15).all())
    closed = ld.merge_block(kids, sch, lam, ctau, s, t)
    w = ld.training_weights(sch, lam, ctau)[..., t]
    step_bias = w * ctau * (ctau / steps) * norm2**2 / 2 * (kids[0] - product).abs()
    del step_bias  # GD mean against gradient flow is an identity, not a band (the old band was ~28x the gap):
    w_gd_exact = (1 - ctau / steps * norm2) ** steps
    # a few ulps of the values, plus the rounding of gd_weights' exp(steps * log1p(-x)) against the
    # direct power: relative error up to about `steps` ulps of w_gd, times |kids[0] - product|
    ulp = 2.3e-16
    atol = 4 * ulp * float(product.abs().max()) + steps * ulp * float((kids[0] - product).abs().max())
    torch.testing.assert_close(s_gd - closed, (w_gd_exact - w) * (kids[0] - product), rtol=0, atol=atol)
    # the GD weight tends to exp(-ctau ||v||^2) as steps grow, with the predicted first-order error
    for n in (100, 1000, 10000):
        x = (ctau / n) * norm2
        log_ratio = torch.log(gd_weights(sch, lam, ctau, n)[..., t] / w)
        # n log(1 - x) + n x = -n x^2 / 2 - n x^3 / 3 - ...: the remainder is below n x^3 for x < 1/2
        assert bool(((log_ratio + n * x**2 / 2).abs() <= n * x**3 + 1e-13).all())
        assert bool((log_ratio < 0).all())


def test_generator_reproducible_and_seed_sensitive():
    sch, lam, r = _setup()
    kids = [r[..., 5], r[..., 4]]
    a = train_block(kids, sch, lam, 0.5, 4, 6, steps=20, batch_size=16, seed=3, device="cpu").value
    b = train_block(kids, sch, lam, 0.5, 4, 6, steps=20, batch_size=16, seed=3, device="cpu").value
    c = train_block(kids, sch, lam, 0.5, 4, 6, steps=20, batch_size=16, seed=4, device="cpu").value
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name", ld.STRATEGIES)
def test_train_tree_matches_merge_value(name):
    n = 6
    sch = ld.Schedule.cosine(n)
    lam = torch.tensor([0.1, 1.0, 10.0], dtype=DT)[:, None]
    ctau = torch.tensor([0.3, 1.5], dtype=DT)
    steps, batch = 300, 1024
    tree = ld.MergeTree.named(name, n)
    res = train_tree(tree, sch, lam, ctau, steps=steps, batch_size=batch, seed=0, device="cpu", progress=False)
    closed = ld.merge_value(tree, sch, lam, ctau)
    assert res.value.shape == closed.shape == (3, 2)
    # the bound of training_tolerance: 5 Monte Carlo sigmas + step-size bias per node, summed over the nodes
    tol = ld.training_tolerance(tree, sch, lam, ctau, steps=steps, batch_size=batch)
    assert float(tol.max()) < 0.03
    assert bool((((res.value - closed) / closed).abs() <= tol).all())
    assert set(res.loss_curves) == {(x.hi, x.lo) for x in tree.nodes()}
    for curve in res.loss_curves.values():
        assert curve.shape == (len(res.recorded_steps),) + closed.shape
        assert bool((curve[-1] <= curve[0] + 1e-15).all())  # GD lowers the loss


@pytest.mark.parametrize("init", ld.INITS)
def test_every_init_trains_to_its_closed_form(init):
    n = 4
    sch = ld.Schedule.cosine(n)
    lam = torch.tensor([0.2, 1.0, 4.0], dtype=DT)
    tree = ld.MergeTree.boot(n)
    res = train_tree(tree, sch, lam, 0.7, init=init, steps=400, batch_size=2048, seed=2, device="cpu",
                     progress=False)
    closed = ld.merge_value(tree, sch, lam, 0.7, init=init)
    # the error bound of training_tolerance (5 sigmas + step bias per node) instead of a flat 2e-2;
    # tests/test_kills_training.py checks each node against its exact spread
    tol = ld.training_tolerance(tree, sch, lam, 0.7, steps=400, batch_size=2048, init=init)
    assert bool((((res.value - closed) / closed).abs() <= tol).all()), (res.value, closed, tol)
    # with ctau = 0 a student stays exactly at its start
    frozen = train_tree(tree, sch, lam, 0.0, init=init, steps=3, batch_size=4, device="cpu", progress=False)
    torch.testing.assert_close(frozen.value, ld.merge_value(tree, sch, lam, 0.0, init=init), rtol=0, atol=0)


def test_adam_departs_from_closed_form():
    sch, lam, r = _setup()
    kids = [r[..., 5], r[..., 4], r[..., 3], r[..., 2]]
    gd = train_block(kids, sch, lam, 0.5, 2, 6, steps=200, batch_size=512, device="cpu").value
    adam = train_block(kids, sch, lam, 0.5, 2, 6, steps=200, batch_size=512, optimizer="adam", device="cpu").value
    closed = ld.merge_block(kids, sch, lam, 0.5, 2, 6)
    gd_err = (gd - closed).abs().max()
    adam_err = (adam - closed).abs().max()
    assert adam_err > 10 * gd_err


def test_bad_training_inputs():
    sch, _lam, _r = _setup()
    tree = ld.MergeTree.boot(6)
    with pytest.raises(ValueError, match="lam"):
        train_tree(tree, sch, -1.0, 1.0, progress=False)
    with pytest.raises(ValueError, match="lam"):
        train_tree(tree, sch, float("nan"), 1.0, progress=False)
    with pytest.raises(ValueError, match="ctau"):
        train_tree(tree, sch, 1.0, -1.0, progress=False)
    with pytest.raises(ValueError, match="ctau"):
        train_tree(tree, sch, 1.0, float("nan"), progress=False)
    with pytest.raises(ValueError, match="steps"):
        train_tree(tree, sch, 100.0, 50.0, steps=10, progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        train_tree(tree, sch, 1.0, 1.0, optimizer="sgd-momentum", progress=False)
    with pytest.raises(ValueError, match="init"):
        train_tree(tree, sch, 1.0, 1.0, init="random", progress=False)
    with pytest.raises(TypeError):
        train_tree(tree, sch, 1.0, 1.0, steps=2.5, progress=False)
    with pytest.raises(ValueError):
        train_tree(ld.MergeTree.boot(5), sch, 1.0, 1.0, progress=False)
    with pytest.raises(ValueError):
        train_block([], sch, 1.0, 1.0, 4, 6)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu_with_cpu_draws_and_large_batches():
    """Same seed, draws made on the CPU: CUDA and CPU training agree to rounding; GPU draws agree within tolerance."""
    n = 8
    sch = ld.Schedule.cosine(n)
    lam = torch.logspace(-1.3, 2, 512, dtype=DT)[:, None]
    ctau = torch.tensor([0.3, 1.0], dtype=DT)
    tree = ld.MergeTree.progressive(n)
    kw = {"steps": 100, "batch_size": 128, "seed": 5, "progress": False}
    cpu = train_tree(tree, sch, lam, ctau, device="cpu", **kw).value
    gpu = train_tree(tree, sch, lam, ctau, device="cuda", **kw).value
    torch.testing.assert_close(gpu, cpu, rtol=1e-9, atol=1e-12)
    big = train_tree(tree, sch, lam, ctau, device="cuda", rng_device="device", steps=500, batch_size=8192,
                     seed=1, progress=False)
    assert big.device.type == "cuda"
    closed = ld.merge_value(tree, sch, lam, ctau)
    tol = ld.training_tolerance(tree, sch, lam, ctau, steps=500, batch_size=8192)
    assert bool((((big.value - closed) / closed).abs() <= tol).all())


def test_training_tolerance_scaling():
    sch = ld.Schedule.cosine(6)
    lam = torch.tensor([0.2, 2.0, 30.0], dtype=DT)
    tree = ld.MergeTree.progressive(6)
    base = ld.training_tolerance(tree, sch, lam, 1.0, steps=10**6, batch_size=100)
    quad = ld.training_tolerance(tree, sch, lam, 1.0, steps=10**6, batch_size=400)
    # with the step-size bias negligible, four times the batch halves the Monte Carlo bound
    torch.testing.assert_close(quad, base / 2, rtol=1e-3, atol=0)
    assert bool((base > 0).all())
    assert torch.equal(ld.training_tolerance(tree, sch, lam, 0.0, steps=10, batch_size=10), torch.zeros(3, dtype=DT))
