"""Samples you can see: the linear model of the 8x8 digits, its teacher and students as images.

Chapters 3 (the teacher) and 5 (strategies) use this module; the chapter *The theory against trained networks* reuses
its Gaussian model of the digits for trained networks.

The Gaussian model of scikit-learn's bundled 8x8 digits (no download): scale
each of the 61 pixels that vary to mean 0 and variance 1 (as
:func:`lineardistill.digits_spectrum` does), rotate into the eigenbasis of the
covariance, and keep only the covariance: ``x_0 ~ N(0, diag(lam))`` in those
coordinates. Every operator of the book (the teacher's composite ``T_i``, a
strategy's merged multiplier ``m_i``) is one number per coordinate, so its
one-step samples are ``m * z_N`` with ``z_N ~ N(0, ||v_N||^2)`` per coordinate,
mapped back to pixels. Drawing all of them from the *same* noise makes the
images directly comparable: they differ only by how each direction is scaled.

Distances are between laws, per coordinate, in the standardized PCA
coordinates (R9 and R22): the law ``N(0, m^2 ||v_N||^2)`` has

- ``W2`` to the teacher's law ``N(0, T^2 ||v_N||^2)``: ``||v_N|| |m - T|``;
- ``W2`` to the data law ``N(0, lam)``: ``| |m| ||v_N|| - sqrt(lam) |``;

and the squares add over coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ._checks import DTYPE, _show, as_float, as_int, as_tensor, one_of
from .schedule import as_schedule
from .spectra import load_digits_matrix
from .teacher import composite, vector_norms
from .trees import MergeTree, merge_value

GRID_ROWS = ("data", "gaussian", "teacher", "boot", "one-shot", "progressive", "optimal")
"""The rows of :func:`sample_grid`, in the order they are drawn."""

GRID_LABELS = {"data": "data (real digits)", "gaussian": "Gaussian model", "teacher": "N-step teacher",
               "boot": "BOOT chain", "one-shot": "one-shot", "progressive": "progressive",
               "optimal": "optimal shared tree"}
"""Human-readable row titles for figures and tables."""


@dataclass(frozen=True, eq=False)
class DigitsModel:
    """The Gaussian model of the 8x8 digits in standardized PCA coordinates.

    Attributes
    ----------
    lam:
        The covariance eigenvalues (decreasing, all > 0), shape ``(d,)``, ``d = 61``.
    basis:
        Orthonormal eigenvectors as columns, shape ``(p, d)`` over the ``p = 61`` varying pixels.
    pixel_mean, pixel_std:
        Mean and standard deviation of all 64 pixels (0..16 scale); ``pixel_std`` is 0 on the 3 blank pixels.
    varying:
        Boolean mask of the 64 pixels that vary.
    coords:
        The 1797 real digits in these coordinates, shape ``(1797, d)``.
    """

    lam: torch.Tensor
    basis: torch.Tensor
    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor
    varying: torch.Tensor
    coords: torch.Tensor = field(repr=False)

    @property
    def dim(self) -> int:
        """d, the number of coordinates."""
        return self.lam.numel()

    def to_pixels(self, coords) -> torch.Tensor:
        """Map coordinates ``(..., d)`` back to images ``(..., 8, 8)`` on the 0..16 pixel scale (not clipped)."""
        c = as_tensor(coords, "coords")
        if c.ndim < 1 or c.shape[-1] != self.dim:
            raise ValueError(f"coords must have {self.dim} entries on its last axis, got shape {tuple(c.shape)}")
        standardized = c @ self.basis.T
        pixels = self.pixel_mean.expand(*c.shape[:-1], 64).clone()
        pixels[..., self.varying] += standardized * self.pixel_std[self.varying]
        return pixels.reshape(*c.shape[:-1], 8, 8)

    def to_coords(self, images) -> torch.Tensor:
        """Map images ``(..., 8, 8)`` or ``(..., 64)`` (0..16 scale) to coordinates ``(..., d)``."""
        x = as_tensor(images, "images")
        if x.ndim >= 2 and tuple(x.shape[-2:]) == (8, 8):
            x = x.reshape(*x.shape[:-2], 64)
        if x.ndim < 1 or x.shape[-1] != 64:
            raise ValueError(f"images must have shape (..., 8, 8) or (..., 64), got {tuple(x.shape)}")
        standardized = (x[..., self.varying] - self.pixel_mean[self.varying]) / self.pixel_std[self.varying]
        return standardized @ self.basis


_MODEL: DigitsModel | None = None


def digits_model() -> DigitsModel:
    """The Gaussian model of scikit-learn's bundled 8x8 digits (cached after the first call).

    Pixels are standardized as in :func:`lineardistill.digits_spectrum`
    (``standardize="pixel"``), so ``digits_model().lam`` equals that spectrum.
    """
    global _MODEL
    if _MODEL is None:
        x = load_digits_matrix()
        mean, std = x.mean(dim=0), x.std(dim=0)
        varying = std > 0
        z = (x[:, varying] - mean[varying]) / std[varying]
        cov = z.T @ z / (z.shape[0] - 1)
        values, vectors = torch.linalg.eigh(cov)
        order = torch.argsort(values, descending=True)
        values, vectors = values[order], vectors[:, order]
        # fix each eigenvector's sign (largest entry positive) so the basis is reproducible
        pick = vectors.abs().argmax(dim=0)
        vectors = vectors * torch.sign(vectors[pick, torch.arange(vectors.shape[1])])
        _MODEL = DigitsModel(values, vectors, mean, std, varying, z @ vectors)
    return _MODEL


def _generator(generator):
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (seeded), got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError("generator must be a CPU generator: draws are made on the CPU")
    return generator


def _lam_1d(lam):
    lam_t = as_tensor(lam, "lam", positive=True)
    if lam_t.ndim != 1 or lam_t.numel() == 0:
        raise ValueError(f"lam must be a non-empty 1-D array of variances, got shape {tuple(lam_t.shape)}")
    return lam_t


def draw_noise(schedule, lam, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """``z_N ~ N(0, ||v_N||^2)`` per coordinate, shape ``(num_samples, d)``, drawn with ``generator`` on the CPU."""
    sch = as_schedule(schedule).to("cpu")
    lam_t = _lam_1d(lam)
    n = as_int(num_samples, "num_samples", minimum=1)
    gen = _generator(generator)
    scale = vector_norms(sch, lam_t)[..., -1]
    return torch.randn(n, lam_t.numel(), generator=gen, dtype=DTYPE) * scale


def apply_multipliers(multipliers, z_N) -> torch.Tensor:
    """One-step samples ``m * z_N``: ``multipliers`` ``(d,)`` times noise ``(n, d)``."""
    m = as_tensor(multipliers, "multipliers")
    z = as_tensor(z_N, "z_N")
    if m.ndim != 1 or z.ndim != 2 or z.shape[1] != m.numel():
        raise ValueError(f"multipliers must have shape (d,) and z_N shape (n, d) with the same d, "
                         f"got {tuple(m.shape)} and {tuple(z.shape)}")
    return z * m


def w2_to_teacher(multipliers, schedule, lam) -> float:
    """R9: ``W2(N(0, m^2 ||v_N||^2), N(0, T^2 ||v_N||^2))`` summed over coordinates (squares add)."""
    sch = as_schedule(schedule).to("cpu")
    lam_t = _lam_1d(lam)
    m = _multipliers_for(multipliers, lam_t)
    norms = vector_norms(sch, lam_t)[..., -1]
    return float(torch.sqrt(((norms * (m - composite(sch, lam_t))) ** 2).sum()))


def w2_to_data(multipliers, schedule, lam) -> float:
    """R22: ``W2(N(0, m^2 ||v_N||^2), N(0, lam))`` summed over coordinates: per coordinate ``| |m| ||v_N|| - sqrt(lam) |``."""
    sch = as_schedule(schedule).to("cpu")
    lam_t = _lam_1d(lam)
    m = _multipliers_for(multipliers, lam_t)
    norms = vector_norms(sch, lam_t)[..., -1]
    return float(torch.sqrt(((m.abs() * norms - lam_t.sqrt()) ** 2).sum()))


def _multipliers_for(multipliers, lam_t):
    m = as_tensor(multipliers, "multipliers")
    if m.shape != lam_t.shape:
        raise ValueError(f"multipliers must have one value per variance, shape {tuple(lam_t.shape)}, "
                         f"got {tuple(m.shape)}")
    return m


def gaussian_multipliers(schedule, lam) -> torch.Tensor:
    """The exact transport ``sqrt(lam) / ||v_N||``: the multiplier of the Gaussian model itself (``N -> inf`` teacher)."""
    sch = as_schedule(schedule).to("cpu")
    lam_t = _lam_1d(lam)
    return lam_t.sqrt() / vector_norms(sch, lam_t)[..., -1]


def strategy_multipliers(schedule, lam, ctau, init: str = "warm", optimal: str = "pareto") -> dict:
    """Multipliers per coordinate of the teacher and of each student of :data:`GRID_ROWS`.

    Returns a dict ``name -> (tree or None, multipliers (d,))`` for ``"gaussian"``,
    ``"teacher"``, ``"boot"``, ``"one-shot"``, ``"progressive"`` and ``"optimal"``.
    ``optimal="pareto"`` uses the one shared tree of R13
    (:func:`lineardistill.pareto_tree`; its cost grows quickly with N: about
    0.01 s at N = 6 and several seconds at N = 8 for 61 coordinates, measured
    here); ``optimal="none"`` leaves it out.
    """
    sch = as_schedule(schedule).to("cpu")
    lam_t = _lam_1d(lam)
    budget = as_float(ctau, "ctau", nonnegative=True)
    how = one_of(optimal, "optimal", ("pareto", "none"))
    n = sch.num_steps
    out = {"gaussian": (None, gaussian_multipliers(sch, lam_t)), "teacher": (None, composite(sch, lam_t))}
    for name, tree in (("boot", MergeTree.boot(n)), ("one-shot", MergeTree.vanilla(n)),
                       ("progressive", MergeTree.progressive(n))):
        out[name] = (tree, merge_value(tree, sch, lam_t, budget, init))
    if how == "pareto":
        from .dp import pareto_tree  # dp sits above trees; imported only when asked

        tree = pareto_tree(sch, lam_t, budget, init).tree
        out["optimal"] = (tree, merge_value(tree, sch, lam_t, budget, init))
    return out


@dataclass(frozen=True, eq=False)
class SampleGrid:
    """Images drawn from the same noise for every row of :data:`GRID_ROWS`.

    ``images[name]`` has shape ``(num_samples, 8, 8)``; ``w2_data[name]`` and
    ``w2_teacher[name]`` are the closed-form distances of that row's law (the
    ``data`` row has none: it is the empirical data); ``trees[name]`` is the
    strategy's tree text (or ``None``); ``multipliers[name]`` the ``(d,)``
    multipliers.
    """

    rows: tuple
    images: dict
    w2_data: dict
    w2_teacher: dict
    trees: dict
    multipliers: dict
    num_steps: int
    ctau: float


def sample_grid(schedule, ctau: float = 1.0, num_samples: int = 8, seed: int = 0, init: str = "warm",
                optimal: str = "pareto") -> SampleGrid:
    """Digits from the data and from every operator of :data:`GRID_ROWS`, all from the same ``z_N``.

    The ``data`` row shows ``num_samples`` real digits picked with the same seed.
    """
    sch = as_schedule(schedule).to("cpu")
    n = as_int(num_samples, "num_samples", minimum=1, maximum=64)
    s = as_int(seed, "seed", minimum=0)
    model = digits_model()
    ops = strategy_multipliers(sch, model.lam, ctau, init, optimal)
    gen = torch.Generator().manual_seed(s)
    pick = torch.randperm(model.coords.shape[0], generator=gen)[:n]
    z = draw_noise(sch, model.lam, n, gen)
    images = {"data": model.to_pixels(model.coords[pick])}
    w2d, w2t, trees, mults = {}, {}, {}, {}
    for name, (tree, m) in ops.items():
        images[name] = model.to_pixels(apply_multipliers(m, z))
        w2d[name] = w2_to_data(m, sch, model.lam)
        w2t[name] = w2_to_teacher(m, sch, model.lam)
        trees[name] = None if tree is None else str(tree)
        mults[name] = m
    rows = tuple(r for r in GRID_ROWS if r in images)
    return SampleGrid(rows, images, w2d, w2t, trees, mults, sch.num_steps, float(ctau))


def plot_sample_grid(grid: SampleGrid, rows=None, fig=None, title: str | None = None):
    """Draw a :class:`SampleGrid`: one row of digits per operator, its W2 to the data and to the teacher beside it.

    ``rows`` picks and orders rows (default: all of ``grid.rows``). Pass an
    existing ``fig`` to draw into it. Returns the figure.
    """
    if not isinstance(grid, SampleGrid):
        raise TypeError(f"grid must be a SampleGrid (from sample_grid), got {type(grid).__name__}")
    names = list(grid.rows if rows is None else rows)
    bad = [r for r in names if r not in grid.images]
    if bad or not names:
        raise ValueError(f"rows must be a non-empty list out of {grid.rows}, got {_show(rows)}")
    table = {}
    for name in names:
        text = (f"W2 data {grid.w2_data[name]:.2f}\nW2 teacher {grid.w2_teacher[name]:.2f}"
                if name in grid.w2_data else "")
        table[GRID_LABELS.get(name, name)] = (grid.images[name], text)
    return plot_image_rows(table, fig=fig, title=title or f"same noise z_N for every row; cosine schedule, "
                           f"N = {grid.num_steps}, c tau = {grid.ctau:g}")


def plot_image_rows(rows: dict, fig=None, title: str | None = None):
    """Rows of 8x8 images: ``rows`` maps a row title to ``(images (n, 8, 8), note)``; the note is printed beside it.

    Every row must hold the same number of images (0..16 pixel scale; clipped for display). Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not isinstance(rows, dict) or not rows:
        raise ValueError(f"rows must be a non-empty dict title -> (images, note), got {_show(rows)}")
    counts = set()
    for key, value in rows.items():
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str)):
            raise ValueError(f"rows[{key!r}] must be a pair (images, note), got {_show(value)}")
        images = as_tensor(value[0], f"rows[{key!r}] images")
        if images.ndim != 3 or tuple(images.shape[1:]) != (8, 8):
            raise ValueError(f"rows[{key!r}] images must have shape (n, 8, 8), got {tuple(images.shape)}")
        counts.add(images.shape[0])
    if len(counts) != 1 or 0 in counts:
        raise ValueError(f"every row of rows must hold the same number (>= 1) of images, got {sorted(counts)}")
    count = counts.pop()
    if fig is None:
        fig = plt.figure(figsize=(0.85 * count + 3.6, 0.9 * len(rows) + 0.5))
    axes = fig.subplots(len(rows), count, squeeze=False)
    for i, (label, (images, note)) in enumerate(rows.items()):
        images = as_tensor(images, "images")
        for j in range(count):
            ax = axes[i, j]
            ax.imshow(images[j].clamp(0, 16).numpy(), cmap="gray_r", vmin=0, vmax=16)
            ax.set_xticks([]); ax.set_yticks([])
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        if note:
            axes[i, -1].text(1.08, 0.5, note, transform=axes[i, -1].transAxes, va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.2, right=0.8, top=1 - 0.45 / (0.9 * len(rows) + 0.5), bottom=0.02,
                        wspace=0.05, hspace=0.08)
    return fig


def direction_contrast(grid: SampleGrid, name: str) -> torch.Tensor:
    """Per PCA direction, a row's standard deviation over the data's: ``|m| ||v_N|| / sqrt(lam)`` (closed form).

    1 means the row keeps the data's contrast along that direction; below 1 it is washed out.
    """
    if not isinstance(grid, SampleGrid):
        raise TypeError(f"grid must be a SampleGrid, got {type(grid).__name__}")
    if not isinstance(name, str) or name not in grid.multipliers:
        raise ValueError(f"name must be one of {tuple(grid.multipliers)}, got {_show(name)}")
    return grid.multipliers[name].abs() / grid.multipliers["gaussian"]
