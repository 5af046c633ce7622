"""Figures of the book: data functions that compute, drawing functions that draw.

Each figure of the book comes in two parts. A *data function* computes what
the figure shows and returns it as a small named result (a frozen dataclass
defined here, or a result of the library itself such as
:class:`~lineardistill.phase.PhaseDiagram`); a *drawing function* ``plot_*``
takes that result and draws it. A chapter calls the data function, prints and
checks the numbers, then draws them; a drawing function computes nothing of
the theory itself.

Every ``plot_*`` function

- takes its data as the first argument; left out (``None``), the data
  function runs with its defaults, so that ``plot_x()`` draws the book's
  default figure (``python -m lineardistill figures`` regenerates them so);
- takes ``ax=`` (one panel) or ``axes=`` (several panels: a sequence or array
  of matplotlib Axes, in reading order) to draw into the reader's own figure,
  and then returns that figure; without it, it makes a new figure with an
  opaque white background and returns it;
- attaches nothing to the figure: the numbers live in the data.

Chapters and their figures (data function in brackets):

- 1, diffusion: :func:`plot_schedules`, :func:`plot_denoiser_fit` (:func:`denoiser_samples`);
- 2, DDIM geometry: :func:`plot_signal_noise_vectors`, :func:`plot_ddim_geometry` (:func:`ddim_geometry`);
- 3, teacher shrinkage: :func:`plot_teacher_samples` (:func:`teacher_samples`),
  :func:`plot_teacher_shrinkage` (:func:`teacher_shrinkage_curves`);
- 4, students: :func:`plot_training_agreement`, :func:`plot_init_comparison` (:func:`init_shrinkage`);
- 5, strategies: :func:`plot_merge_tree`, :func:`plot_strategy_comparison` (:func:`strategy_curves`);
- 6, optimal merging: :func:`plot_dp_timing` (:func:`dp_timing`), :func:`plot_cost_front` (:func:`cost_front`);
- 7, phase transition: :func:`plot_lambda_c` (:func:`lambda_c_curves`), :func:`plot_optimal_tree_scan`
  (:func:`optimal_tree_scan`), :func:`plot_phase_diagram` and :func:`plot_phase_by_init`
  (:func:`lineardistill.phase.phase_diagram`), :func:`plot_strategy_snapshots` (:func:`strategy_snapshots`);
- 8, mixtures: :func:`plot_mixture_denoiser` (:func:`mixture_denoiser_curves`), :func:`plot_composite_pieces`
  (:func:`composite_piece_curves`), :func:`plot_error_floors`, :func:`plot_merge_errors`,
  :func:`plot_block_errors` (the results of :mod:`lineardistill.mixture`);
- 9, real spectra: :func:`plot_spectra`, :func:`plot_strategy_w2`;
- 10, practice: :func:`plot_practice_map` (:func:`practice_map`), :func:`plot_equal_budget`
  (:func:`equal_budget_errors`).

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, (left, right) = plt.subplots(1, 2)
>>> plot_merge_tree("((3,2),1)", ax=left) is fig
True
>>> plt.close(fig)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from ._checks import DTYPE, as_int, as_tensor, one_of
from .schedule import VP_SCHEDULE_NAMES, Schedule, as_schedule
from .teacher import (
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

SCHEDULE_NAMES = VP_SCHEDULE_NAMES
"""Schedules that figure functions accept by name (the VP names of :meth:`Schedule.named`)."""

PHASE_COLORS = {"BOOT": "tab:blue", "mixed": "tab:orange", "one-shot": "tab:green", "tie": "0.85",
                "unresolved": "black"}
"""Colour of each phase of :data:`lineardistill.phase.PHASES` in every figure."""

PRACTICE_COLORS = {"vanilla": "tab:green", "boot": "tab:blue", "consistency": "tab:brown", "progressive": "tab:purple",
                   "tract": "tab:orange"}
"""Colour of each named strategy of :data:`lineardistill.trees.STRATEGIES` in the strategy figures."""


# ------------------------------------------------------------ helpers
def _white(fig):
    fig.patch.set_facecolor("white")
    fig.patch.set_alpha(1.0)
    for ax in fig.axes:
        ax.set_facecolor("white")
    return fig


def _axes(ax, figsize):
    """``(fig, ax, own)``: a new figure and axes (``own``), or the figure of the Axes given as ``ax``."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax, True
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax.figure, ax, False


def _panels(axes, rows: int, cols: int, figsize, **kwargs):
    """``(fig, grid, own)``: ``grid`` is a ``rows x cols`` array of Axes, new (``own``) or the caller's ``axes``."""
    if axes is None:
        fig, grid = plt.subplots(rows, cols, figsize=figsize, squeeze=False, **kwargs)
        return fig, grid, True
    from matplotlib.axes import Axes

    flat = [axes] if isinstance(axes, (Axes, str)) else list(np.ravel(np.asarray(axes, dtype=object)))
    bad = [a for a in flat if not isinstance(a, Axes)]
    if bad:
        raise TypeError(f"axes must hold matplotlib Axes, got {type(bad[0]).__name__}")
    if len(flat) != rows * cols:
        raise ValueError(f"axes must hold {rows * cols} Axes ({rows} x {cols}) for this figure, got {len(flat)}")
    return flat[0].figure, np.array(flat, dtype=object).reshape(rows, cols), False


def _done(fig, own: bool, rect=None):
    """Lay out and whiten a figure this module made; leave a caller's figure to the caller."""
    if own:
        fig.tight_layout(**({} if rect is None else {"rect": rect}))
        return _white(fig)
    return fig


def _data(data, kind, maker, name="data"):
    """``data`` checked to be a ``kind``, or ``maker()`` (the defaults) when it is None."""
    if data is None:
        return maker()
    if not isinstance(data, kind):
        raise TypeError(f"{name} must be a {kind.__name__} (from {maker.__name__}()), got {type(data).__name__}")
    return data


def _named_schedule(schedule, num_steps: int) -> Schedule:
    """A :class:`Schedule` from a name in :data:`SCHEDULE_NAMES` (via :meth:`Schedule.named`) or a Schedule itself."""
    if isinstance(schedule, Schedule):
        return schedule
    name = one_of(schedule, "schedule", SCHEDULE_NAMES)
    return Schedule.named(name, num_steps)


def _variance_list(lams, name: str = "lams") -> list[float]:
    values = as_tensor(lams, name, positive=True).reshape(-1)
    if values.numel() == 0:
        raise ValueError(f"{name} must hold at least one variance, got an empty list")
    return [float(v) for v in values]


def _log_grid(values, name, default, **checks):
    """A 1-D float64 grid: ``values`` checked, or ``default`` when None."""
    grid = default if values is None else as_tensor(values, name, **checks)
    grid = grid.reshape(-1)
    if grid.numel() == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty list")
    return grid


def _schedule_list(schedules, num_steps: int, name: str = "schedules") -> list[Schedule]:
    if isinstance(schedules, (str, Schedule)):
        schedules = [schedules]
    chosen = [_named_schedule(s, num_steps) if isinstance(s, Schedule) else
              Schedule.named(one_of(s, name, SCHEDULE_NAMES), num_steps) for s in schedules]
    if not chosen:
        raise ValueError(f"{name} must name at least one schedule")
    return chosen


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


# ------------------------------------------------------------ chapter 4 (students)
def plot_training_agreement(lams, closed, learned, tolerance=None, curves=None, steps=None, ctaus=None,
                            title="trained students against the closed form", *, axes=None):
    """Learned multipliers (markers) on the closed form (lines) against the variance, and loss curves.

    Parameters
    ----------
    lams : sequence of float
        Positive variances.
    closed, learned : array_like
        The closed-form (warm-started merge) and the trained multipliers, shape
        ``(len(lams), len(ctaus))`` or ``(len(lams),)``.
    tolerance : array_like, optional
        Relative band drawn around the closed form, shaped like ``closed``.
    curves : array_like, optional
        The root student's loss curves, shape ``(records, len(lams), ...)``
        (the last column is drawn); adds a second panel.
    steps : array_like, optional
        The gradient steps of the records in ``curves``.
    ctaus : sequence of float, optional
        The budgets, for the legend.
    title : str
    axes : one matplotlib Axes (two with ``curves``), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    lam = as_tensor(lams, "lams", positive=True).reshape(-1).numpy()
    closed = as_tensor(closed, "closed").reshape(len(lam), -1).numpy()
    learned = as_tensor(learned, "learned").reshape(len(lam), -1).numpy()
    if learned.shape != closed.shape:
        raise ValueError(f"learned must have the shape of closed {closed.shape}, got {learned.shape}")
    budgets = list(ctaus) if ctaus is not None else list(range(closed.shape[1]))
    if len(budgets) != closed.shape[1]:
        raise ValueError(f"ctaus must hold one budget per column of closed ({closed.shape[1]}), got {len(budgets)}")
    labels = [f"c tau = {float(c):g}" for c in budgets]
    band = None if tolerance is None else as_tensor(tolerance, "tolerance").reshape(len(lam), -1).numpy()
    panels = 2 if curves is not None else 1
    fig, grid, own = _panels(axes, 1, panels, (5.2 * panels, 3.8))
    ax = grid[0, 0]
    colors = plt.cm.tab10(np.arange(closed.shape[1]) % 10)
    for j in range(closed.shape[1]):
        ax.plot(lam, closed[:, j], "-", color=colors[j], label=f"closed form, {labels[j]}")
        if band is not None:
            ax.fill_between(lam, closed[:, j] * (1 - band[:, j]), closed[:, j] * (1 + band[:, j]), color=colors[j],
                            alpha=0.2)
        ax.plot(lam, learned[:, j], "o", ms=3.5, color=colors[j], mfc="none", label=f"trained in torch, {labels[j]}")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel="final multiplier $m$", title=title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    if curves is not None:
        ax = grid[0, 1]
        c = as_tensor(curves, "curves")
        x = np.arange(c.shape[0]) if steps is None else as_tensor(steps, "steps").numpy()
        c = c.reshape(c.shape[0], len(lam), -1)[:, :, -1].numpy()
        for i in sorted({0, len(lam) // 2, len(lam) - 1}):
            ax.plot(x, np.maximum(c[:, i], 1e-300), label=rf"$\lambda = {lam[i]:.3g}$")
        ax.set_yscale("log")
        ax.set(xlabel="gradient step", ylabel="Monte Carlo loss of the root student", title="loss curves")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


@dataclass(frozen=True)
class InitShrinkage:
    """The shrinkage ``m / T`` of one tree for each starting operator: the data of :func:`plot_init_comparison`.

    Attributes
    ----------
    schedule : Schedule
    tree : MergeTree
    ctau : float
    lams : torch.Tensor
        The variances, 1-D.
    ratios : dict
        Initialization name (:data:`lineardistill.problem.INITS`) -> ``m / T`` over ``lams``.
    """

    schedule: Schedule
    tree: object
    ctau: float
    lams: torch.Tensor
    ratios: dict


def init_shrinkage(schedule="cosine", num_steps: int = 8, tree=None, ctau: float = 1.0, lams=None) -> InitShrinkage:
    """The shrinkage ``m / T`` of one merge tree against the variance, for every student initialization.

    Parameters
    ----------
    schedule : str or Schedule
        A name from :data:`SCHEDULE_NAMES` (built with ``num_steps``) or a Schedule.
    num_steps : int
    tree : MergeTree or str, optional
        Default BOOT's chain.
    ctau : float
        The training budget of each merge (at least 0).
    lams : array_like, optional
        Positive variances; default 200 log-spaced from 0.05 to 100.

    Returns
    -------
    InitShrinkage

    Examples
    --------
    >>> s = init_shrinkage("cosine", 4, ctau=0.0, lams=[0.5, 2.0])
    >>> [float(v) for v in s.ratios["zero"]]        # no training: every student keeps its start, here 0
    [0.0, 0.0]
    """
    from .problem import INITS
    from .trees import MergeTree, merge_value, teacher_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    tree = MergeTree.boot(sch.num_steps) if tree is None else (
        tree if isinstance(tree, MergeTree) else MergeTree.parse(tree, sch.num_steps))
    lam = _log_grid(lams, "lams", torch.logspace(math.log10(0.05), 2, 200, dtype=DTYPE), positive=True)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    T = teacher_value(sch, lam)
    ratios = {init: merge_value(tree, sch, lam, ctau, init) / T for init in INITS}
    return InitShrinkage(schedule=sch, tree=tree, ctau=ctau, lams=lam, ratios=ratios)


def plot_init_comparison(data: InitShrinkage | None = None, *, ax=None):
    """The shrinkage ``m / T`` of one tree against the variance, one line per starting operator.

    Parameters
    ----------
    data : InitShrinkage, optional
        From :func:`init_shrinkage`; default ``init_shrinkage()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, InitShrinkage, init_shrinkage)
    sch, tree = data.schedule, data.tree
    fig, ax, own = _axes(ax, (6, 3.8))
    for init, ratio in data.ratios.items():
        ax.plot(data.lams.numpy(), ratio.numpy(), label=init)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel="shrinkage $m / T$",
           title=f"{tree if tree.num_steps <= 8 else 'tree'}: {sch.name}, N = {sch.num_steps}, c tau = {data.ctau:g}")
    ax.legend(title="start", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


# ------------------------------------------------------------ chapter 5 (strategies) and merge trees
def _draw_tree(ax, tree, title=None, color="k"):
    """Draw a merge tree on ``ax``: leaves N..1 from left to right, each merge above its children."""
    n_hi, n_lo = tree.hi, tree.lo
    pos = {}
    for sub in tree.postorder():
        if sub.is_leaf:
            pos[id(sub)] = (n_hi - sub.step, 0.0)
        else:
            xs = [pos[id(c)][0] for c in sub.children]
            pos[id(sub)] = (0.5 * (xs[0] + xs[-1]), float(sub.depth))
            for c in sub.children:
                ax.plot([pos[id(sub)][0], pos[id(c)][0]], [pos[id(sub)][1], pos[id(c)][1]], "-", color=color, lw=1.2)
    leaves = [pos[id(s)] for s in tree.postorder() if s.is_leaf]
    ax.plot([p[0] for p in leaves], [p[1] for p in leaves], "o", color="tab:red", ms=3 if len(leaves) > 16 else 5)
    nodes = [pos[id(s)] for s in tree.postorder() if not s.is_leaf]
    ax.plot([p[0] for p in nodes], [p[1] for p in nodes], "s", color=color, ms=3 if len(leaves) > 16 else 5)
    if len(leaves) <= 16:
        for s in tree.postorder():
            if s.is_leaf:
                ax.annotate(str(s.step), pos[id(s)], textcoords="offset points", xytext=(0, -11), ha="center",
                            fontsize=7)
    ax.set_xlim(-0.8, n_hi - n_lo - 0.2)
    ax.set_ylim(-0.9, max(tree.depth, 1) + 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=8)


def plot_merge_tree(tree="(((4,3),2),1)", title=None, *, ax=None):
    """One merge tree: leaves from the noisy end on the left, each merge drawn above its children.

    Parameters
    ----------
    tree : MergeTree or str
        The tree or its text form.
    title : str, optional
        Default: the tree's text (for up to 24 steps).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_merge_tree("((3,2),1)")
    >>> len(fig.axes[0].lines)    # 4 edges, the leaves, the merges
    6
    """
    from .trees import MergeTree

    tree = tree if isinstance(tree, MergeTree) else MergeTree.parse(tree)
    fig, ax, own = _axes(ax, (max(3.0, 0.35 * tree.num_steps + 1.5), 2.4))
    _draw_tree(ax, tree, title or (str(tree) if tree.num_steps <= 24 else f"tree over {tree.num_steps} steps"))
    return _done(fig, own)


@dataclass(frozen=True)
class StrategyCurves:
    """The multiplier ``m`` and ``W2`` of every named strategy: the data of :func:`plot_strategy_comparison`.

    Attributes
    ----------
    schedule : Schedule
    init : str
    lams, ctaus : torch.Tensor
        The variances and the budgets, 1-D.
    teacher : torch.Tensor
        ``T`` over ``lams``.
    values, w2 : dict
        Strategy label -> ``m`` and ``W2 = ||v_N|| |m - T|``, shape ``(len(ctaus), len(lams))``.
    """

    schedule: Schedule
    init: str
    lams: torch.Tensor
    ctaus: torch.Tensor
    teacher: torch.Tensor
    values: dict
    w2: dict


def strategy_curves(schedule="cosine", num_steps: int = 16, ctaus=(0.3, 3.0), lams=None, init: str = "warm",
                    segments: int = 4) -> StrategyCurves:
    """``m`` and ``W2`` of every named strategy (TRACT with ``segments`` segments) against the variance, per budget.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    ctaus : float or sequence of float
        Positive budgets, one column of panels each.
    lams : array_like, optional
        Positive variances; default 240 log-spaced from 0.05 to 100.
    init : str
        A student initialization (:data:`lineardistill.problem.INITS`).
    segments : int
        TRACT's number of segments (1 to N).

    Returns
    -------
    StrategyCurves
    """
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value, teacher_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    budgets = torch.tensor(_variance_list(ctaus, "ctaus"), dtype=DTYPE)
    segments = as_int(segments, "segments", minimum=1, maximum=sch.num_steps)
    lam = _log_grid(lams, "lams", torch.logspace(math.log10(0.05), 2, 240, dtype=DTYPE), positive=True)
    values, dists = {}, {}
    for name in STRATEGIES:
        tree = MergeTree.tract(sch.num_steps, segments) if name == "tract" else MergeTree.named(name, sch.num_steps)
        label = f"tract ({segments} segments)" if name == "tract" else name
        m = merge_value(tree, sch, lam[None, :], budgets[:, None], init)
        values[label] = m
        dists[label] = w2(m, sch, lam[None, :], dim=None)
    return StrategyCurves(schedule=sch, init=init, lams=lam, ctaus=budgets, teacher=teacher_value(sch, lam),
                          values=values, w2=dists)


def plot_strategy_comparison(data: StrategyCurves | None = None, *, axes=None):
    """``W2`` (top) and shrinkage ``m / T`` (bottom) against the variance for every named strategy, one column per budget.

    Parameters
    ----------
    data : StrategyCurves, optional
        From :func:`strategy_curves`; default ``strategy_curves()``.
    axes : Axes, a ``2 x len(ctaus)`` grid, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, StrategyCurves, strategy_curves)
    sch, budgets = data.schedule, data.ctaus.tolist()
    fig, grid, own = _panels(axes, 2, len(budgets), (5.2 * len(budgets), 6.4), sharex=True)
    x, T = data.lams.numpy(), data.teacher.numpy()
    for j, ctau in enumerate(budgets):
        for k, label in enumerate(data.values):
            style = {"color": plt.cm.tab10(k), "lw": 1.5, "ls": ["-", "--", "-.", ":", (0, (5, 1))][k % 5]}
            grid[0, j].plot(x, np.maximum(data.w2[label][j].numpy(), 1e-300), label=label, **style)
            grid[1, j].plot(x, data.values[label][j].numpy() / T, label=label, **style)
        grid[0, j].set_yscale("log")
        grid[0, j].set(ylabel=r"$W_2 = \|v_N\|\,|m - T|$", title=f"budget c tau = {ctau:g}")
        grid[1, j].axhline(1.0, color="k", lw=0.8)
        grid[1, j].set(xlabel=r"variance $\lambda$", ylabel="shrinkage $m / T$")
        for ax in grid[:, j]:
            ax.set_xscale("log")
            ax.grid(alpha=0.3, which="both")
    grid[0, 0].legend(fontsize=7)
    if own:
        fig.suptitle(f"named strategies, {sch.name} schedule, N = {sch.num_steps}, {data.init} start", fontsize=10)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 6 (optimal merging)
@dataclass(frozen=True)
class DPTiming:
    """Run times of the interval DP measured by :func:`dp_timing`: the data of :func:`plot_dp_timing`.

    Attributes
    ----------
    sizes : list of int
        The numbers of teacher steps ``N`` timed.
    times : list of float
        The best of ``repeats`` wall-clock times, in seconds, per size.
    slope : float
        The least-squares slope of ``log time`` against ``log N`` (NaN for one size).
    """

    sizes: list
    times: list
    slope: float


def dp_timing(sizes=(16, 32, 64, 128, 256), repeats: int = 1) -> DPTiming:
    """Time the interval DP (one variance, cosine schedule) for each ``N`` in ``sizes`` on this machine.

    A first call on a small schedule compiles or loads the DP's kernel, so
    that no size pays for it.

    Parameters
    ----------
    sizes : sequence of int
        Numbers of steps (each at least 2).
    repeats : int
        Runs per size; the best is kept.

    Returns
    -------
    DPTiming
    """
    import time

    from .dp import interval_dp

    ns = [as_int(n, "sizes", minimum=2) for n in sizes]
    if not ns:
        raise ValueError("sizes must hold at least one number of steps")
    reps = as_int(repeats, "repeats", minimum=1)
    interval_dp(Schedule.cosine(4), 0.5, 1.0, "min")
    times = []
    for n in ns:
        sch = Schedule.cosine(n)
        best = math.inf
        for _ in range(reps):
            start = time.perf_counter()
            interval_dp(sch, 0.5, 1.0, "min")
            best = min(best, time.perf_counter() - start)
        times.append(best)
    slope = float(np.polyfit(np.log(ns), np.log(times), 1)[0]) if len(ns) > 1 else float("nan")
    return DPTiming(sizes=ns, times=times, slope=slope)


def plot_dp_timing(timing: DPTiming | None = None, *, ax=None):
    """The interval DP's run time against ``N`` (log-log), the fitted power law and a slope-3 reference.

    Parameters
    ----------
    timing : DPTiming, optional
        From :func:`dp_timing`; default: ``dp_timing()`` measures now.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    timing = _data(timing, DPTiming, dp_timing, "timing")
    ns, times, slope = np.array(timing.sizes, dtype=float), timing.times, timing.slope
    fig, ax, own = _axes(ax, (5.5, 3.8))
    ax.loglog(ns, times, "o", label="best of the runs per size")
    if math.isfinite(slope):
        ax.loglog(ns, times[-1] * (ns / ns[-1]) ** slope, "-", label=f"fitted slope {slope:.2f}")
    ax.loglog(ns, times[-1] * (ns / ns[-1]) ** 3, ":", color="tab:gray", label="slope 3")
    ax.set_xticks(ns, [str(int(n)) for n in ns])
    ax.minorticks_off()
    ax.set(xlabel="number of teacher steps $N$", ylabel="seconds", title="interval DP, one variance")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


@dataclass(frozen=True)
class CostFront:
    """Summed ``W2`` of a shared tree against its number of merges: the data of :func:`plot_cost_front`.

    Attributes
    ----------
    schedule : Schedule
    lams : list of float
        The variances of the coordinates sharing the tree.
    ctau : float
    init : str
    front : list of tuple
        ``(merges, summed W2, tree)`` of the Pareto DP (:meth:`ParetoResult.cost_front`).
    named : dict
        Named strategy -> ``(merges, summed W2)``.
    """

    schedule: Schedule
    lams: list
    ctau: float
    init: str
    front: list
    named: dict


def training_cost_front(schedule="cosine", num_steps: int = 7, lams=(0.5, 1.5, 3.0), ctau: float = 0.5,
                        init: str = "warm", *, result=None) -> CostFront:
    """The best summed ``W2`` of one tree shared by several variances, for each number of merges (training runs).

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : sequence of float
        Positive variances of the coordinates.
    ctau : float
        The budget of each merge.
    init : str
    result : ParetoResult, optional
        ``pareto_tree(schedule, lams, ctau, init, merges=True)`` already
        computed for the same arguments; without it the Pareto DP runs here.

    Returns
    -------
    CostFront

    Examples
    --------
    >>> c = training_cost_front("cosine", 4, lams=(0.5, 2.0))
    >>> c.front[0][0], c.named["vanilla"][0]    # the fewest merges: one, as one-shot
    (1, 1)
    """
    from .dp import ParetoResult, pareto_tree
    from .problem import INITS
    from .trees import MergeTree, merge_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    init = one_of(init, "init", INITS)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    if result is None:
        result = pareto_tree(sch, values, ctau, init, merges=True)
    elif not isinstance(result, ParetoResult):
        raise TypeError(f"result must be a ParetoResult from pareto_tree(..., merges=True), got "
                        f"{type(result).__name__}")
    lam = torch.tensor(values, dtype=DTYPE)
    named = {}
    for name in ("vanilla", "boot", "progressive", "consistency"):
        tree = MergeTree.named(name, sch.num_steps)
        named[name] = (tree.num_merges, float(w2(merge_value(tree, sch, lam, ctau, init), sch, lam)))
    return CostFront(schedule=sch, lams=values, ctau=ctau, init=init, front=result.cost_front(), named=named)


def plot_cost_front(data: CostFront | None = None, *, ax=None):
    """The Pareto front of summed ``W2`` against the number of merges, with the named strategies as points.

    Parameters
    ----------
    data : CostFront, optional
        From :func:`training_cost_front`; default ``training_cost_front()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, CostFront, training_cost_front)
    sch = data.schedule
    fig, ax, own = _axes(ax, (6, 3.8))
    merges, dists = [f[0] for f in data.front], [f[1] for f in data.front]
    ax.step(merges, dists, where="post", color="tab:purple", label="Pareto front")
    ax.plot(merges, dists, "o", color="tab:purple")
    for (name, (count, dist)), marker in zip(data.named.items(), "s^Dv<>"):
        ax.plot([count], [dist], marker, ls="none", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="number of merges (training runs)", ylabel="summed $W_2$",
           title=rf"{sch.name}, $N = {sch.num_steps}$, $\lambda \in$ {data.lams}, $c\tau = {data.ctau:g}$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 7 (phase transition)
@dataclass(frozen=True)
class LambdaCCurves:
    """``lambda_c`` against ``N`` per schedule: the data of :func:`plot_lambda_c`.

    Attributes
    ----------
    num_steps : list of int
    values : dict
        Schedule name -> ``lambda_c`` for each ``N`` (a list of float).
    """

    num_steps: list
    values: dict


def lambda_c_curves(num_steps=(2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256),
                    schedules=SCHEDULE_NAMES) -> LambdaCCurves:
    """:func:`lineardistill.phase.lambda_c` of each schedule for each number of steps.

    Parameters
    ----------
    num_steps : sequence of int
        Each at least 2.
    schedules : str or sequence of str
        Names from :data:`SCHEDULE_NAMES`.

    Returns
    -------
    LambdaCCurves

    Examples
    --------
    >>> c = lambda_c_curves(num_steps=(4,), schedules="cosine")
    >>> round(c.values["cosine"][0], 6) == round(1 + 1 / math.cos(math.pi / 8), 6)
    True
    """
    from .phase import lambda_c

    ns = [as_int(n, "num_steps", minimum=2) for n in np.atleast_1d(np.asarray(num_steps, dtype=object))]
    if not ns:
        raise ValueError("num_steps must hold at least one number of steps")
    if isinstance(schedules, str):
        schedules = [schedules]
    names = [one_of(s, "schedules", SCHEDULE_NAMES) for s in schedules]
    if not names:
        raise ValueError("schedules must name at least one schedule")
    return LambdaCCurves(num_steps=ns, values={name: [lambda_c(Schedule.named(name, n)) for n in ns]
                                               for name in names})


def plot_lambda_c(data: LambdaCCurves | None = None, *, ax=None):
    """``lambda_c`` against ``N`` for each schedule; it approaches 2 from above.

    Parameters
    ----------
    data : LambdaCCurves, optional
        From :func:`lambda_c_curves`; default ``lambda_c_curves()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, LambdaCCurves, lambda_c_curves)
    fig, ax, own = _axes(ax, (6, 3.8))
    for (name, values), marker in zip(data.values.items(), "os^v"):
        ax.plot(data.num_steps, values, marker=marker, ms=4, label=name)
    ax.axhline(2.0, color="tab:gray", ls=":", label=r"$\lambda = 2$")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="number of teacher steps $N$", ylabel=r"$\lambda_c$",
           title=r"threshold above which every step but the last enlarges the signal")
    ax.legend()
    ax.grid(alpha=0.3)
    return _done(fig, own)


def _phase_axes(ax, diagram, title):
    from matplotlib.colors import ListedColormap

    from .phase import PHASES

    cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES])
    lam = diagram.lams.cpu().numpy()
    ctau = diagram.ctaus.cpu().numpy()
    ax.pcolormesh(lam, ctau, diagram.code.T.cpu().numpy(), cmap=cmap, vmin=-0.5, vmax=len(PHASES) - 0.5,
                  shading="nearest", rasterized=True)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    if math.isfinite(diagram.lambda_c):
        ax.axvline(diagram.lambda_c, color="k", lw=0.8, ls=":")
    ax.set(xlabel=r"variance $\lambda$", ylabel=r"budget $c\tau$", title=title)


def _phase_legend(fig, used):
    from matplotlib.patches import Patch

    handles = [Patch(color=PHASE_COLORS[p], label=p) for p in used]
    handles += [plt.Line2D([], [], color="k", ls="--", lw=0.8, label=r"$\lambda = 1$"),
                plt.Line2D([], [], color="k", ls=":", lw=0.8, label=r"$\lambda = \lambda_c$")]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)


def _diagram_list(diagrams, default):
    from .phase import PhaseDiagram

    diagrams = default() if diagrams is None else list(diagrams)
    if not diagrams or not all(isinstance(d, PhaseDiagram) for d in diagrams):
        raise TypeError("diagrams must be a non-empty list of PhaseDiagram (from lineardistill.phase_diagram)")
    return diagrams


def _phase_figure(diagrams, titles, axes, panel_size, rect):
    from .phase import PHASES

    fig, grid, own = _panels(axes, 1, len(diagrams), (panel_size[0] * len(diagrams), panel_size[1]))
    used = set()
    for ax, diagram, title in zip(grid[0], diagrams, titles):
        used |= {PHASES[int(c)] for c in diagram.code.unique()}
        _phase_axes(ax, diagram, title)
    if own:
        _phase_legend(fig, [p for p in PHASES if p in used])
    return _done(fig, own, rect)


def plot_phase_diagram(diagrams=None, *, axes=None):
    """The class of the W2-optimal tree over (variance, budget), one panel per diagram (the book: one per ``N``).

    Parameters
    ----------
    diagrams : sequence of PhaseDiagram, optional
        From :func:`lineardistill.phase.phase_diagram`; default the cosine
        schedule with N = 8, 16, 32 on 121 variances from 0.1 to 10 and 49
        budgets from 0.01 to 10, warm start.
    axes : Axes, one per diagram, optional
        Drawn into without the shared legend of the phases.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .phase import phase_diagram

    def default():
        lams = torch.logspace(-1, 1, 121, dtype=DTYPE)
        ctaus = torch.logspace(-2, 1, 49, dtype=DTYPE)
        return [phase_diagram(Schedule.cosine(n), lams, ctaus) for n in (8, 16, 32)]

    diagrams = _diagram_list(diagrams, default)
    titles = [rf"{d.schedule.name}, $N = {d.schedule.num_steps}$, $\lambda_c = {d.lambda_c:.4g}$" for d in diagrams]
    return _phase_figure(diagrams, titles, axes, (4.2, 4.0), (0, 0.07, 1, 1))


def plot_phase_by_init(diagrams=None, *, axes=None):
    """The phase diagram for each student initialization: only the warm start shows the transition.

    Parameters
    ----------
    diagrams : sequence of PhaseDiagram, optional
        One per initialization; default the cosine schedule with N = 8 on
        61 variances from 0.1 to 10 and 25 budgets from 0.01 to 10, for every
        initialization of :data:`lineardistill.problem.INITS`.
    axes : Axes, one per diagram, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .phase import phase_diagram
    from .problem import INITS

    def default():
        lams = torch.logspace(-1, 1, 61, dtype=DTYPE)
        ctaus = torch.logspace(-2, 1, 25, dtype=DTYPE)
        return [phase_diagram(Schedule.cosine(8), lams, ctaus, init) for init in INITS]

    diagrams = _diagram_list(diagrams, default)
    return _phase_figure(diagrams, [f"{d.init} start" for d in diagrams], axes, (3.3, 3.6), (0, 0.08, 1, 1))


@dataclass(frozen=True)
class TreeScan:
    """The optimum across the variance at one budget: the data of :func:`plot_optimal_tree_scan`.

    Attributes
    ----------
    schedule : Schedule
    ctau : float
    init : str
    lams : torch.Tensor
        The variances of the sweep, 1-D.
    phases : Phases
        :func:`lineardistill.phase.classify` over ``lams``.
    show : list of float
        The variances whose optimal trees are drawn.
    optima : list of OptimalTree
        :func:`lineardistill.dp.optimal_tree` at each of ``show``.
    lambda_c : float
    """

    schedule: Schedule
    ctau: float
    init: str
    lams: torch.Tensor
    phases: object
    show: list
    optima: list
    lambda_c: float


def optimal_tree_scan(schedule="cosine", num_steps: int = 8, ctau: float = 1.0, lams=None, init: str = "warm",
                      show=(0.6, 1.2, 1.35, 1.6, 3.0)) -> TreeScan:
    """Classify the optimum over a sweep of variances, and find the optimal tree at a few of them.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    ctau : float
        The budget of each merge.
    lams : array_like, optional
        Positive variances of the sweep; default 121 log-spaced from 0.32 to 5.
    init : str
    show : sequence of float
        Positive variances whose optimal trees are kept (and drawn).

    Returns
    -------
    TreeScan
    """
    from .dp import optimal_tree
    from .phase import classify, lambda_c
    from .problem import INITS

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    lams = _log_grid(lams, "lams", torch.logspace(-0.5, 0.7, 121, dtype=DTYPE), positive=True)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    shown = _variance_list(show, "show")
    return TreeScan(schedule=sch, ctau=ctau, init=init, lams=lams, phases=classify(sch, lams, ctau, init),
                    show=shown, optima=[optimal_tree(sch, lam, ctau, init) for lam in shown],
                    lambda_c=lambda_c(sch))


def plot_optimal_tree_scan(data: TreeScan | None = None, *, axes=None):
    """Distances of BOOT, one-shot and the optimum across the variance, shaded by class, and the optimal trees.

    Parameters
    ----------
    data : TreeScan, optional
        From :func:`optimal_tree_scan`; default ``optimal_tree_scan()``.
    axes : sequence of Axes, optional
        ``1 + len(data.show)`` Axes: the sweep, then one per drawn tree.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .phase import PHASES

    data = _data(data, TreeScan, optimal_tree_scan)
    if axes is None:
        fig = plt.figure(figsize=(11, 6.2))
        layout = fig.add_gridspec(2, len(data.show), height_ratios=[1.4, 1])
        axes = [fig.add_subplot(layout[0, :])] + [fig.add_subplot(layout[1, k]) for k in range(len(data.show))]
        own = True
    else:
        fig, grid, own = _panels(axes, 1, 1 + len(data.show), None)
        axes = list(grid[0])
    ax, phases, sch = axes[0], data.phases, data.schedule
    T = phases.teacher.numpy()
    x = data.lams.numpy()
    ax.semilogy(x, phases.boot.numpy() / T, color=PHASE_COLORS["BOOT"], label="BOOT chain")
    ax.semilogy(x, phases.one_shot.numpy() / T, color=PHASE_COLORS["one-shot"], label="one-shot")
    ax.semilogy(x, np.maximum(phases.best.numpy() / T, 1e-17), "k--", lw=1, label="optimal tree")
    edges = np.concatenate([[x[0]], np.sqrt(x[1:] * x[:-1]), [x[-1]]])
    labelled = set()
    for i, k in enumerate(phases.code.numpy()):
        name = PHASES[int(k)]
        ax.axvspan(edges[i], edges[i + 1], color=PHASE_COLORS[name], alpha=0.18, lw=0,
                   label=None if name in labelled else f"optimal class: {name}")
        labelled.add(name)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.axvline(data.lambda_c, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel=r"$|m - T| / T$",
           title=f"{sch.name}, N = {sch.num_steps}, c tau = {data.ctau:g}: dashed lambda = 1, dotted lambda_c")
    ax.legend(fontsize=8, ncol=2)
    for tree_ax, lam, best in zip(axes[1:], data.show, data.optima):
        _draw_tree(tree_ax, best.tree, rf"$\lambda = {lam:g}$")
    return _done(fig, own)


@dataclass(frozen=True)
class StrategySnapshots:
    """Per variance, the optimal tree and the ``W2`` of each strategy: the data of :func:`plot_strategy_snapshots`.

    Attributes
    ----------
    schedule : Schedule
    ctau : float
    init : str
    lams : list of float
    optima : list of OptimalTree
        :func:`lineardistill.dp.optimal_tree` at each variance.
    w2 : list of dict
        Per variance: strategy name (and ``"optimal"``) -> ``W2``.
    """

    schedule: Schedule
    ctau: float
    init: str
    lams: list
    optima: list
    w2: list


def strategy_snapshots(schedule="cosine", num_steps: int = 8, lams=(0.5, 1.3, 4.0), ctau: float = 1.0,
                       init: str = "warm") -> StrategySnapshots:
    """The optimal tree and the ``W2`` of every named strategy and of the optimum, at each variance.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : float or sequence of float
        Positive variances.
    ctau : float
    init : str

    Returns
    -------
    StrategySnapshots

    Examples
    --------
    >>> s = strategy_snapshots("cosine", 4, lams=[0.5])
    >>> s.w2[0]["optimal"] <= min(s.w2[0].values())
    True
    """
    from .dp import optimal_tree
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    init = one_of(init, "init", INITS)
    ctau = as_tensor(ctau, "ctau", nonnegative=True).item()
    optima, tables = [], []
    for lam in values:
        table = {name: float(w2(merge_value(MergeTree.named(name, sch.num_steps), sch, lam, ctau, init), sch, lam,
                                dim=None)) for name in STRATEGIES}
        best = optimal_tree(sch, lam, ctau, init)
        table["optimal"] = best.w2
        optima.append(best)
        tables.append(table)
    return StrategySnapshots(schedule=sch, ctau=ctau, init=init, lams=values, optima=optima, w2=tables)


def plot_strategy_snapshots(data: StrategySnapshots | None = None, *, axes=None):
    """Per variance, the optimal tree (top) and the ``W2`` of each strategy as bars (bottom; the optimum in purple).

    Parameters
    ----------
    data : StrategySnapshots, optional
        From :func:`strategy_snapshots`; default ``strategy_snapshots()``.
    axes : Axes, a ``2 x len(lams)`` grid, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, StrategySnapshots, strategy_snapshots)
    sch, count = data.schedule, len(data.lams)
    fig, grid, own = _panels(axes, 2, count, (3.6 * count, 5.2), gridspec_kw={"height_ratios": [1.1, 1]})
    for k, (lam, best, table) in enumerate(zip(data.lams, data.optima, data.w2)):
        _draw_tree(grid[0, k], best.tree, rf"$\lambda={lam:g}$: optimal tree" + ("" if best.exact else " (approx.)"))
        names = list(table)
        grid[1, k].barh(names, [max(table[n], 1e-300) for n in names],
                        color=["tab:purple" if n == "optimal" else "tab:gray" for n in names])
        grid[1, k].set_xscale("log")
        grid[1, k].invert_yaxis()
        grid[1, k].set_xlabel(r"$W_2 = \|v_N\|\,|m - T|$")
        grid[1, k].tick_params(labelsize=8)
    if own:
        fig.suptitle(f"{sch.name} schedule, N = {sch.num_steps}, budget c tau = {data.ctau:g}, {data.init} start",
                     fontsize=10)
    return _done(fig, own)


# ------------------------------------------------------------ chapter 8 (Gaussian mixtures)
def _mixture_defaults(schedule, mixture, num_steps=8):
    from .mixture import as_mixture, example_mixture

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
    from .mixture import mixture_denoise, responsibilities

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
    from .mixture import composite_pieces, hard_composite, mixture_composite

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
    from .mixture import FitResult, error_floors, example_mixture

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
    from .mixture import SequentialResult, example_mixture, sequential_merge

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
    from .mixture import BlockErrors, block_errors, example_mixture

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


# ------------------------------------------------------------ chapter 9 (real spectra)
def plot_spectra(spectra=None, lambda_c: float | None = None, *, ax=None):
    """Covariance spectra (eigenvalue against rank, log scale) with the lines ``lam = 1`` and ``lambda_c``.

    Parameters
    ----------
    spectra : dict, optional
        Name -> 1-D positive eigenvalues; default the standardized digits
        spectrum (:func:`lineardistill.spectra.digits_spectrum`).
    lambda_c : float, optional
        Drawn as a line when given.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .spectra import digits_spectrum

    spectra = {"digits (standardized)": digits_spectrum()} if spectra is None else dict(spectra)
    if not spectra:
        raise ValueError("spectra must hold at least one spectrum")
    values = {name: as_tensor(lam, f"spectra[{name!r}]", positive=True).reshape(-1) for name, lam in spectra.items()}
    if lambda_c is not None:
        lambda_c = as_tensor(lambda_c, "lambda_c", positive=True).item()
    fig, ax, own = _axes(ax, (7, 4))
    for name, lam in values.items():
        ax.semilogy(np.arange(1, lam.numel() + 1), lam.numpy(), "o-", ms=3, label=str(name))
    ax.axhline(1.0, color="k", ls="--", lw=1, label=r"$\lambda = 1$ (BOOT optimal below)")
    if lambda_c is not None:
        ax.axhline(lambda_c, color="tab:red", ls=":", lw=1.5,
                   label=rf"$\lambda_c = {lambda_c:.3f}$ (one-shot optimal above)")
    ax.set(xlabel="rank of the eigenvalue", ylabel=r"eigenvalue $\lambda_i$", title="covariance spectra")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_strategy_w2(table, *, ax=None):
    """Total ``W2`` of each named strategy and of the Pareto DP's shared tree, one group of bars per spectrum.

    Parameters
    ----------
    table : dict
        Spectrum name -> dict strategy name -> ``W2`` (the same strategies for every spectrum).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(table, dict) or not table or not all(isinstance(row, dict) and row for row in table.values()):
        raise ValueError("table must be a non-empty dict: spectrum -> {strategy: W2}")
    names = list(table)
    strategies = list(next(iter(table.values())))
    if any(set(row) != set(strategies) for row in table.values()):
        raise ValueError(f"table must list the same strategies for every spectrum, {strategies}")
    fig, ax, own = _axes(ax, (9, 4))
    width = 0.8 / len(strategies)
    colors = plt.cm.tab10(np.arange(len(strategies)) % 10)
    for j, strategy in enumerate(strategies):
        heights = [float(table[name][strategy]) for name in names]
        ax.bar(np.arange(len(names)) + (j - (len(strategies) - 1) / 2) * width, heights, width,
               color=colors[j], label=strategy)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set(ylabel="total $W_2$ to the teacher", title="one tree for all coordinates: named strategies and the Pareto DP")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3, axis="y")
    return _done(fig, own)


# ------------------------------------------------------------ chapter 10 (practice)
@dataclass(frozen=True)
class PracticeMap:
    """The data of :func:`plot_practice_map`, computed by :func:`practice_map`.

    Attributes
    ----------
    schedule : Schedule
    init : str
    lams, ctaus : torch.Tensor
        The grid, 1-D.
    best_named : torch.Tensor
        Shape ``(len(lams), len(ctaus))``: the index into
        :data:`lineardistill.trees.STRATEGIES` of the named strategy with the
        least ``|m - T|`` at each point.
    gain : torch.Tensor
        Same shape: (best named ``|m - T|``) / (optimal ``|m - T|``), distances
        below ``floor * T`` counted as ``floor * T``; at least 1.
    """

    schedule: Schedule
    init: str
    lams: torch.Tensor
    ctaus: torch.Tensor
    best_named: torch.Tensor
    gain: torch.Tensor


def practice_map(schedule="cosine", num_steps: int = 8, lams=None, ctaus=None, init: str = "warm",
                 floor: float = 1e-12) -> PracticeMap:
    """The best named strategy and the DP optimum's gain over it on a (variance, per-run budget) grid.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : array_like, optional
        Positive variances; default 79 log-spaced from 0.25 to 5.
    ctaus : array_like, optional
        Positive budgets per training run; default 26 log-spaced from 0.03 to 10.
    init : str
    floor : float
        Relative rounding level: distances below ``floor * T`` are not told apart.

    Returns
    -------
    PracticeMap
        The optimum comes from :func:`lineardistill.phase.classify`.
    """
    from .phase import classify
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    lams = _log_grid(lams, "lams", torch.logspace(-0.6, 0.7, 79, dtype=DTYPE), positive=True)
    ctaus = _log_grid(ctaus, "ctaus", torch.logspace(-1.5, 1, 26, dtype=DTYPE), positive=True)
    floor = as_tensor(floor, "floor", positive=True).item()
    phases = classify(sch, lams[:, None], ctaus[None, :], init)
    eps = floor * phases.teacher
    dist = torch.stack([(merge_value(MergeTree.named(name, sch.num_steps), sch, lams[:, None], ctaus[None, :], init)
                         - phases.teacher).abs() for name in STRATEGIES])
    gain = torch.maximum(dist.amin(0), eps) / torch.maximum(phases.best, eps)
    return PracticeMap(schedule=sch, init=init, lams=lams, ctaus=ctaus, best_named=dist.argmin(0), gain=gain)


def plot_practice_map(data: PracticeMap | None = None, *, axes=None):
    """Best named strategy over (variance, per-run budget), and how much the DP optimum improves on it.

    Left: the named strategy with the least ``|m - T|`` at each point.
    Right: ``log10`` of (best named ``|m - T|``) / (optimal ``|m - T|``).
    Both mark ``lambda = 1`` (dashed), ``lambda_b`` (dash-dotted) and
    ``lambda_c`` (dotted).

    Parameters
    ----------
    data : PracticeMap, optional
        From :func:`practice_map`; default ``practice_map()``.
    axes : two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from .phase import lambda_boot, lambda_c
    from .trees import STRATEGIES

    data = _data(data, PracticeMap, practice_map)
    sch, best_named, gain = data.schedule, data.best_named, data.gain
    fig, grid, own = _panels(axes, 1, 2, (10.5, 4.2))
    axes = list(grid[0])
    cmap = ListedColormap([PRACTICE_COLORS[name] for name in STRATEGIES])
    x, y = data.lams.cpu().numpy(), data.ctaus.cpu().numpy()
    axes[0].pcolormesh(x, y, best_named.T.cpu().numpy(), cmap=cmap, vmin=-0.5, vmax=len(STRATEGIES) - 0.5,
                       shading="nearest", rasterized=True)
    mesh = axes[1].pcolormesh(x, y, torch.log10(gain).T.cpu().numpy(), cmap="magma_r", shading="nearest",
                              rasterized=True)
    fig.colorbar(mesh, ax=axes[1], label=r"$\log_{10}$ (best named $W_2$ / optimal $W_2$)")
    lc, lb = lambda_c(sch), lambda_boot(sch)
    for ax, title in zip(axes, ("best named strategy", "gain of the DP optimum over it")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(1.0, color="k", lw=0.8, ls="--")
        ax.axvline(lc, color="k", lw=0.8, ls=":")
        ax.axvline(lb, color="k", lw=0.8, ls="-.")
        ax.set(xlabel=r"variance $\lambda$", ylabel=r"budget per training run $c\tau$", title=title)
        lo, hi = ax.get_xlim()
        ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 4, 10) if lo <= t <= hi]
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    used = [STRATEGIES[k] for k in sorted(set(best_named.reshape(-1).tolist()))]
    axes[0].legend(handles=[Patch(color=PRACTICE_COLORS[name], label=name) for name in used], fontsize=8,
                   loc="upper left", framealpha=0.9)
    if own:
        fig.suptitle(rf"{sch.name} schedule, $N = {sch.num_steps}$, {data.init} start; dashed $\lambda = 1$, "
                     rf"dash-dotted $\lambda_b = {lb:.4g}$, dotted $\lambda_c = {lc:.4g}$", fontsize=10)
    return _done(fig, own)


@dataclass(frozen=True)
class EqualBudget:
    """The data of :func:`plot_equal_budget`, computed by :func:`equal_budget_errors`.

    Attributes
    ----------
    schedule : Schedule
    lams, totals : torch.Tensor
        The variances and the total budgets, 1-D.
    errors : dict
        Strategy name -> ``|m - T| / T``, shape ``(len(lams), len(totals))``.
    merges : dict
        Strategy name -> its number of merges ``M`` (each trained with ``total / M``).
    """

    schedule: Schedule
    lams: torch.Tensor
    totals: torch.Tensor
    errors: dict
    merges: dict


def equal_budget_errors(schedule="cosine", num_steps: int = 8, lams=(0.25, 1.5, 4.0), totals=None,
                        init: str = "warm") -> EqualBudget:
    """Each named strategy given the same *total* budget, split evenly over its merges: ``|m - T| / T``.

    Parameters
    ----------
    schedule : str or Schedule
    num_steps : int
    lams : float or sequence of float
        Positive variances.
    totals : array_like, optional
        Positive total budgets; default 51 log-spaced from 0.1 to 31.6.
    init : str

    Returns
    -------
    EqualBudget
    """
    from .problem import INITS, MergeProblem
    from .trees import STRATEGIES, MergeTree, merge_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    values = _variance_list(lams)
    totals = _log_grid(totals, "totals", torch.logspace(-1, 1.5, 51, dtype=DTYPE), positive=True)
    lam = torch.tensor(values, dtype=DTYPE)[:, None]
    errors, merges = {}, {}
    for name in STRATEGIES:
        tree = MergeTree.named(name, sch.num_steps)
        problem = MergeProblem(sch, lam, totals[None, :] / tree.num_merges, init)
        errors[name] = (merge_value(tree, problem) - problem.T).abs() / problem.T
        merges[name] = tree.num_merges
    return EqualBudget(schedule=sch, lams=lam[:, 0], totals=totals, errors=errors, merges=merges)


def plot_equal_budget(data: EqualBudget | None = None, *, axes=None):
    """``|m - T| / T`` of each named strategy against one total budget shared evenly by its merges, per variance.

    A tree with ``M`` merges trains each of them with ``ctau = total / M``.

    Parameters
    ----------
    data : EqualBudget, optional
        From :func:`equal_budget_errors`; default ``equal_budget_errors()``.
    axes : Axes, one per variance, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = _data(data, EqualBudget, equal_budget_errors)
    values = data.lams.tolist()
    fig, grid, own = _panels(axes, 1, len(values), (3.8 * len(values), 3.8))
    totals = data.totals.cpu().numpy()
    for k, (ax, value) in enumerate(zip(grid[0], values)):
        for name, err in data.errors.items():
            merges = data.merges[name]
            ax.loglog(totals, np.maximum(err[k].cpu().numpy(), 1e-17), color=PRACTICE_COLORS.get(name),
                      label=f"{name} ({merges} run{'s' if merges > 1 else ''})")
        ax.set(xlabel=r"total budget $C$ (each run gets $C / M$)", ylabel=r"$|m - T| / T$" if k == 0 else "",
               title=rf"$\lambda = {value:g}$")
        ax.grid(alpha=0.3, which="both")
    grid[0, 0].legend(fontsize=7)
    if own:
        fig.suptitle(f"{data.schedule.name} schedule, N = {data.schedule.num_steps}: the same total training budget "
                     "for every strategy", fontsize=10)
    return _done(fig, own)
