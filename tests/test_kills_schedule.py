"""Schedule constructors against their formulas and their input rules (issue 16, mutation survivors).

The EDM spacing of the VE schedule is computed here in Python floats; ``from_alphas_cumprod`` is
checked entry by entry; each input rule is probed just inside and just outside its boundary.
"""

import math

import pytest
import torch

import lineardistill as ld

F64 = torch.float64


def _edm(n, smin, smax, rho):
    if n == 1:
        return [0.0, smax]
    lo, hi = smin ** (1 / rho), smax ** (1 / rho)
    return [0.0] + [(lo + i / (n - 1) * (hi - lo)) ** rho for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 3, 10, 40])
def test_variance_exploding_defaults_are_the_edm_spacing(n):
    sch = ld.Schedule.variance_exploding(n)
    want = torch.tensor(_edm(n, 0.002, 80.0, 7.0), dtype=F64)
    torch.testing.assert_close(sch.sigmas, want, rtol=4e-15, atol=0)
    assert sch.sigmas.dtype == F64 and sch.alphas.dtype == F64
    assert torch.equal(sch.alphas, torch.ones(n + 1, dtype=F64))
    assert sch.name == "ve" and sch.variance_preserving is False and sch.num_steps == n


@pytest.mark.parametrize("smin, smax, rho", [(0.01, 10.0, 3.0), (0.5, 0.6, 1.0), (1e-3, 1e3, 0.5)])
def test_variance_exploding_other_parameters(smin, smax, rho):
    sch = ld.Schedule.variance_exploding(6, smin, smax, rho)
    torch.testing.assert_close(sch.sigmas, torch.tensor(_edm(6, smin, smax, rho), dtype=F64), rtol=4e-15, atol=0)


@pytest.mark.parametrize("kwargs, word", [
    ({"num_steps": 0}, "num_steps"),
    ({"num_steps": 4, "sigma_min": 0.0}, "sigma_min"),
    ({"num_steps": 4, "sigma_min": -1.0}, "sigma_min"),
    ({"num_steps": 4, "sigma_max": 0.0}, "sigma_max"),
    ({"num_steps": 4, "sigma_max": -2.0}, "sigma_max"),
    ({"num_steps": 4, "rho": 0.0}, "rho"),
    ({"num_steps": 4, "rho": -7.0}, "rho"),
    ({"num_steps": 4, "sigma_min": 3.0, "sigma_max": 3.0}, "sigma_max"),
    ({"num_steps": 4, "sigma_min": 3.0, "sigma_max": 2.0}, "sigma_max"),
])
def test_variance_exploding_refuses_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=rf"^{word}\b"):      # the message starts with the parameter's name
        ld.Schedule.variance_exploding(**kwargs)


def test_from_alphas_cumprod_entry_by_entry():
    ac = torch.tensor([0.99, 0.9, 0.7, 0.4, 0.1, 0.02], dtype=F64)
    sch = ld.Schedule.from_alphas_cumprod(ac)
    assert sch.num_steps == 6 and sch.alphas.dtype == F64 and sch.name == "alphas_cumprod"
    torch.testing.assert_close(sch.alphas, torch.tensor([1.0] + [math.sqrt(a) for a in ac.tolist()], dtype=F64),
                               rtol=2e-16, atol=0)
    torch.testing.assert_close(sch.sigmas, torch.tensor([0.0] + [math.sqrt(1 - a) for a in ac.tolist()], dtype=F64),
                               rtol=2e-16, atol=0)
    # chosen timesteps in any order (a diffusers scheduler lists them from noisy to clean); index 0 allowed
    sub = ld.Schedule.from_alphas_cumprod(ac, timesteps=[4, 0, 2], name="sub")
    assert sub.name == "sub" and sub.num_steps == 3
    torch.testing.assert_close(sub.alphas, torch.tensor([1.0, math.sqrt(0.99), math.sqrt(0.7), math.sqrt(0.1)],
                                                        dtype=F64), rtol=2e-16, atol=0)


def test_from_alphas_cumprod_accepts_the_edges_of_its_rules():
    # one entry; an entry equal to 1 that is not chosen; the last index
    assert ld.Schedule.from_alphas_cumprod([0.5]).num_steps == 1
    assert ld.Schedule.from_alphas_cumprod([1.0, 0.9, 0.5], timesteps=[1, 2]).num_steps == 2
    assert ld.Schedule.from_alphas_cumprod([0.9, 0.5], timesteps=[0, 1]).num_steps == 2


@pytest.mark.parametrize("ac, timesteps, word", [
    ([0.5, 0.0], None, "alphas_cumprod"),            # not > 0
    ([0.5, -0.1], None, "alphas_cumprod"),
    ([1.5, 0.5], None, "alphas_cumprod"),            # above 1
    ([[0.9, 0.5]], None, "alphas_cumprod"),          # 2-D
    ([], None, "alphas_cumprod"),                    # empty
    ([1.0, 0.5], None, "alphas_cumprod"),            # the first chosen is 1: time 0 would repeat
    ([0.9, 0.9, 0.5], None, "alphas_cumprod"),       # not strictly decreasing
    ([0.9, 0.3, 0.5], None, "alphas_cumprod"),       # decreasing from the first, not after
    ([0.9, 0.5, 0.2], [[0, 1]], "timesteps"),        # 2-D
    ([0.9, 0.5, 0.2], [], "timesteps"),              # empty
    ([0.9, 0.5, 0.2], [0.5, 1], "timesteps"),        # not integers
    ([0.9, 0.5, 0.2], [-1, 1], "timesteps"),         # out of range
    ([0.9, 0.5, 0.2], [1, 3], "timesteps"),
    ([0.9, 0.5, 0.2], [1, 1], "timesteps"),          # repeated
    ([1.5, 0.9, 0.5], [1, 2], "alphas_cumprod"),     # above 1 where it is not chosen
])
def test_from_alphas_cumprod_refuses_bad_input(ac, timesteps, word):
    with pytest.raises(ValueError, match=rf"^{word}\b"):
        ld.Schedule.from_alphas_cumprod(ac, timesteps=timesteps)


def test_from_alphas_cumprod_names_non_numeric_input():
    with pytest.raises(TypeError, match=r"^timesteps\b"):
        ld.Schedule.from_alphas_cumprod([0.9, 0.5], timesteps="all")
    with pytest.raises(TypeError, match=r"^alphas_cumprod\b"):
        ld.Schedule.from_alphas_cumprod("cosine")


def test_ve_view_keeps_the_noise_to_signal_ratio():
    sch = ld.Schedule.linear(5)
    ve = sch.ve_view()
    torch.testing.assert_close(ve.sigmas, sch.sigmas / sch.alphas, rtol=2e-16, atol=0)
    assert torch.equal(ve.alphas, torch.ones(6, dtype=F64))
    assert ve.name == "linear (VE view)" and ve.variance_preserving is False
    with pytest.raises(ValueError, match="alpha"):
        ld.Schedule.cosine(4).ve_view()


# ------------------------------------------------------------------ the Schedule class itself
def test_schedule_from_lists_holds_float64_tensors():
    sch = ld.Schedule([1.0, 0.6, 0.0], [0.0, 0.8, 1.0])
    assert isinstance(sch.alphas, torch.Tensor) and isinstance(sch.sigmas, torch.Tensor)
    assert sch.alphas.dtype == F64 and sch.sigmas.dtype == F64 and sch.num_steps == 2


@pytest.mark.parametrize("alphas, sigmas, vp, word", [
    ([1.0, 0.5, -0.1], [0.0, 0.8, 0.9], False, "alphas"),                 # negative alpha at the end
    ([1.0, 0.0, 0.0], [0.0, 1.0, 2.0], False, "alphas"),                  # zero before the last
    ([1.0, 0.5, 0.0, 0.0], [0.0, 1.0, 2.0, 3.0], False, "alphas"),        # zero just before the last
    ([[1.0, 0.5]], [0.0, 1.0], False, "1-D"),                             # 2-D alphas
    ([1.0, 0.5], [[0.0, 1.0]], False, "1-D"),
    ([1.1, 0.5], [0.0, 1.0], False, "alphas"),                            # not starting at the data
])
def test_schedule_refuses_bad_arrays(alphas, sigmas, vp, word):
    with pytest.raises(ValueError, match=word):
        ld.Schedule(alphas, sigmas, variance_preserving=vp)


def test_schedule_accepts_alpha_zero_at_the_last_time_only():
    sch = ld.Schedule([1.0, 0.5, 0.0], [0.0, 1.0, 2.0], variance_preserving=False)
    assert float(sch.alphas[-1]) == 0.0


@pytest.mark.parametrize("make", [ld.Schedule.cosine, ld.Schedule.linear, ld.Schedule.variance_exploding])
def test_constructors_name_num_steps(make):
    for bad in (0, -3):
        with pytest.raises(ValueError, match="num_steps"):
            make(bad)


def test_constructor_names_and_repr_and_to():
    assert ld.Schedule.cosine(3).name == "cosine" and ld.Schedule.linear(3).name == "linear"
    sch = ld.Schedule.linear(4)
    assert repr(sch) == "Schedule(name='linear', num_steps=4, VP)"
    assert repr(ld.Schedule.variance_exploding(2)) == "Schedule(name='ve', num_steps=2, VE)"
    moved = sch.to("cpu")
    assert moved is not sch and moved.name == "linear" and moved.variance_preserving is True
    assert torch.equal(moved.alphas, sch.alphas) and torch.equal(moved.sigmas, sch.sigmas)
    ve = ld.Schedule.variance_exploding(3).to("cpu")
    assert ve.variance_preserving is False and ve.name == "ve"


def test_linear_refuses_bad_betas_and_steps_that_round_sigma_to_one():
    with pytest.raises(ValueError, match="beta_min"):
        ld.Schedule.linear(4, beta_min=-0.1)
    with pytest.raises(ValueError, match="beta_max"):
        ld.Schedule.linear(4, beta_min=0.0, beta_max=0.0)
    with pytest.raises(ValueError, match="beta_max"):
        ld.Schedule.linear(4, beta_min=2.0, beta_max=1.0)
    # alpha underflows: sigma rounds to 1 before the last step; the constructor says so (not the class)
    with pytest.raises(ValueError, match="too large"):
        ld.Schedule.linear(1000, beta_min=0.1, beta_max=5000.0)


def test_as_schedule_refuses_a_name():
    from lineardistill.schedule import as_schedule

    with pytest.raises(TypeError, match=r"^schedule\b"):
        as_schedule("cosine")
    sch = ld.Schedule.cosine(2)
    assert as_schedule(sch) is sch
