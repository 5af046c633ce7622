"""The teacher (R1 to R5), each result checked from two sides."""

import math

import pytest
import sympy as sp
import torch

import lineardistill as ld
from lineardistill import symbolic as S

LAMS = torch.tensor([1e-3, 0.25, 1.0, 4.0, 50.0], dtype=torch.float64)
SCHEDULES = [ld.Schedule.cosine(12), ld.Schedule.linear(12), ld.Schedule.linear(30, 0.5, 10.0)]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- R1
@pytest.mark.parametrize("t", [1, 5, 11])
def test_denoiser_is_the_regression_of_x0_on_zt(t):
    """Least-squares slope of x0 on z_t from samples estimates E[x0 | z_t] (linear for Gaussians)."""
    s = ld.Schedule.cosine(12)
    n = 400_000
    x0 = LAMS.sqrt() * torch.randn(n, LAMS.numel(), generator=gen(1), dtype=torch.float64)
    eps = torch.randn(n, LAMS.numel(), generator=gen(2), dtype=torch.float64)
    zt = s.alphas[t] * x0 + s.sigmas[t] * eps
    slope = (x0 * zt).sum(0) / (zt * zt).sum(0)
    gain = ld.denoiser_gain(s, LAMS)[:, t]
    # The slope's standard error is about sqrt(Var(x0|z) / (n Var z)); five of them is the tolerance.
    var_z = s.alphas[t] ** 2 * LAMS + s.sigmas[t] ** 2
    post_var = LAMS - gain**2 * var_z
    stderr = torch.sqrt(post_var / (n * var_z))
    assert torch.all((slope - gain).abs() <= 5 * stderr + 1e-12)
    # denoise against the fitted regression slope (Monte Carlo, 5 standard errors per coordinate)
    assert torch.all((ld.denoise(zt[:3], t, s, LAMS) - slope * zt[:3]).abs() <= 5 * stderr * zt[:3].abs() + 1e-12)
    # and against the closed form R1 written out from the schedule arrays
    closed = s.alphas[t] * LAMS / (s.alphas[t] ** 2 * LAMS + s.sigmas[t] ** 2) * zt[:3]
    torch.testing.assert_close(ld.denoise(zt[:3], t, s, LAMS), closed, rtol=4e-16, atol=0)


def test_denoiser_sympy_agrees_with_torch():
    f = S.to_torch(S.derive_denoiser(), [S.lam, S.alpha_t, S.sigma_t, S.z])
    s = ld.Schedule.linear(9)
    got = f(LAMS[:, None], s.alphas, s.sigmas, 1.0)
    assert torch.allclose(got, ld.denoiser_gain(s, LAMS), rtol=1e-13)


# ---------------------------------------------------------------- R2
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_multipliers_match_a_step_by_step_ddim_loop(schedule):
    """run_ddim applies the DDIM update through the denoiser, one step at a time."""
    z = torch.randn(LAMS.numel(), generator=gen(3), dtype=torch.float64)
    gain = ld.denoiser_gain(schedule, LAMS)
    r = ld.teacher_multipliers(schedule, LAMS)
    assert r.shape == (LAMS.numel(), schedule.num_steps)
    for t in range(schedule.num_steps, 0, -1):
        x0_hat = gain[:, t] * z
        eps_hat = (z - schedule.alphas[t] * x0_hat) / schedule.sigmas[t]
        z_next = schedule.alphas[t - 1] * x0_hat + schedule.sigmas[t - 1] * eps_hat
        assert torch.allclose(z_next, r[:, t - 1] * z, rtol=1e-12)
        z = z_next
    z_start = torch.randn(LAMS.numel(), generator=gen(3), dtype=torch.float64)
    assert torch.allclose(ld.run_ddim(z_start, schedule, LAMS), z, rtol=1e-12)


def test_ddim_multiplier_sympy_agrees_with_torch():
    expr = S.derive_ddim_multiplier()
    f = S.to_torch(expr, [S.lam, S.alpha_p, S.alpha_t, S.sigma_p, S.sigma_t])
    s = ld.Schedule.cosine(10)
    got = f(LAMS[:, None], s.alphas[:-1], s.alphas[1:], s.sigmas[:-1], s.sigmas[1:])
    assert torch.allclose(got, ld.teacher_multipliers(s, LAMS), rtol=1e-13)


def test_multipliers_batch_over_any_shape():
    lam = torch.rand(3, 4, generator=gen(4), dtype=torch.float64) * 5 + 0.1
    s = ld.Schedule.cosine(6)
    r = ld.teacher_multipliers(s, lam)
    assert r.shape == (3, 4, 6)
    assert torch.allclose(r[2, 1], ld.teacher_multipliers(s, float(lam[2, 1])))


# ---------------------------------------------------------------- R3
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_projection_and_rescaling(schedule):
    v = ld.signal_noise_vectors(schedule, LAMS)
    norms = ld.vector_norms(schedule, LAMS)
    assert torch.allclose(v.norm(dim=-1), norms, rtol=1e-13)
    projection = (v[..., :-1, :] * v[..., 1:, :]).sum(-1) / norms[..., 1:] ** 2
    r = ld.teacher_multipliers(schedule, LAMS)
    assert torch.allclose(projection, r, rtol=1e-12)
    rescaled = ld.flow_ratios(schedule, LAMS) * torch.cos(ld.step_angles(schedule, LAMS))
    assert torch.allclose(rescaled, r, rtol=1e-12)
    # ||v_t||^2 is the variance of z_t; under VP it is 1 + alpha_t^2 (lam - 1).
    assert torch.allclose(norms**2, 1 + schedule.alphas**2 * (LAMS[:, None] - 1), rtol=1e-12)


def test_unit_variance_is_a_rotation():
    s = ld.Schedule.linear(20)
    assert torch.allclose(ld.vector_norms(s, 1.0), torch.ones(21, dtype=torch.float64))
    assert torch.allclose(ld.teacher_multipliers(s, 1.0), torch.cos(ld.step_angles(s, 1.0)))


def test_projection_identity_is_proved_symbolically():
    assert S.check_denoiser() and S.check_ddim_multiplier() and S.check_projection_identity()


# ---------------------------------------------------------------- R4, R5
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_composites_are_products_of_steps(schedule):
    r = ld.teacher_multipliers(schedule, LAMS)
    table = ld.log_composites(schedule, LAMS).exp()
    n = schedule.num_steps
    for s_, t_ in [(0, n), (2, 5), (3, 3), (n - 1, n)]:
        direct = torch.prod(r[:, s_:t_], dim=-1)
        assert torch.allclose(table[:, s_, t_], direct, rtol=1e-12)
        assert torch.allclose(ld.composite(schedule, LAMS, s_, t_), direct, rtol=1e-12)


@pytest.mark.parametrize("schedule", [ld.Schedule.cosine(8), ld.Schedule.linear(8)], ids=lambda s: s.name)
def test_teacher_output_variance_matches_sampling(schedule):
    """Sample z_N ~ N(0, ||v_N||^2), run the DDIM loop, compare the sample variance with R5."""
    n = 200_000
    std_n = ld.vector_norms(schedule, LAMS)[:, -1]
    z = std_n * torch.randn(n, LAMS.numel(), generator=gen(5), dtype=torch.float64)
    out = ld.run_ddim(z, schedule, LAMS)
    predicted = ld.teacher_output_variance(schedule, LAMS)
    # The sample variance of n Gaussians has relative standard error sqrt(2 / n); allow five.
    assert torch.all(((out.var(0) / predicted) - 1).abs() < 5 * math.sqrt(2 / n))
    ratio = ld.teacher_variance_ratio(schedule, LAMS)
    assert torch.all(ratio <= 1) and torch.all(ratio > 0)
    cos_product = torch.prod(torch.cos(ld.step_angles(schedule, LAMS)) ** 2, dim=-1)
    assert torch.allclose(ratio, cos_product, rtol=1e-12)


def test_teacher_variance_symbolic():
    assert S.check_teacher_variance(3)


def test_when_alpha_N_is_zero_the_composite_is_sqrt_lam_times_cosines():
    s = ld.Schedule.cosine(16)
    T = ld.composite(s, LAMS)
    cos_product = torch.prod(torch.cos(ld.step_angles(s, LAMS)), dim=-1)
    assert torch.allclose(T, LAMS.sqrt() * cos_product, rtol=1e-12)


def test_shrinkage_vanishes_as_steps_grow():
    lam = torch.tensor([0.25, 1.0, 4.0], dtype=torch.float64)
    gaps = [1 - ld.teacher_variance_ratio(ld.Schedule.cosine(n), lam) for n in (8, 64, 512)]
    assert torch.all(gaps[0] > gaps[1]) and torch.all(gaps[1] > gaps[2]) and torch.all(gaps[2] < 1e-2)


@pytest.mark.parametrize("make", [ld.Schedule.cosine, ld.Schedule.linear])
def test_stable_for_long_schedules_and_extreme_variances(make):
    s = make(10_000)
    lam = torch.tensor([1e-6, 1e-3, 1.0, 1e3, 1e6], dtype=torch.float64)
    for value in (ld.composite(s, lam), ld.teacher_variance_ratio(s, lam), ld.teacher_multipliers(s, lam)):
        assert torch.isfinite(value).all()
    log_direct = torch.log(ld.teacher_multipliers(s, lam)).sum(-1)
    assert torch.allclose(torch.log(ld.composite(s, lam)), log_direct, rtol=1e-10)


BAD = [
    (lambda: ld.teacher_multipliers(ld.Schedule.cosine(4), -1.0), ValueError, "lam"),
    (lambda: ld.teacher_multipliers(ld.Schedule.cosine(4), 0.0), ValueError, "lam"),
    (lambda: ld.teacher_multipliers(ld.Schedule.cosine(4), float("nan")), ValueError, "lam"),
    (lambda: ld.teacher_multipliers(ld.Schedule.cosine(4), float("inf")), ValueError, "lam"),
    (lambda: ld.teacher_multipliers(ld.Schedule.cosine(4), "1.0"), TypeError, "lam"),
    (lambda: ld.teacher_multipliers("cosine", 1.0), TypeError, "schedule"),
    (lambda: ld.composite(ld.Schedule.cosine(4), 1.0, s=3, t=2), ValueError, "s must be <= t"),
    (lambda: ld.composite(ld.Schedule.cosine(4), 1.0, t=5), ValueError, "t"),
    (lambda: ld.denoise([1.0], 7, ld.Schedule.cosine(4), 1.0), ValueError, "t"),
    (lambda: ld.denoise([float("nan")], 1, ld.Schedule.cosine(4), 1.0), ValueError, "z"),
    (lambda: ld.run_ddim([1.0], ld.Schedule.cosine(4), [1.0, -2.0]), ValueError, "lam"),
]


@pytest.mark.parametrize("call, error, word", BAD)
def test_bad_inputs_raise_clear_errors(call, error, word):
    with pytest.raises(error, match=word):
        call()
