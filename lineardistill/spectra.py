"""Covariance spectra to run the theory on: synthetic and from real data (theory section 8).

The chapter *Real spectra* explains this module: the diagonal
model of Gao and Li (2025, arXiv:2505.16024) needs only the eigenvalues of a
data covariance, and here they come from formulas or from real images.

Every diagonal model in this package only needs the eigenvalues ``lam`` of the
data covariance. This module makes them:

- synthetic spectra: :func:`power_law_spectrum`, :func:`two_level_spectrum`,
  :func:`log_uniform_spectrum`;
- a real one: :func:`digits_spectrum`, the covariance eigenvalues of
  scikit-learn's bundled 8x8 handwritten digits (1797 images, 64 pixels;
  shipped inside the package, so no download);
- :func:`spectrum_summary`, which counts the eigenvalues below 1, between 1
  and ``lambda_c`` and above ``lambda_c`` (the three regimes of R16).

Every spectrum is a float64 tensor sorted in decreasing order, all entries > 0
and finite: a spectrum whose values would underflow to 0 or overflow to inf
raises a ValueError that names the parameters, instead of returning zeros.

>>> power_law_spectrum(4, exponent=2.0)
tensor([1.0000, 0.2500, 0.1111, 0.0625], dtype=torch.float64)
"""

from __future__ import annotations

import math

import torch

from ._checks import DTYPE, as_float, as_int, as_tensor, check_size, one_of

STANDARDIZE = ("pixel", "global", "none")
"""How :func:`digits_spectrum` scales the data (see there)."""


def _sorted(values: torch.Tensor) -> torch.Tensor:
    return torch.sort(values, descending=True).values


def _dim(dim) -> int:
    d = as_int(dim, "dim", minimum=1)
    check_size(d, f"a spectrum of dim = {d:,}", "use a smaller dim")
    return d


def _representable(values: torch.Tensor, params: str) -> torch.Tensor:
    """Refuse a spectrum with entries that are 0 or inf (under- or overflow of float64)."""
    tiny = torch.finfo(DTYPE).tiny  # below it float64 numbers are subnormal: precision is lost
    if values.numel() and not bool(((values >= tiny) & torch.isfinite(values)).all()):
        raise ValueError(f"{params} give eigenvalues that float64 cannot hold (smallest "
                         f"{float(values.min()):.3g}, largest {float(values.max()):.3g}): they under- or overflow; "
                         "choose values closer to 1")
    return values


def power_law_spectrum(dim: int, exponent: float = 1.0, scale: float = 1.0) -> torch.Tensor:
    """Power-law spectrum ``lam_i = scale * i^(-exponent)`` for ``i = 1..dim`` (decreasing).

    Natural images have covariance spectra close to a power law.
    """
    d = _dim(dim)
    p = as_float(exponent, "exponent", nonnegative=True)
    c = as_float(scale, "scale", positive=True)
    index = torch.arange(1, d + 1, dtype=DTYPE)
    values = torch.exp(math.log(c) - p * torch.log(index))  # in logs: scale * i^-p may overflow midway
    return _representable(values, f"exponent = {p!r}, scale = {c!r} and dim = {d}")


def two_level_spectrum(dim: int, high: float = 4.0, low: float = 0.25, fraction_high: float = 0.25) -> torch.Tensor:
    """Spiked spectrum: ``round(fraction_high * dim)`` eigenvalues equal to ``high``, the rest ``low``.

    A simple model of data with a few strong directions and a noise floor.
    """
    d = _dim(dim)
    hi = as_float(high, "high", positive=True)
    lo = as_float(low, "low", positive=True)
    frac = as_float(fraction_high, "fraction_high", nonnegative=True)
    if frac > 1:
        raise ValueError(f"fraction_high must lie in [0, 1], got {frac!r}")
    if hi < lo:
        raise ValueError(f"high must be >= low, got high={hi!r}, low={lo!r}")
    count = round(frac * d)
    values = torch.full((d,), lo, dtype=DTYPE)
    values[:count] = hi
    return values


def log_uniform_spectrum(dim: int, low: float = 0.01, high: float = 100.0,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Eigenvalues spread uniformly in ``log lam`` over ``[low, high]``, sorted decreasing.

    Without ``generator`` the values are the evenly spaced grid in log scale
    (``high`` first, ``low`` last); with a ``torch.Generator`` they are ``dim``
    independent log-uniform draws (drawn on the CPU, so a seed gives the same
    numbers everywhere).
    """
    d = _dim(dim)
    lo = as_float(low, "low", positive=True)
    hi = as_float(high, "high", positive=True)
    if hi < lo:
        raise ValueError(f"high must be >= low, got low={lo!r}, high={hi!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is None:
        frac = torch.linspace(1.0, 0.0, d, dtype=DTYPE) if d > 1 else torch.ones(1, dtype=DTYPE)
    else:
        frac = torch.rand(d, generator=generator, dtype=DTYPE)
    values = _sorted(torch.exp(math.log(lo) + frac * (math.log(hi) - math.log(lo))))
    return _representable(values, f"low = {lo!r} and high = {hi!r}")


def load_digits_matrix() -> torch.Tensor:
    """The 1797 x 64 pixel matrix of scikit-learn's bundled 8x8 digits, as float64 (values 0..16).

    Needs scikit-learn (installed with the ``book`` extra); the data ship with it.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("digits_spectrum needs scikit-learn: pip install 'lineardistill[book]'") from error
    return torch.as_tensor(load_digits().data, dtype=DTYPE)


def covariance_spectrum(data, standardize: str = "pixel", tol: float = 1e-10) -> torch.Tensor:
    """Eigenvalues of the sample covariance of ``data`` (rows: samples, columns: features), decreasing.

    ``standardize``:

    - ``"pixel"``: each feature to mean 0 and variance 1 (features that never
      change are dropped); the covariance is then the correlation matrix and
      its eigenvalues average exactly 1;
    - ``"global"``: center, then divide all features by one number so that the
      eigenvalues average 1 (keeps the relative pixel variances);
    - ``"none"``: center only (raw units).

    Eigenvalues that are not above ``tol`` times the largest are dropped (a
    rank-deficient covariance has no information along those directions), so
    every returned value is > 0.
    """
    x = as_tensor(data, "data")
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"data must be a 2-D array with at least 2 rows and 1 column, got shape {tuple(x.shape)}")
    mode = one_of(standardize, "standardize", STANDARDIZE)
    cutoff = as_float(tol, "tol", nonnegative=True)
    x = x - x.mean(dim=0)
    std = x.std(dim=0)
    if not bool(torch.isfinite(std).all()):
        raise ValueError("data are too large: their variance overflows float64; rescale the data")
    keep = std > 0
    if not bool(keep.any()):
        raise ValueError("data must have at least one feature that varies (in float64: values below ~1e-154 "
                         "have a variance that underflows to 0)")
    if mode == "pixel":
        x = x[:, keep] / std[keep]
    cov = x.T @ x / (x.shape[0] - 1)
    if not bool(torch.isfinite(cov).all()):
        raise ValueError("data are too large: their covariance overflows float64; rescale the data")
    values = _sorted(torch.linalg.eigvalsh(cov))
    values = values[values > cutoff * values[0]]
    if values.numel() == 0 or not bool((values > 0).all()):
        raise ValueError(f"data have no covariance eigenvalue above tol = {cutoff!r} times the largest "
                         f"({float(values[0]) if values.numel() else 0.0:.3g}); the data may be too small "
                         "(underflow) or tol too large")
    if mode == "global":
        values = values / values.mean()
    return _representable(values, "data")


def digits_spectrum(standardize: str = "pixel") -> torch.Tensor:
    """Covariance eigenvalues of scikit-learn's 8x8 digits (real image data), decreasing, all > 0.

    With the default ``standardize="pixel"`` each of the 61 pixels that vary
    is scaled to unit variance (3 border pixels are always blank and dropped),
    so the 61 eigenvalues average 1. See :func:`covariance_spectrum`.
    """
    return covariance_spectrum(load_digits_matrix(), standardize=standardize)


def spectrum_summary(lam, lambda_c: float) -> dict:
    """Count the eigenvalues in each regime of R16: ``<= 1``, in ``(1, lambda_c)``, ``>= lambda_c``.

    Returns a dict with ``dim``, ``below_1``, ``between``, ``above_lambda_c``,
    ``largest``, ``smallest``, ``mean`` (Python numbers, for printing).
    """
    values = as_tensor(lam, "lam", positive=True)
    if values.ndim != 1 or values.numel() == 0:
        raise ValueError(f"lam must be a non-empty 1-D array, got shape {tuple(values.shape)}")
    lc = as_float(lambda_c, "lambda_c", positive=True)
    if lc <= 1:
        raise ValueError(f"lambda_c must be > 1, got {lc!r}")
    below = int((values <= 1).sum())
    above = int((values >= lc).sum())
    return {
        "dim": values.numel(),
        "below_1": below,
        "between": values.numel() - below - above,
        "above_lambda_c": above,
        "largest": float(values.max()),
        "smallest": float(values.min()),
        "mean": float(values.mean()),
    }
