"""Tests of lineardistill.spectra: synthetic spectra and the real digits spectrum."""

import math

import numpy as np
import pytest
import torch

from lineardistill import spectra


def _is_decreasing(values):
    return bool((values[1:] <= values[:-1]).all())


def test_power_law_matches_formula_and_ratios():
    lam = spectra.power_law_spectrum(10, exponent=1.5, scale=3.0)
    assert lam.shape == (10,) and lam.dtype == torch.float64
    assert _is_decreasing(lam) and bool((lam > 0).all())
    expected = torch.tensor([3.0 * i ** -1.5 for i in range(1, 11)], dtype=torch.float64)
    assert torch.allclose(lam, expected, rtol=1e-14)
    # a power law is a straight line in log-log coordinates with slope -exponent
    slope = np.polyfit(np.log(np.arange(1, 11)), np.log(lam.numpy()), 1)[0]
    assert slope == pytest.approx(-1.5, abs=1e-10)


def test_two_level_counts_and_values():
    lam = spectra.two_level_spectrum(12, high=5.0, low=0.1, fraction_high=0.25)
    assert lam.shape == (12,) and _is_decreasing(lam)
    assert int((lam == 5.0).sum()) == 3 and int((lam == 0.1).sum()) == 9
    assert torch.equal(spectra.two_level_spectrum(4, 2.0, 1.0, 0.0), torch.ones(4, dtype=torch.float64))


def test_log_uniform_grid_and_random_draws():
    lam = spectra.log_uniform_spectrum(5, low=0.01, high=100.0)
    assert torch.allclose(lam, torch.tensor([100.0, 10.0, 1.0, 0.1, 0.01], dtype=torch.float64), rtol=1e-12)
    gaps = torch.diff(torch.log(lam))
    assert torch.allclose(gaps, gaps[0].expand_as(gaps))
    a = spectra.log_uniform_spectrum(2000, 0.1, 10.0, generator=torch.Generator().manual_seed(3))
    b = spectra.log_uniform_spectrum(2000, 0.1, 10.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and _is_decreasing(a)
    assert float(a.min()) >= 0.1 and float(a.max()) <= 10.0
    # log-uniform on [log 0.1, log 10]: half the mass below 1 (binomial sd 0.011)
    assert abs(float((a < 1).double().mean()) - 0.5) < 0.05


def test_digits_spectrum_shape_positive_sorted_and_trace():
    lam = spectra.digits_spectrum()
    assert lam.ndim == 1 and lam.dtype == torch.float64
    assert lam.numel() == 61  # 64 pixels, 3 never change
    assert bool((lam > 0).all()) and _is_decreasing(lam)
    # standardized pixels: the covariance is a correlation matrix, trace = number of pixels
    assert float(lam.sum()) == pytest.approx(61.0, rel=1e-10)


def test_digits_spectrum_against_numpy_and_sklearn_pca():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    x = load_digits().data
    x = x[:, x.std(axis=0) > 0]
    corr = np.corrcoef(x, rowvar=False)
    expected = np.sort(np.linalg.eigvalsh(corr))[::-1]
    lam = spectra.digits_spectrum().numpy()
    assert np.allclose(lam, expected, rtol=1e-8, atol=1e-12)
    raw = spectra.digits_spectrum(standardize="none").numpy()
    pca = PCA().fit(load_digits().data).explained_variance_
    pca = pca[pca > 1e-10 * pca[0]]
    assert np.allclose(raw, pca, rtol=1e-8)
    scaled = spectra.digits_spectrum(standardize="global")
    assert float(scaled.mean()) == pytest.approx(1.0, rel=1e-12)
    assert np.allclose(scaled.numpy() / raw, scaled[0].item() / raw[0], rtol=1e-10)


def test_spectrum_summary_counts():
    lam = torch.tensor([5.0, 2.5, 2.0, 1.5, 1.0, 0.5])
    summary = spectra.spectrum_summary(lam, lambda_c=2.0)
    assert summary["below_1"] == 2 and summary["between"] == 1 and summary["above_lambda_c"] == 3
    assert summary["dim"] == 6 and summary["largest"] == 5.0 and summary["smallest"] == 0.5
    assert summary["mean"] == pytest.approx(12.5 / 6)


def test_digits_regimes_add_up():
    lam = spectra.digits_spectrum()
    summary = spectra.spectrum_summary(lam, lambda_c=2.0)
    assert summary["below_1"] + summary["between"] + summary["above_lambda_c"] == 61
    assert summary["below_1"] == int((lam <= 1).sum()) and summary["above_lambda_c"] == int((lam >= 2).sum())
    # mean 1 with a spread: some eigenvalues on each side of 1
    assert 0 < summary["below_1"] < 61 and summary["above_lambda_c"] > 0


@pytest.mark.parametrize("call, match", [
    (lambda: spectra.power_law_spectrum(0), "dim"),
    (lambda: spectra.power_law_spectrum(3, exponent=-1.0), "exponent"),
    (lambda: spectra.power_law_spectrum(3.0), "dim"),
    (lambda: spectra.two_level_spectrum(4, fraction_high=1.5), "fraction_high"),
    (lambda: spectra.two_level_spectrum(4, high=0.1, low=1.0), "high"),
    (lambda: spectra.two_level_spectrum(4, low=-1.0), "low"),
    (lambda: spectra.log_uniform_spectrum(4, low=0.0), "low"),
    (lambda: spectra.log_uniform_spectrum(4, low=2.0, high=1.0), "high"),
    (lambda: spectra.log_uniform_spectrum(4, generator=3), "generator"),
    (lambda: spectra.covariance_spectrum(np.ones(5)), "data"),
    (lambda: spectra.covariance_spectrum(np.ones((5, 3))), "vari"),
    (lambda: spectra.covariance_spectrum(np.eye(3), standardize="zscore"), "standardize"),
    (lambda: spectra.covariance_spectrum([[0.0, math.nan], [1.0, 2.0]]), "data"),
    (lambda: spectra.digits_spectrum(standardize=None), "standardize"),
    (lambda: spectra.spectrum_summary([1.0, -2.0], 2.0), "lam"),
    (lambda: spectra.spectrum_summary([1.0, 2.0], 0.5), "lambda_c"),
    (lambda: spectra.spectrum_summary([[1.0, 2.0]], 2.0), "lam"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
