"""lineardistill.samples: the Gaussian model of the digits and one-step samples of teacher and students."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lineardistill as ld  # noqa: E402
from lineardistill import samples  # noqa: E402

SCH = ld.Schedule.cosine(6)


@pytest.fixture(scope="module")
def grid():
    return samples.sample_grid(SCH, ctau=1.0, num_samples=5, seed=3)


def test_digits_model_is_the_spectrum_and_an_orthonormal_basis():
    model = samples.digits_model()
    assert model.dim == 61 and model.coords.shape == (1797, 61)
    assert torch.allclose(model.lam, ld.digits_spectrum(), rtol=1e-10, atol=0)
    assert torch.allclose(model.basis.T @ model.basis, torch.eye(61, dtype=torch.float64), atol=1e-10)
    # the coordinates are uncorrelated with variances lam
    cov = torch.cov(model.coords.T)
    assert torch.allclose(cov, torch.diag(model.lam), atol=1e-9)


def test_pixels_round_trip():
    model = samples.digits_model()
    images = model.to_pixels(model.coords[:7])
    assert images.shape == (7, 8, 8)
    raw = ld.spectra.load_digits_matrix()[:7].reshape(7, 8, 8)
    assert torch.allclose(images, raw, atol=1e-10)
    assert torch.allclose(model.to_coords(images), model.coords[:7], atol=1e-10)
    with pytest.raises(ValueError, match="coords"):
        model.to_pixels(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="images"):
        model.to_coords(torch.zeros(3, 7))


def test_noise_is_seeded_and_scaled():
    lam = torch.tensor([0.5, 2.0, 4.0], dtype=torch.float64)
    a = samples.draw_noise(SCH, lam, 10, torch.Generator().manual_seed(1))
    b = samples.draw_noise(SCH, lam, 10, torch.Generator().manual_seed(1))
    c = samples.draw_noise(SCH, lam, 10, torch.Generator().manual_seed(2))
    assert a.shape == (10, 3) and torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_samples": 0}, "num_samples"),
    ({"generator": 3}, "generator"),
    ({"lam": [[1.0, 2.0]]}, "lam"),
    ({"lam": [1.0, -2.0]}, "lam"),
])
def test_draw_noise_validates(kwargs, match):
    args = {"schedule": SCH, "lam": [1.0, 2.0], "num_samples": 4, "generator": torch.Generator().manual_seed(0)}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        samples.draw_noise(**args)


def test_closed_form_w2_against_monte_carlo():
    """W2 to the data law is ||s - sqrt(lam)||_2 with s the per-coordinate std of m z_N; the plug-in value from sampled
    stds differs from it by at most ||s_hat - s||_2, whose root mean square is sqrt(sum s_i^2 / (2n)) (large n).
    Tolerance: 5 of those. W2 to the teacher with the same noise is the RMS of (m - T) z_N (synchronous coupling,
    optimal for two centred 1-D Gaussians): compared by a z-score per coordinate."""
    model = samples.digits_model()
    lam = model.lam
    ops = samples.strategy_multipliers(SCH, lam, 1.0, optimal="none")
    n = 200_000
    z = samples.draw_noise(SCH, lam, n, torch.Generator().manual_seed(11))
    T = ops["teacher"][1]
    for name in ("teacher", "boot", "one-shot", "progressive"):
        m = ops[name][1]
        x = samples.apply_multipliers(m, z)
        s_true = m.abs() * ld.vector_norms(SCH, lam)[..., -1]
        s_hat = x.std(dim=0)
        plug_in = float(torch.linalg.vector_norm(s_hat - lam.sqrt()))
        tol = 5 * math.sqrt(float((s_true**2).sum()) / (2 * n))
        assert abs(plug_in - samples.w2_to_data(m, SCH, lam)) < tol, name
        diff = (x - z * T)
        rms = diff.pow(2).mean(0).sqrt()
        exact = (m - T).abs() * ld.vector_norms(SCH, lam)[..., -1]
        se = exact / math.sqrt(2 * n)
        if name == "teacher":
            assert float(rms.max()) == 0.0
        else:
            zscore = (rms - exact) / se
            assert float(zscore.abs().max()) < 5, name
        assert samples.w2_to_teacher(m, SCH, lam) == pytest.approx(float(ld.w2(m, SCH, lam)), rel=1e-12)


def test_grid_rows_and_known_zeros(grid):
    assert grid.rows == samples.GRID_ROWS
    for name in grid.rows:
        assert grid.images[name].shape == (5, 8, 8)
    assert grid.w2_data["gaussian"] == pytest.approx(0.0, abs=1e-12)
    assert grid.w2_teacher["teacher"] == pytest.approx(0.0, abs=1e-12)
    # the optimal shared tree is at least as close to the teacher as every named strategy (R13, exact)
    assert all(grid.w2_teacher["optimal"] <= grid.w2_teacher[k] + 1e-12 for k in ("boot", "one-shot", "progressive"))
    # R5: the teacher keeps less contrast than the data along every direction
    contrast = samples.direction_contrast(grid, "teacher")
    assert bool((contrast < 1).all()) and torch.allclose(samples.direction_contrast(grid, "gaussian"),
                                                         torch.ones(61, dtype=torch.float64))


def test_grid_is_deterministic(grid):
    again = samples.sample_grid(SCH, ctau=1.0, num_samples=5, seed=3, optimal="none")
    other = samples.sample_grid(SCH, ctau=1.0, num_samples=5, seed=4, optimal="none")
    for name in again.rows:
        assert torch.equal(again.images[name], grid.images[name])
    assert not torch.equal(other.images["teacher"], grid.images["teacher"])
    assert "optimal" not in again.rows


@pytest.mark.parametrize("kwargs, match", [
    ({"num_samples": 0}, "num_samples"), ({"num_samples": 100}, "num_samples"), ({"ctau": -1.0}, "ctau"),
    ({"optimal": "best"}, "optimal"), ({"seed": -1}, "seed"), ({"init": "cold"}, "init"),
])
def test_sample_grid_validates(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        samples.sample_grid(SCH, **{"optimal": "none", **kwargs})


def test_w2_validation():
    with pytest.raises(ValueError, match="multipliers"):
        samples.w2_to_data([1.0, 2.0], SCH, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="schedule"):
        samples.w2_to_teacher([1.0], "cosine", [1.0])
    with pytest.raises(ValueError, match="multipliers"):
        samples.apply_multipliers([1.0, 2.0], torch.zeros(4, 3))


def test_plot_sample_grid(grid):
    fig = samples.plot_sample_grid(grid, rows=["data", "teacher", "optimal"])
    assert len(fig.axes) == 3 * 5
    plt.close(fig)
    with pytest.raises(ValueError, match="rows"):
        samples.plot_sample_grid(grid, rows=["nope"])
    with pytest.raises(TypeError, match="grid"):
        samples.plot_sample_grid({"rows": 1})
    with pytest.raises(ValueError, match="name"):
        samples.direction_contrast(grid, "nope")
