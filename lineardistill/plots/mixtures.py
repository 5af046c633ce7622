"""Figures of chapter 9, *Beyond the linear model: Gaussian mixtures*.

Data that are a mixture of Gaussians take the operator-merging picture of
Gao and Li (2025, arXiv:2505.16024) beyond the linear model; the numbers come
from :mod:`lineardistill.mixture`. Figures (data function in brackets):
:func:`plot_mixture_denoiser` (:func:`mixture_denoiser_curves`), :func:`plot_composite_pieces`
(:func:`composite_piece_curves`), :func:`plot_error_floors`, :func:`plot_merge_errors` and
:func:`plot_block_errors` (the results of :mod:`lineardistill.mixture`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import DTYPE, as_int, as_tensor
from ..schedule import Schedule, as_schedule
from ._common import _axes, _data, _done, _panels


# ------------------------------------------------------------ chapter 9 (Gaussian mixtures)
def _mixture_defaults(schedule, mixture, num_steps=8):
    from ..mixture import as_mixture, example_mixture

    sch = Schedule.cosine(num_steps) if schedule is None else as_schedule(schedule)
    mix = example_mixture() if mixture is None else as_mixture(mixture)
    if mix.dim != 1:
        raise ValueError(f"mixture figures need a one-dimensional mixture, got d = {mix.dim}")
    return sch, mix


def _line_grid(lo, hi, count):
    lo, hi = as_tensor(lo, "lo").item(), as_tensor(hi, "hi").item()
    if not lo < hi:
        raise ValueError(f"lo must be below hi, got lo = {lo:g}, hi = {hi:g}")
    return torch.linspace(lo, hi, count, dtype=DTYPE)


@dataclass(frozen=True)
class MixtureDenoiserCurves:
    """The data of :func:`plot_mixture_denoiser`, computed by :func:`mixture_denoiser_curves`.

    Attributes
    ----------
    schedule : Schedule
    mixture : GaussianMixture
        One-dimensional.
    grid : torch.Tensor
        Points on the line, 1-D.
    density : torch.Tensor
        The data density on ``grid``.
    times : list of int
    denoised : torch.Tensor
        ``E[x_0 | z_t = grid]`` for each of ``times``, shape ``(len(times), len(grid))``.
    gate_time : int
    gates : torch.Tensor
        The responsibilities at ``gate_time``, shape ``(len(grid), K)``.
    """

    schedule: Schedule
    mixture: object
    grid: torch.Tensor
    density: torch.Tensor
    times: list
    denoised: torch.Tensor
    gate_time: int
    gates: torch.Tensor


def mixture_denoiser_curves(schedule=None, mixture=None, times=None, lo: float = -4.0,
                            hi: float = 4.0) -> MixtureDenoiserCurves:
    """The density of a 1-D mixture, its optimal denoiser at a few times, and the gates at the middle one.

    Parameters
    ----------
    schedule : Schedule, optional
        Default ``Schedule.cosine(8)``.
    mixture : GaussianMixture, optional
        One-dimensional; default :func:`lineardistill.mixture.example_mixture`.
    times : sequence of int, optional
        Times in ``1..N``; default ``1, N/4, N/2, 3N/4``.
    lo, hi : float
        The interval drawn.

    Returns
    -------
    MixtureDenoiserCurves
    """
    from ..mixture import mixture_denoise, responsibilities

    sch, mix = _mixture_defaults(schedule, mixture)
    n = sch.num_steps
    times = [1, max(1, n // 4), max(1, n // 2), max(1, 3 * n // 4)] if times is None else \
        [as_int(t, "times", minimum=1, maximum=n) for t in times]
    times = sorted(set(times))
    if not times:
        raise ValueError("times must hold at least one time")
    grid = _line_grid(lo, hi, 801)
    var = mix.covariances[:, 0, 0]
    dens = (mix.weights * torch.exp(-(grid[:, None] - mix.means[:, 0]) ** 2 / (2 * var))
            / torch.sqrt(2 * math.pi * var)).sum(-1)
    denoised = torch.stack([mixture_denoise(grid[:, None], t, sch, mix)[:, 0] for t in times])
    gate_time = times[len(times) // 2]
    return MixtureDenoiserCurves(schedule=sch, mixture=mix, grid=grid, density=dens, times=times, denoised=denoised,
                                 gate_time=gate_time, gates=responsibilities(grid[:, None], gate_time, sch, mix))


def plot_mixture_denoiser(data: MixtureDenoiserCurves | None = None, *, axes=None):
    """The data density, the optimal denoiser ``E[x_0 | z_t]`` at a few times, and the gates at one time.

    Parameters
    ----------
    data : MixtureDenoiserCurves, optional
        From :func:`mixture_denoiser_curves`; default ``mixture_denoiser_curves()``.
    axes : three matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, MixtureDenoiserCurves, mixture_denoiser_curves)
    fig, grid, own = _panels(axes, 1, 3, (13, 3.8))
    ax_p, ax_d, ax_g = grid[0]
    x = data.grid.numpy()
    ax_p.plot(x, data.density.numpy(), color="k")
    ax_p.set(xlabel="$x_0$", ylabel="density", title=f"data: {data.mixture.num_components} Gaussian components")
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(data.times)))
    for t, curve, c in zip(data.times, data.denoised, colors):
        ax_d.plot(x, curve.numpy(), color=c, label=rf"$t = {t}$ ($\alpha_t = {float(data.schedule.alphas[t]):.2f}$)")
    ax_d.set(xlabel="$z_t$", ylabel=r"$E[x_0 \mid z_t]$", title="optimal denoiser")
    ax_d.legend(fontsize=7)
    for k in range(data.gates.shape[1]):
        ax_g.plot(x, data.gates[:, k].numpy(), label=rf"$\gamma_{k + 1}$")
    ax_g.set(xlabel="$z_t$", ylabel="responsibility", title=f"gates at $t = {data.gate_time}$")
    ax_g.legend(fontsize=7)
    for ax in (ax_p, ax_d, ax_g):
        ax.grid(alpha=0.3)
    return _done(fig, own)


@dataclass(frozen=True)
class CompositePieceCurves:
    """The data of :func:`plot_composite_pieces`, computed by :func:`composite_piece_curves`.

    Attributes
    ----------
    grid : torch.Tensor
        Points ``z_N`` on the line, 1-D.
    ks : list of int
        The numbers of merged steps drawn on the left.
    hard, soft : dict
        ``k`` -> the hard-gate skeleton and the exact ``k``-step composite on ``grid``.
    breaks : dict
        ``k`` -> the left ends of the skeleton's affine pieces.
    counts : list of int
        Pieces of the ``k``-step composite for ``k = 1..N``.
    num_components : int
        ``K``, the affine maps of one step.
    """

    grid: torch.Tensor
    ks: list
    hard: dict
    soft: dict
    breaks: dict
    counts: list
    num_components: int


def composite_piece_curves(schedule=None, mixture=None, ks=(2, 4, 8), lo: float = -4.0,
                           hi: float = 4.0) -> CompositePieceCurves:
    """``k``-step composites from the noise end of a 1-D mixture teacher: hard-gate skeleton, exact map, pieces.

    Parameters
    ----------
    schedule : Schedule, optional
        Default ``Schedule.cosine(8)``.
    mixture : GaussianMixture, optional
        One-dimensional; default :func:`lineardistill.mixture.example_mixture`.
    ks : sequence of int
        Numbers of merged steps in ``1..N``.
    lo, hi : float
        The interval of ``z_N``.

    Returns
    -------
    CompositePieceCurves
    """
    from ..mixture import composite_pieces, hard_composite, mixture_composite

    sch, mix = _mixture_defaults(schedule, mixture)
    n = sch.num_steps
    ks = [as_int(k, "ks", minimum=1, maximum=n) for k in np.atleast_1d(np.asarray(ks, dtype=object))]
    if not ks:
        raise ValueError("ks must hold at least one number of merged steps")
    grid = _line_grid(lo, hi, 2001)
    lo, hi = float(grid[0]), float(grid[-1])
    pieces = {k: composite_pieces(sch, mix, n - k, n, lo, hi) for k in range(1, n + 1)}
    return CompositePieceCurves(
        grid=grid, ks=ks,
        hard={k: hard_composite(grid[:, None], sch, mix, n - k, n)[:, 0] for k in ks},
        soft={k: mixture_composite(grid[:, None], sch, mix, n - k, n)[:, 0] for k in ks},
        breaks={k: [p[0] for p in pieces[k][1:]] for k in ks},
        counts=[len(pieces[k]) for k in range(1, n + 1)], num_components=mix.num_components)


def plot_composite_pieces(data: CompositePieceCurves | None = None, *, axes=None):
    """The hard-gate skeleton of ``k``-step composites (left) and their piece count against ``K^k`` (right).

    Parameters
    ----------
    data : CompositePieceCurves, optional
        From :func:`composite_piece_curves`; default ``composite_piece_curves()``.
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, CompositePieceCurves, composite_piece_curves)
    fig, grid, own = _panels(axes, 1, 2, (11, 4.2))
    ax_m, ax_c = grid[0]
    x = data.grid.numpy()
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(data.ks)))
    for k, c in zip(data.ks, colors):
        hard = data.hard[k].numpy()
        steps = np.abs(np.diff(hard))
        jumps = steps > 20 * np.median(steps)       # break the line at the skeleton's jumps
        ax_m.plot(x, np.where(np.concatenate([jumps, [False]]), np.nan, hard), color=c,
                  label=f"$k = {k}$: {len(data.breaks[k]) + 1} pieces")
        ax_m.plot(x, data.soft[k].numpy(), ":", color=c, lw=1)
        for start in data.breaks[k]:
            ax_m.axvline(start, color=c, lw=0.6, alpha=0.5)
    ax_m.set(xlabel="$z_N$", ylabel="$z_{N-k}$", title="k-step composite: hard-gate skeleton (solid), exact (dotted)")
    ax_m.legend(fontsize=7)
    all_k = np.arange(1, len(data.counts) + 1)
    ax_c.semilogy(all_k, data.counts, "o-", label="pieces of the k-step composite")
    ax_c.semilogy(all_k, float(data.num_components) ** all_k, "k--", label="$K^k$ (upper bound)")
    ax_c.axhline(data.num_components, color="tab:red", ls=":", label="$K$: affine maps of one step")
    ax_c.set(xlabel="number of merged steps $k$", ylabel="count", title="affine pieces on the line")
    ax_c.legend(fontsize=7)
    for ax in (ax_m, ax_c):
        ax.grid(alpha=0.3)
    return _done(fig, own)


def plot_error_floors(ks=None, fits=None, labels=None, *, ax=None):
    """The relative error floor of one-step students against the number of merged steps ``k``.

    Parameters
    ----------
    ks : sequence of int, optional
        The numbers of merged steps of the students of each fit, in order;
        the first (one step, no floor) is not drawn.
    fits : sequence of FitResult, optional
        From :func:`lineardistill.mixture.error_floors`, one curve each;
        default: the book's example (cosine, N = 8, blocks ending at the data,
        teacher gates), computed here.
    labels : sequence of str, optional
        One per fit.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..mixture import FitResult, error_floors, example_mixture

    if fits is None:
        ks = list(range(1, 9))
        fits = [error_floors(Schedule.cosine(8), example_mixture(), [(0, k) for k in ks], num_iters=100)]
        labels = ["teacher gates, blocks ending at the data"]
    fits = list(fits)
    if not fits or not all(isinstance(f, FitResult) for f in fits):
        raise TypeError("fits must be a non-empty list of FitResult (from lineardistill.mixture.error_floors)")
    if ks is None:
        raise ValueError("ks must give the number of merged steps of each student when fits are given")
    ks = [as_int(k, "ks", minimum=1) for k in ks]
    labels = list(labels) if labels is not None else [f"curve {i + 1}" for i in range(len(fits))]
    if len(labels) != len(fits):
        raise ValueError(f"labels must hold one label per fit ({len(fits)}), got {len(labels)}")
    fig, ax, own = _axes(ax, (6, 4))
    for fit, label in zip(fits, labels):
        rel = fit.relative.numpy()
        if len(rel) != len(ks):
            raise ValueError(f"ks must hold one entry per student of each fit ({len(rel)}), got {len(ks)}")
        ax.semilogy(ks[1:], rel[1:], "o-", label=label)
    ax.set(xlabel="number of merged steps $k$", ylabel=r"relative error floor $E|S - T|^2 / \mathrm{Var}\,T$",
           title="one-step student against a k-step composite")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_merge_errors(result=None, *, ax=None):
    """A sequential (BOOT-style) chain of mixture students: per-merge error, accumulated error and its Lipschitz bound.

    Parameters
    ----------
    result : SequentialResult, optional
        From :func:`lineardistill.mixture.sequential_merge`; default the
        book's example (cosine, N = 8), computed here.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..mixture import SequentialResult, example_mixture, sequential_merge

    if result is None:
        result = sequential_merge(Schedule.cosine(8), example_mixture(), lo=-5.0, hi=5.0, num_samples=512,
                                  num_iters=100)
    elif not isinstance(result, SequentialResult):
        raise TypeError(f"result must be a SequentialResult from sequential_merge(), got {type(result).__name__}")
    merged = np.arange(2, result.merge_rms.numel() + 2)
    fig, ax, own = _axes(ax, (6.5, 4))
    ax.semilogy(merged, result.merge_rms, "o-", label="error made at this merge (RMS)")
    ax.semilogy(merged, result.total_rms, "s-", label="error against the teacher (RMS)")
    ax.semilogy(merged, result.bound, "k--", label="Lipschitz bound on it")
    ax.axhline(result.one_shot_rms, color="tab:red", ls=":", label="one-shot student, same training")
    ax.set(xlabel="teacher steps merged so far", ylabel="RMS error at the output",
           title="sequential merging: errors and their amplification")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_block_errors(results=None, *, axes=None):
    """Students replacing blocks of a partition of the steps: per block (left) and all together (right).

    Left, for the finest partition: each block's student error, its effect
    on the output and the Lipschitz bound on that effect. Right: the output
    error with every block a student, and its bound, against the number of blocks.

    Parameters
    ----------
    results : sequence of BlockErrors, optional
        From :func:`lineardistill.mixture.block_errors`, coarsest partition
        first; default the book's example (cosine, N = 8, 1, 2 and 4 blocks), computed here.
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..mixture import BlockErrors, block_errors, example_mixture

    if results is None:
        sch = Schedule.cosine(8)
        results = [block_errors(sch, example_mixture(), parts, lo=-5.0, hi=5.0)
                   for parts in ([(0, 8)], [(4, 8), (0, 4)], [(6, 8), (4, 6), (2, 4), (0, 2)])]
    results = list(results)
    if not results or not all(isinstance(r, BlockErrors) for r in results):
        raise TypeError("results must be a non-empty list of BlockErrors (from lineardistill.mixture.block_errors)")
    fine = max(results, key=lambda r: len(r.blocks))
    fig, grid, own = _panels(axes, 1, 2, (11, 4))
    ax_b, ax_t = grid[0]
    x = np.arange(len(fine.blocks))
    ax_b.bar(x - 0.27, fine.merge_rms, 0.27, label="error of the block's student")
    ax_b.bar(x, fine.output_rms, 0.27, label="its effect on the output")
    ax_b.bar(x + 0.27, fine.lipschitz_after * fine.merge_rms, 0.27, label="Lipschitz bound on the effect")
    ax_b.set_yscale("log")
    ax_b.set_xticks(x, [f"({t} to {s})" for s, t in fine.blocks])
    ax_b.set(xlabel="block (from the noise end)", ylabel="RMS", title="one block at a time")
    ax_b.set_ylim(top=ax_b.get_ylim()[1] * 10)  # room for the legend
    ax_b.legend(fontsize=7, loc="upper left")
    counts = [len(r.blocks) for r in results]
    ax_t.semilogy(counts, [r.total_rms for r in results], "o-", label="output error, every block a student")
    ax_t.semilogy(counts, [r.total_bound for r in results], "k--", label="Lipschitz bound")
    ax_t.set_xticks(counts)
    ax_t.set(xlabel="number of blocks (students)", ylabel="RMS at the output", title="all blocks together")
    ax_t.legend(fontsize=7)
    for ax in (ax_b, ax_t):
        ax.grid(alpha=0.3, which="both")
    return _done(fig, own)
