"""Figures of chapters 1 to 3: the schedules, the denoiser, the DDIM step and the teacher's shrinkage.

The linear-Gaussian reading of DDIM that these figures draw follows
Gao and Li (2025, arXiv:2505.16024); the numbers come from :mod:`lineardistill.teacher`.
Figures by chapter (data function in brackets):

- 1, *Linear Gaussian diffusion*: :func:`plot_schedules`, :func:`plot_denoiser_fit` (:func:`denoiser_samples`);
- 2, *A DDIM step is a projection and a rescaling*: :func:`plot_signal_noise_vectors`,
  :func:`plot_ddim_geometry` (:func:`ddim_geometry`);
- 3, *The teacher shrinks the signal*: :func:`plot_teacher_samples` (:func:`teacher_samples`),
  :func:`plot_teacher_shrinkage` (:func:`teacher_shrinkage_curves`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import DTYPE, as_int, one_of
from ..schedule import Schedule, as_schedule
from ..teacher import (
    denoiser_gain,
    flow_ratios,
    log_cos_angles,
    run_ddim,
    signal_noise_vectors,
    step_angles,
    teacher_multipliers,
    teacher_variance_ratio,
    vector_norms,
)
from ._common import SCHEDULE_NAMES, _axes, _data, _done, _panels, _schedule_list, _variance_list


# ------------------------------------------------------------ chapter 1
def plot_schedules(schedules=SCHEDULE_NAMES, num_steps: int = 1000, *, axes=None):
    """The VP schedules: ``alpha_t``, ``sigma_t`` and the log signal-to-noise ratio against ``t / N``.

    Parameters
    ----------
    schedules : str, Schedule or sequence of them
        The schedules to draw (a Schedule is its own data); names from
        :data:`SCHEDULE_NAMES` are built with ``num_steps`` steps.
    num_steps : int
        Steps of the schedules given by name (at least 2).
    axes : two matplotlib Axes, optional
        Left: the scales; right: the log signal-to-noise ratio.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_schedules("cosine", num_steps=10)
    >>> len(fig.axes[1].lines)
    1
    """
    chosen = _schedule_list(schedules, as_int(num_steps, "num_steps", minimum=2))
    fig, grid, own = _panels(axes, 1, 2, (10, 3.8))
    ax_scale, ax_snr = grid[0]
    styles = ["-", "--", ":", "-."]
    for k, sch in enumerate(chosen):
        frac = np.arange(sch.num_steps + 1) / sch.num_steps
        alphas, sigmas = sch.alphas.cpu().numpy(), sch.sigmas.cpu().numpy()
        style = styles[k % len(styles)]
        ax_scale.plot(frac, alphas, style, color="tab:blue", label=rf"$\alpha_t$ ({sch.name})")
        ax_scale.plot(frac, sigmas, style, color="tab:red", label=rf"$\sigma_t$ ({sch.name})")
        inner = slice(1, -1) if alphas[-1] == 0 else slice(1, None)
        ax_snr.plot(frac[inner], np.log(alphas[inner] ** 2 / sigmas[inner] ** 2), style, color="k",
                    label=sch.name)
    ax_scale.set(xlabel="$t / N$ (0 = data, 1 = noise)", ylabel="scale", title="signal and noise scales")
    ax_snr.set(xlabel="$t / N$", ylabel=r"$\log(\alpha_t^2 / \sigma_t^2)$", title="log signal-to-noise ratio")
    for ax in (ax_scale, ax_snr):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return _done(fig, own)


@dataclass(frozen=True)
class DenoiserSamples:
    """Pairs ``(z_t, x_0)`` at one time and the optimal denoiser's gain: the data of :func:`plot_denoiser_fit`.

    Attributes
    ----------
    schedule : Schedule
    t : int
        The time of the latents.
    lams : list of float
        The variances, one panel each.
    latents, data : torch.Tensor
        ``z_t`` and ``x_0``, shape ``(num_samples, len(lams))``.
    gains : torch.Tensor
        ``g_t`` of each variance (the optimal denoiser ``E[x_0 | z_t] = g_t z_t``), shape ``(len(lams),)``.
    """

    schedule: Schedule
    t: int
    lams: list
    latents: torch.Tensor
    data: torch.Tensor
    gains: torch.Tensor


def denoiser_samples(schedule=None, lams=(0.25, 1.0, 4.0), t: int | None = None, num_samples: int = 2000,
                     seed: int = 0) -> DenoiserSamples:
    """Draw ``x_0 ~ N(0, lam)`` and ``z_t = alpha_t x_0 + sigma_t eps`` for each variance (the optimal denoiser, seen in samples).

    Parameters
    ----------
    schedule : Schedule, optional
        Default ``Schedule.cosine(10)``.
    lams : float or sequence of float
        Positive variances.
    t : int, optional
        Time in ``1..N``; default the middle time ``N // 2``.
    num_samples : int
        Pairs per variance (at least 2).
    seed : int
        Seed of the ``torch.Generator`` that draws them.

    Returns
    -------
    DenoiserSamples

    Examples
    --------
    >>> d = denoiser_samples(Schedule.cosine(4), lams=[1.0], t=2, num_samples=10)
    >>> tuple(d.latents.shape), round(float(d.gains[0]), 4)
    ((10, 1), 0.7071)
    """
    sch = (Schedule.cosine(10) if schedule is None else as_schedule(schedule)).to("cpu")
    t = sch.num_steps // 2 if t is None else as_int(t, "t", minimum=1, maximum=sch.num_steps)
    values = _variance_list(lams)
    count = as_int(num_samples, "num_samples", minimum=2)
    gen = torch.Generator().manual_seed(as_int(seed, "seed"))
    noise = torch.randn(2, count, len(values), generator=gen, dtype=DTYPE)
    lam = torch.tensor(values, dtype=DTYPE)
    x0 = lam.sqrt() * noise[0]
    zt = float(sch.alphas[t]) * x0 + float(sch.sigmas[t]) * noise[1]
    return DenoiserSamples(schedule=sch, t=t, lams=values, latents=zt, data=x0,
                           gains=denoiser_gain(sch, lam)[..., t])


def plot_denoiser_fit(data: DenoiserSamples | None = None, *, axes=None):
    """The samples ``(z_t, x_0)`` of each variance and the optimal denoiser's line ``x_0 = g_t z_t`` through them.

    Parameters
    ----------
    data : DenoiserSamples, optional
        From :func:`denoiser_samples`; default ``denoiser_samples()``.
    axes : Axes, one per variance, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, DenoiserSamples, denoiser_samples)
    fig, grid, own = _panels(axes, 1, len(data.lams), (3.6 * len(data.lams), 3.6))
    sch = data.schedule
    for k, ax in enumerate(grid[0]):
        z, x, gain = data.latents[:, k].numpy(), data.data[:, k].numpy(), float(data.gains[k])
        ax.scatter(z, x, s=3, alpha=0.25, color="tab:gray", label="samples $(z_t, x_0)$")
        line = np.linspace(z.min(), z.max(), 50)
        ax.plot(line, gain * line, color="tab:blue", lw=2, label=rf"$E[x_0 \mid z_t] = {gain:.3f}\, z_t$")
        ax.set(xlabel=rf"$z_t$ (t = {data.t} of {sch.num_steps})", ylabel="$x_0$",
               title=rf"$\lambda = {data.lams[k]:g}$")
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 2
def plot_signal_noise_vectors(schedule=None, lams=(0.25, 1.0, 4.0), *, ax=None):
    """The signal-noise vectors ``v_t = (alpha_t sqrt(lam), sigma_t)`` for a few variances.

    Under VP they lie on the ellipse ``||v||^2 = 1 + alpha^2 (lam - 1)``; at
    ``lam = 1`` on the unit circle (dashed).

    Parameters
    ----------
    schedule : Schedule, optional
        The data of this figure, with ``lams``; default ``Schedule.cosine(8)``.
    lams : float or sequence of float
        Positive variances, one colour each.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    sch = (Schedule.cosine(8) if schedule is None else as_schedule(schedule)).to("cpu")
    values = _variance_list(lams)
    vectors = signal_noise_vectors(sch, torch.tensor(values, dtype=DTYPE)).numpy()
    fig, ax, own = _axes(ax, (6.2, 5.2))
    circle = np.linspace(0, math.pi / 2, 200)
    ax.plot(np.cos(circle), np.sin(circle), "k--", lw=1, label="unit circle")
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(values)))
    for k, lam in enumerate(values):
        vec = vectors[k]
        ax.plot(vec[:, 0], vec[:, 1], "-", color=colors[k], lw=1, alpha=0.6)
        for t in range(vec.shape[0]):
            ax.annotate("", xy=(vec[t, 0], vec[t, 1]), xytext=(0, 0),
                        arrowprops=dict(arrowstyle="->", color=colors[k], lw=1.2, alpha=0.8))
        ax.plot(vec[:, 0], vec[:, 1], "o", ms=3, color=colors[k], label=rf"$\lambda = {lam:g}$")
    for t, text in ((0, "$t=0$"), (sch.num_steps, f"$t=N={sch.num_steps}$")):
        ax.annotate(text, xy=(vectors[-1, t, 0], vectors[-1, t, 1]), xytext=(4, 4),
                    textcoords="offset points", fontsize=8)
    ax.set_aspect("equal")
    ax.set(xlabel=r"signal component $\alpha_t \sqrt{\lambda}$", ylabel=r"noise component $\sigma_t$",
           title=f"signal-noise vectors, {sch.name} schedule, N = {sch.num_steps}")
    ax.set_xlim(left=-0.05)
    ax.set_ylim(bottom=-0.05)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    return _done(fig, own)


@dataclass(frozen=True)
class DDIMGeometry:
    """The pieces of a DDIM step for each variance: the data of :func:`plot_ddim_geometry`.

    Attributes
    ----------
    schedule : Schedule
    lams : list of float
    vectors : torch.Tensor
        ``v_t`` for ``t = 0..N``, shape ``(len(lams), N + 1, 2)``.
    multipliers, flow, angles : torch.Tensor
        ``r_t``, ``||v_{t-1}|| / ||v_t||`` and ``theta_t`` for ``t = 1..N``, shape ``(len(lams), N)``.
    """

    schedule: Schedule
    lams: list
    vectors: torch.Tensor
    multipliers: torch.Tensor
    flow: torch.Tensor
    angles: torch.Tensor


def ddim_geometry(schedule=None, lams=(0.25, 1.0, 4.0)) -> DDIMGeometry:
    """The vectors ``v_t``, multipliers ``r_t``, flow ratios and angles of each DDIM step, per variance.

    Parameters
    ----------
    schedule : Schedule, optional
        Default ``Schedule.cosine(8)``.
    lams : float or sequence of float
        Positive variances.

    Returns
    -------
    DDIMGeometry

    Examples
    --------
    >>> g = ddim_geometry(Schedule.cosine(4), lams=[2.0])
    >>> bool(torch.allclose(g.multipliers, g.flow * torch.cos(g.angles)))
    True
    """
    sch = (Schedule.cosine(8) if schedule is None else as_schedule(schedule)).to("cpu")
    values = _variance_list(lams)
    lam = torch.tensor(values, dtype=DTYPE)
    return DDIMGeometry(schedule=sch, lams=values, vectors=signal_noise_vectors(sch, lam),
                        multipliers=teacher_multipliers(sch, lam), flow=flow_ratios(sch, lam),
                        angles=step_angles(sch, lam))


def plot_ddim_geometry(data: DDIMGeometry | None = None, step: int | None = None, *, axes=None):
    """A DDIM step as a projection and a rescaling, one row per variance.

    Left: the vectors ``v_t``; for one step ``t`` the previous vector
    ``v_{t-1}`` and its projection ``r_t v_t`` on the line of ``v_t``. Right:
    per step, the multiplier ``r_t``, the exact flow ratio
    ``||v_{t-1}|| / ||v_t||`` and ``cos(theta_t)``.

    Parameters
    ----------
    data : DDIMGeometry, optional
        From :func:`ddim_geometry`; default ``ddim_geometry()``.
    step : int, optional
        The step drawn on the left, in ``1..N``; default the middle step ``(N + 1) // 2``.
    axes : Axes, two per variance (a ``len(lams) x 2`` grid), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, DDIMGeometry, ddim_geometry)
    sch, values = data.schedule, data.lams
    n = sch.num_steps
    t = (n + 1) // 2 if step is None else as_int(step, "step", minimum=1, maximum=n)
    vectors, r = data.vectors.numpy(), data.multipliers.numpy()
    flow, theta = data.flow.numpy(), data.angles.numpy()
    steps = np.arange(1, n + 1)
    fig, grid, own = _panels(axes, len(values), 2, (10, 3.9 * len(values)))
    circle = np.linspace(0, math.pi / 2, 200)
    for k, lam_k in enumerate(values):
        ax_vec, ax_fac = grid[k]
        vec = vectors[k]
        ax_vec.plot(vec[:, 0], vec[:, 1], "o-", color="tab:gray", ms=3, lw=1, label="$v_0, \\dots, v_N$")
        ax_vec.plot(np.cos(circle), np.sin(circle), "k--", lw=0.8, alpha=0.5, label="unit circle")
        foot = r[k, t - 1] * vec[t]
        for point, color, label in ((vec[t], "tab:blue", f"$v_{{{t}}}$"),
                                    (vec[t - 1], "tab:green", f"$v_{{{t - 1}}}$"),
                                    (foot, "tab:red", f"$r_{{{t}}} v_{{{t}}}$ (projection)")):
            ax_vec.annotate("", xy=tuple(point), xytext=(0, 0),
                            arrowprops=dict(arrowstyle="->", color=color, lw=2))
            ax_vec.plot(*point, "o", color=color, ms=5, label=label)
        ax_vec.plot([vec[t - 1, 0], foot[0]], [vec[t - 1, 1], foot[1]], ":", color="tab:red", lw=1.5)
        ax_vec.set_aspect("equal")
        ax_vec.set_xlim(left=-0.05)
        ax_vec.set_ylim(bottom=-0.05)
        ax_vec.set(xlabel=r"$\alpha_t \sqrt{\lambda}$", ylabel=r"$\sigma_t$",
                   title=rf"$\lambda = {lam_k:g}$: step {t} $\to$ {t - 1}, $\theta = {theta[k, t - 1]:.3f}$")
        ax_vec.legend(fontsize=7, loc="best")
        ax_vec.grid(alpha=0.3)
        ax_fac.axhline(1.0, color="k", lw=0.8, alpha=0.5)
        ax_fac.plot(steps, r[k], "o-", color="tab:red", label="$r_t$ (DDIM multiplier)")
        ax_fac.plot(steps, flow[k], "s--", color="tab:blue", ms=4,
                    label=r"$\|v_{t-1}\| / \|v_t\|$ (exact flow)")
        ax_fac.plot(steps, np.cos(theta[k]), "^:", color="tab:green", ms=4, label=r"$\cos\theta_t$ (loss)")
        ax_fac.set(xlabel="step $t$ ($z_t \\to z_{t-1}$)", ylabel="factor",
                   title=rf"$r_t = (\|v_{{t-1}}\|/\|v_t\|)\cos\theta_t$, {sch.name}, N = {n}")
        ax_fac.legend(fontsize=7)
        ax_fac.grid(alpha=0.3)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 3
@dataclass(frozen=True)
class TeacherSamples:
    """Outputs of the DDIM teacher from Gaussian starts: the data of :func:`plot_teacher_samples`.

    Attributes
    ----------
    schedule : Schedule
    lam : float
        The data variance.
    outputs : torch.Tensor
        The teacher's outputs ``T z_N``, 1-D.
    ratio : float
        The kept share of the variance, ``prod_t cos^2(theta_t)``.
    """

    schedule: Schedule
    lam: float
    outputs: torch.Tensor
    ratio: float


def teacher_samples(schedule=None, lam: float = 1.0, num_samples: int = 100_000, seed: int = 0) -> TeacherSamples:
    """Run the DDIM teacher from ``z_N ~ N(0, ||v_N||^2)`` and keep its outputs.

    Parameters
    ----------
    schedule : Schedule, optional
        Default ``Schedule.cosine(4)``, few steps so that the shrinkage shows.
    lam : float
        One positive variance.
    num_samples : int
        Starts (at least 2).
    seed : int
        Seed of the ``torch.Generator`` that draws them.

    Returns
    -------
    TeacherSamples

    Examples
    --------
    >>> s = teacher_samples(Schedule.cosine(4), lam=1.0, num_samples=4000, seed=1)
    >>> abs(float(s.outputs.var()) / s.ratio - 1) < 0.1
    True
    """
    sch = (Schedule.cosine(4) if schedule is None else as_schedule(schedule)).to("cpu")
    lam_v = _variance_list(lam, "lam")
    if len(lam_v) != 1:
        raise ValueError(f"lam must be a single variance, got {len(lam_v)} values")
    lam_v = lam_v[0]
    count = as_int(num_samples, "num_samples", minimum=2)
    gen = torch.Generator().manual_seed(as_int(seed, "seed"))
    z_start = float(vector_norms(sch, lam_v)[-1]) * torch.randn(count, generator=gen, dtype=DTYPE)
    return TeacherSamples(schedule=sch, lam=lam_v, outputs=run_ddim(z_start, sch, lam_v),
                          ratio=float(teacher_variance_ratio(sch, lam_v)))


def plot_teacher_samples(data: TeacherSamples | None = None, *, ax=None):
    """A histogram of the teacher's outputs against the densities of ``N(0, lam)`` and ``N(0, lam prod cos^2)``.

    Parameters
    ----------
    data : TeacherSamples, optional
        From :func:`teacher_samples`; default ``teacher_samples()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, TeacherSamples, teacher_samples)
    lam, ratio, sch = data.lam, data.ratio, data.schedule
    fig, ax, own = _axes(ax, (6.4, 4))
    ax.hist(data.outputs.numpy(), bins=120, density=True, color="tab:gray", alpha=0.5,
            label="teacher samples $T z_N$")
    grid = np.linspace(-4 * math.sqrt(lam), 4 * math.sqrt(lam), 400)
    for var, style, color, label in ((lam, "--", "k", r"data $N(0, \lambda)$"),
                                     (lam * ratio, "-", "tab:red",
                                      rf"$N(0, \lambda \prod\cos^2\theta_t)$, ratio {ratio:.3f}")):
        ax.plot(grid, np.exp(-grid**2 / (2 * var)) / math.sqrt(2 * math.pi * var), style, color=color, lw=2,
                label=label)
    ax.set(xlabel="$z_0$", ylabel="density",
           title=rf"teacher output, {sch.name} schedule, N = {sch.num_steps}, $\lambda = {lam:g}$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _done(fig, own)


@dataclass(frozen=True)
class ShrinkageCurves:
    """The variance the teacher keeps and loses against ``N``: the data of :func:`plot_teacher_shrinkage`.

    Attributes
    ----------
    num_steps : list of int
    lams : list of float
    schedules : list of str
    kept, lost : torch.Tensor
        ``prod_t cos^2(theta_t)`` and ``1 - prod_t cos^2(theta_t)`` (the latter computed
        without cancellation), shape ``(len(schedules), len(num_steps), len(lams))``.
    """

    num_steps: list
    lams: list
    schedules: list
    kept: torch.Tensor
    lost: torch.Tensor


def teacher_shrinkage_curves(num_steps=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), lams=(0.25, 1.0, 4.0),
                             schedules=SCHEDULE_NAMES) -> ShrinkageCurves:
    """The teacher's kept and lost share of the variance for each schedule, ``N`` and variance.

    Parameters
    ----------
    num_steps : sequence of int
        At least two step counts, each at least 1.
    lams : float or sequence of float
        Positive variances.
    schedules : str or sequence of str
        Names from :data:`SCHEDULE_NAMES`.

    Returns
    -------
    ShrinkageCurves

    Examples
    --------
    >>> c = teacher_shrinkage_curves(num_steps=(4, 8), lams=[1.0], schedules="cosine")
    >>> round(float(c.kept[0, 0, 0]), 6) == round(math.cos(math.pi / 8) ** 8, 6)
    True
    """
    ns = [as_int(n, "num_steps", minimum=1) for n in np.atleast_1d(np.asarray(num_steps, dtype=object))]
    if len(ns) < 2:
        raise ValueError(f"num_steps must list at least two step counts, got {ns}")
    values = _variance_list(lams)
    if isinstance(schedules, str):
        schedules = [schedules]
    names = [one_of(s, "schedules", SCHEDULE_NAMES) for s in schedules]
    if not names:
        raise ValueError("schedules must name at least one schedule")
    lam = torch.tensor(values, dtype=DTYPE)
    kept = torch.stack([torch.stack([teacher_variance_ratio(Schedule.named(name, n), lam) for n in ns])
                        for name in names])
    lost = torch.stack([torch.stack([-torch.expm1(2 * log_cos_angles(Schedule.named(name, n), lam).sum(-1))
                                     for n in ns]) for name in names])
    return ShrinkageCurves(num_steps=ns, lams=values, schedules=names, kept=kept, lost=lost)


def plot_teacher_shrinkage(data: ShrinkageCurves | None = None, *, axes=None):
    """The kept variance ``prod cos^2(theta_t)`` (left) and the loss ``1 - prod cos^2`` (right, log-log) against ``N``.

    One colour per variance, one line style per schedule; the dotted grey line
    on the right has slope -1 (a ``2 / N`` decay) for comparison.

    Parameters
    ----------
    data : ShrinkageCurves, optional
        From :func:`teacher_shrinkage_curves`; default ``teacher_shrinkage_curves()``.
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, ShrinkageCurves, teacher_shrinkage_curves)
    fig, grid, own = _panels(axes, 1, 2, (11, 4.2))
    ax_keep, ax_gap = grid[0]
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(data.lams)))
    styles = ["-", "--", ":", "-."]
    n_arr = np.array(data.num_steps, dtype=float)
    for j, name in enumerate(data.schedules):
        for k, lam_k in enumerate(data.lams):
            label = rf"{name}, $\lambda = {lam_k:g}$"
            ax_keep.plot(n_arr, data.kept[j, :, k].numpy(), styles[j % 4], marker="o", ms=3, color=colors[k],
                         label=label)
            ax_gap.loglog(n_arr, data.lost[j, :, k].numpy(), styles[j % 4], marker="o", ms=3, color=colors[k],
                          label=label)
    ax_gap.loglog(n_arr, 2.0 / n_arr, ":", color="tab:gray", lw=2, label="slope $-1$ ($2/N$)")
    ax_keep.set_xscale("log", base=2)
    ax_keep.set(xlabel="number of teacher steps $N$", ylabel=r"$\prod_t \cos^2\theta_t$",
                title="variance the teacher keeps (fraction of $\\lambda$)")
    ax_gap.set(xlabel="number of teacher steps $N$", ylabel=r"$1 - \prod_t \cos^2\theta_t$",
               title="variance the teacher loses")
    ax_keep.legend(fontsize=7)
    ax_gap.legend(fontsize=7)
    ax_keep.grid(alpha=0.3)
    ax_gap.grid(alpha=0.3, which="both")
    return _done(fig, own)
