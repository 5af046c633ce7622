"""Covariance spectra to run the theory on: synthetic and from real data (theory section 8).

Every diagonal model in this package only needs the eigenvalues ``lam`` of the
data covariance. This module makes them:

- synthetic spectra: :func:`power_law_spectrum`, :func:`two_level_spectrum`,
  :func:`log_uniform_spectrum`;
- a real one: :func:`digits_spectrum`, the covariance eigenvalues of
  scikit-learn's bundled 8x8 handwritten digits (1797 images, 64 pixels;
  shipped inside the package, so no download);
- :func:`spectrum_summary`, which counts the eigenvalues below 1, between 1
  and ``lambda_c`` and above ``lambda_c`` (the three regimes of R16).

Every spectrum is a float64 tensor sorted in decreasing order, all entries > 0.
"""

from __future__ import annotations

import math

import torch

from ._checks import DTYPE, as_float, as_int, as_tensor, one_of

STANDARDIZE = ("pixel", "global", "none")
"""How :func:`digits_spectrum` scales the data (see there)."""


def _sorted(values: torch.Tensor) -> torch.Tensor:
    return torch.sort(values, descending=True).values


def power_law_spectrum(dim: int, exponent: float = 1.0, scale: float = 1.0) -> torch.Tensor:
    """Power-law spectrum ``lam_i = scale * i^(-exponent)`` for ``i = 1..dim`` (decreasing).

    Natural images have covariance spectra close to a power law.
    """
    d = as_int(dim, "dim", minimum=1)
    p = as_float(exponent, "exponent", nonnegative=True)
    c = as_float(scale, "scale", positive=True)
    index = torch.arange(1, d + 1, dtype=DTYPE)
    return c * torch.exp(-p * torch.log(index))


def two_level_spectrum(dim: int, high: float = 4.0, low: float = 0.25, fraction_high: float = 0.25) -> torch.Tensor:
    """Spiked spectrum: ``round(fraction_high * dim)`` eigenvalues equal to ``high``, the rest ``low``.

    A simple model of data with a few strong directions and a noise floor.
    """
    d = as_int(dim, "dim", minimum=1)
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
    d = as_int(dim, "dim", minimum=1)
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
    return _sorted(torch.exp(math.log(lo) + frac * (math.log(hi) - math.log(lo))))


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
    keep = std > 0
    if not bool(keep.any()):
        raise ValueError("data must have at least one feature that varies")
    if mode == "pixel":
        x = x[:, keep] / std[keep]
    cov = x.T @ x / (x.shape[0] - 1)
    values = _sorted(torch.linalg.eigvalsh(cov))
    values = values[values > cutoff * values[0]]
    if mode == "global":
        values = values / values.mean()
    return values


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
