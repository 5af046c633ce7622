"""Schedules: the formulas, the explicit-timestep constructor and validation."""

import math

import numpy as np
import pytest
import torch

import lineardistill as ld


@pytest.mark.parametrize("n", [1, 2, 7, 64, 10_000])
def test_cosine_matches_formula_and_is_vp(n):
    s = ld.Schedule.cosine(n)
    t = torch.arange(n + 1, dtype=torch.float64)
    assert s.num_steps == n
    assert torch.allclose(s.alphas, torch.cos(math.pi * t / (2 * n)), atol=1e-15)
    assert torch.allclose(s.alphas**2 + s.sigmas**2, torch.ones(n + 1, dtype=torch.float64), atol=1e-12)
    assert s.alphas[0] == 1 and s.sigmas[0] == 0 and s.alphas[-1] == 0


def test_linear_matches_the_vp_sde():
    # alpha(s)^2 = exp(-int_0^s beta(u) du), beta(u) = beta_min + u (beta_max - beta_min).
    s = ld.Schedule.linear(50, beta_min=0.1, beta_max=20.0)
    u = np.linspace(0, 1, 51)
    integral = 0.1 * u + 0.5 * (20.0 - 0.1) * u**2
    assert np.allclose(s.alphas.numpy() ** 2, np.exp(-integral), rtol=1e-12)
    assert np.allclose(s.sigmas.numpy() ** 2, 1 - np.exp(-integral), rtol=1e-10, atol=1e-15)


def test_from_alphas_cumprod_uses_the_given_timesteps_in_any_order():
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    ac = torch.cumprod(1 - betas, 0)
    timesteps = [999, 666, 333, 100, 7]  # diffusers order: noisy to clean; not a fixed stride
    s = ld.Schedule.from_alphas_cumprod(ac, timesteps)
    assert s.num_steps == 5
    assert torch.allclose(s.alphas[1:], ac[[7, 100, 333, 666, 999]].sqrt())
    assert s.alphas[0] == 1 and s.sigmas[0] == 0
    all_steps = ld.Schedule.from_alphas_cumprod(ac)
    assert all_steps.num_steps == 1000


def test_ve_view_keeps_the_noise_to_signal_ratio():
    s = ld.Schedule.linear(10)
    ve = s.ve_view()
    assert not ve.variance_preserving
    assert torch.allclose(ve.sigmas, s.sigmas / s.alphas)
    with pytest.raises(ValueError, match="alpha"):
        ld.Schedule.cosine(10).ve_view()


def test_variance_exploding_is_increasing():
    s = ld.Schedule.variance_exploding(12)
    assert torch.all(s.alphas == 1)
    assert s.sigmas[1] == pytest.approx(0.002) and s.sigmas[-1] == pytest.approx(80.0)


BAD = [
    (lambda: ld.Schedule.cosine(0), ValueError, "num_steps"),
    (lambda: ld.Schedule.cosine(-3), ValueError, "num_steps"),
    (lambda: ld.Schedule.cosine(2.0), TypeError, "num_steps"),
    (lambda: ld.Schedule.cosine("8"), TypeError, "num_steps"),
    (lambda: ld.Schedule.linear(8, beta_min=-1.0), ValueError, "beta_min"),
    (lambda: ld.Schedule.linear(8, beta_min=5.0, beta_max=1.0), ValueError, "beta_max"),
    (lambda: ld.Schedule.linear(8, beta_max=float("nan")), ValueError, "beta_max"),
    (lambda: ld.Schedule([1.0, 0.6, 0.8], [0.0, 0.8, 0.6]), ValueError, "alphas"),
    (lambda: ld.Schedule([1.0, 0.8, 0.6], [0.0, 0.5, 0.8]), ValueError, "variance preserving"),
    (lambda: ld.Schedule([0.9, 0.8], [0.0, 0.6]), ValueError, "alphas\\[0\\]"),
    (lambda: ld.Schedule([1.0, float("nan")], [0.0, 0.6]), ValueError, "alphas"),
    (lambda: ld.Schedule([1.0, 0.8], [0.0, 0.6, 0.7]), ValueError, "same length"),
    (lambda: ld.Schedule([1.0], [0.0]), ValueError, "two times"),
    (lambda: ld.Schedule([1.0, 1.0, 1.0], [0.0, 0.5, 0.5], variance_preserving=False), ValueError, "sigmas"),
    (lambda: ld.Schedule.from_alphas_cumprod([0.9, 0.95, 0.5]), ValueError, "decreasing"),
    (lambda: ld.Schedule.from_alphas_cumprod([0.9, 0.5], [0, 2]), ValueError, "timesteps"),
    (lambda: ld.Schedule.from_alphas_cumprod([0.9, 0.5], [0, 0]), ValueError, "timesteps"),
    (lambda: ld.Schedule.from_alphas_cumprod([0.9, 0.5], [0.5]), ValueError, "timesteps"),
    (lambda: ld.Schedule.from_alphas_cumprod([1.5, 0.5]), ValueError, "alphas_cumprod"),
    (lambda: ld.Schedule.from_alphas_cumprod([0.0, 0.5]), ValueError, "alphas_cumprod"),
    (lambda: ld.Schedule.variance_exploding(5, sigma_min=1.0, sigma_max=0.5), ValueError, "sigma_max"),
]


@pytest.mark.parametrize("make, error, word", BAD)
def test_bad_schedules_raise_clear_errors(make, error, word):
    with pytest.raises(error, match=word):
        make()
