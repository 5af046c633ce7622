"""Figures of the book: one function per figure, each returning a matplotlib Figure.

Every chapter of the book draws its figures with these functions, so that its
cells show ideas, not plotting boilerplate; the quantities drawn are those of
Gao and Li (2025, arXiv:2505.16024) in this book's linear model (``R1``...``R18``
refer to the results the chapters derive).

Conventions:

- Every figure has an opaque white background, labelled axes and a legend
  where more than one thing is drawn.
- Every ``plot_*`` function runs with its defaults (``python -m lineardistill
  figures`` regenerates them all).
- Figures draw data; the computing lives in separate functions that return
  named results (:func:`dp_timing`, :func:`practice_map`,
  :func:`equal_budget_errors`, the phase diagrams of :mod:`lineardistill.phase`),
  which the figure functions accept ready-made (``timing=``, ``data=``,
  ``diagrams=``), so a chapter computes once and draws what it computed.
- One-panel figures take ``ax=`` (a matplotlib Axes to draw into, for example
  one panel of the reader's own figure); they then return ``ax.figure``.

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


def _done(fig, own: bool):
    """Lay out and whiten a figure this module made; leave a caller's figure to the caller."""
    if own:
        fig.tight_layout()
        return _white(fig)
    return fig


def _legacy(fig, **values):
    """Attach computed data to a Figure, only where a chapter still reads it from there.

    Kept so that chapters 6 and 10 run unchanged (they read ``fig.slope``,
    ``fig.gain``, ``fig.best_named``, ``fig.errors``); new code takes the data
    from :func:`dp_timing`, :func:`practice_map` and :func:`equal_budget_errors`.
    """
    for name, value in values.items():
        setattr(fig, name, value)
    return fig


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


# ------------------------------------------------------------ chapter 1
def plot_schedules(num_steps: int = 1000, schedules=SCHEDULE_NAMES):
    """The VP schedules: ``alpha_t``, ``sigma_t`` and the log signal-to-noise ratio against ``t / N``."""
    n = as_int(num_steps, "num_steps", minimum=2)
    if isinstance(schedules, (str, Schedule)):
        schedules = [schedules]
    chosen = [_named_schedule(s, n) for s in schedules]
    if not chosen:
        raise ValueError("schedules must name at least one schedule")
    fig, (ax_scale, ax_snr) = plt.subplots(1, 2, figsize=(10, 3.8))
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
    ax_scale.legend(fontsize=8)
    ax_snr.legend(fontsize=8)
    ax_scale.grid(alpha=0.3)
    ax_snr.grid(alpha=0.3)
    fig.tight_layout()
    return _white(fig)


def plot_denoiser_fit(schedule=None, lams=(0.25, 1.0, 4.0), t: int | None = None,
                      num_samples: int = 2000, seed: int = 0):
    """R1 seen in samples: pairs ``(z_t, x_0)`` and the optimal denoiser line ``x_0 = g_t z_t``.

    One panel per variance; ``schedule`` defaults to ``Schedule.cosine(10)``
    and ``t`` to the middle time.
    """
    sch = Schedule.cosine(10) if schedule is None else as_schedule(schedule)
    t = sch.num_steps // 2 if t is None else as_int(t, "t", minimum=1, maximum=sch.num_steps)
    values = _variance_list(lams)
    count = as_int(num_samples, "num_samples", minimum=2)
    gen = torch.Generator().manual_seed(as_int(seed, "seed"))
    noise = torch.randn(2, count, len(values), generator=gen, dtype=DTYPE)
    lam = torch.tensor(values, dtype=DTYPE)
    x0 = lam.sqrt() * noise[0]
    alpha, sigma = float(sch.alphas[t]), float(sch.sigmas[t])
    zt = alpha * x0 + sigma * noise[1]
    gains = denoiser_gain(sch.to("cpu"), lam)[..., t]
    fig, axes = plt.subplots(1, len(values), figsize=(3.6 * len(values), 3.6), squeeze=False)
    for k, ax in enumerate(axes[0]):
        z, x = zt[:, k].numpy(), x0[:, k].numpy()
        ax.scatter(z, x, s=3, alpha=0.25, color="tab:gray", label="samples $(z_t, x_0)$")
        grid = np.linspace(z.min(), z.max(), 50)
        ax.plot(grid, float(gains[k]) * grid, color="tab:blue", lw=2,
                label=rf"$E[x_0 \mid z_t] = {float(gains[k]):.3f}\, z_t$")
        ax.set(xlabel=rf"$z_t$ (t = {t} of {sch.num_steps})", ylabel="$x_0$", title=rf"$\lambda = {values[k]:g}$")
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _white(fig)


# ------------------------------------------------------------ chapter 2
def plot_signal_noise_vectors(schedule=None, lams=(0.25, 1.0, 4.0), *, ax=None):
    """R3: the signal-noise vectors ``v_t = (alpha_t sqrt(lam), sigma_t)`` for a few variances.

    Under VP they lie on the ellipse ``||v||^2 = 1 + alpha^2 (lam - 1)``; at
    ``lam = 1`` on the unit circle (dashed). ``schedule`` defaults to
    ``Schedule.cosine(8)``.
    """
    sch = Schedule.cosine(8) if schedule is None else as_schedule(schedule)
    values = _variance_list(lams)
    vectors = signal_noise_vectors(sch.to("cpu"), torch.tensor(values, dtype=DTYPE)).numpy()
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


def plot_ddim_geometry(schedule=None, lams=(0.25, 1.0, 4.0), step: int | None = None):
    """R2/R3: a DDIM step as a projection and a rescaling, one row per variance.

    Left: the vectors ``v_t``; for one step ``t`` (default: the middle step,
    ``(N + 1) // 2``) the previous vector ``v_{t-1}`` and its projection
    ``r_t v_t`` on the line of ``v_t``. Right: per step, the multiplier
    ``r_t``, the exact flow ratio ``||v_{t-1}|| / ||v_t||`` and ``cos(theta_t)``.
    """
    sch = Schedule.cosine(8) if schedule is None else as_schedule(schedule)
    sch = sch.to("cpu")
    values = _variance_list(lams)
    n = sch.num_steps
    if step is not None:
        step = as_int(step, "step", minimum=1, maximum=n)
    lam = torch.tensor(values, dtype=DTYPE)
    vectors = signal_noise_vectors(sch, lam).numpy()
    r = teacher_multipliers(sch, lam).numpy()
    flow = flow_ratios(sch, lam).numpy()
    theta = step_angles(sch, lam).numpy()
    steps = np.arange(1, n + 1)
    fig, axes = plt.subplots(len(values), 2, figsize=(10, 3.9 * len(values)), squeeze=False)
    for k, lam_k in enumerate(values):
        ax_vec, ax_fac = axes[k]
        vec = vectors[k]
        t = (n + 1) // 2 if step is None else step
        ax_vec.plot(vec[:, 0], vec[:, 1], "o-", color="tab:gray", ms=3, lw=1, label="$v_0, \\dots, v_N$")
        circle = np.linspace(0, math.pi / 2, 200)
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
    fig.tight_layout()
    return _white(fig)


# ------------------------------------------------------------ chapter 3
def plot_teacher_samples(schedule=None, lam: float = 1.0, num_samples: int = 100_000, seed: int = 0, *, ax=None):
    """R5 in samples: a histogram of the teacher's output against ``N(0, lam)`` and ``N(0, lam prod cos^2)``.

    The teacher starts from ``z_N ~ N(0, ||v_N||^2)``; ``schedule`` defaults to
    ``Schedule.cosine(4)`` so that the shrinkage is visible.
    """
    sch = Schedule.cosine(4) if schedule is None else as_schedule(schedule)
    sch = sch.to("cpu")
    lam_v = _variance_list(lam, "lam")
    if len(lam_v) != 1:
        raise ValueError(f"lam must be a single variance, got {len(lam_v)} values")
    lam_v = lam_v[0]
    count = as_int(num_samples, "num_samples", minimum=2)
    gen = torch.Generator().manual_seed(as_int(seed, "seed"))
    z_start = float(vector_norms(sch, lam_v)[-1]) * torch.randn(count, generator=gen, dtype=DTYPE)
    out = run_ddim(z_start, sch, lam_v).numpy()
    ratio = float(teacher_variance_ratio(sch, lam_v))
    fig, ax, own = _axes(ax, (6.4, 4))
    ax.hist(out, bins=120, density=True, color="tab:gray", alpha=0.5, label="teacher samples $T z_N$")
    grid = np.linspace(-4 * math.sqrt(lam_v), 4 * math.sqrt(lam_v), 400)
    for var, style, color, label in ((lam_v, "--", "k", r"data $N(0, \lambda)$"),
                                     (lam_v * ratio, "-", "tab:red",
                                      rf"$N(0, \lambda \prod\cos^2\theta_t)$, ratio {ratio:.3f}")):
        ax.plot(grid, np.exp(-grid**2 / (2 * var)) / math.sqrt(2 * math.pi * var), style, color=color, lw=2,
                label=label)
    ax.set(xlabel="$z_0$", ylabel="density",
           title=rf"teacher output, {sch.name} schedule, N = {sch.num_steps}, $\lambda = {lam_v:g}$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _done(fig, own)


def plot_teacher_shrinkage(num_steps=(2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), lams=(0.25, 1.0, 4.0),
                           schedules=SCHEDULE_NAMES):
    """R5 against N: the kept variance ``prod cos^2(theta_t)`` and the loss ``1 - prod cos^2`` (log-log).

    One colour per variance, one line style per schedule; the dotted grey line
    in the right panel has slope -1 (a ``C / N`` decay) for comparison.
    """
    ns = [as_int(n, "num_steps", minimum=1) for n in np.atleast_1d(np.asarray(num_steps, dtype=object))]
    if len(ns) < 2:
        raise ValueError(f"num_steps must list at least two step counts, got {ns}")
    values = _variance_list(lams)
    if isinstance(schedules, (str, Schedule)):
        schedules = [schedules]
    names = [one_of(s, "schedules", SCHEDULE_NAMES) for s in schedules]
    lam = torch.tensor(values, dtype=DTYPE)
    fig, (ax_keep, ax_gap) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(values)))
    styles = ["-", "--", ":", "-."]
    n_arr = np.array(ns, dtype=float)
    for j, name in enumerate(names):
        ratios = np.stack([teacher_variance_ratio(getattr(Schedule, name)(n), lam).numpy() for n in ns])
        gaps = np.stack([(-torch.expm1(2 * log_cos_angles(getattr(Schedule, name)(n), lam).sum(-1))).numpy()
                         for n in ns])
        for k, lam_k in enumerate(values):
            label = rf"{name}, $\lambda = {lam_k:g}$"
            ax_keep.plot(n_arr, ratios[:, k], styles[j % 4], marker="o", ms=3, color=colors[k], label=label)
            ax_gap.loglog(n_arr, gaps[:, k], styles[j % 4], marker="o", ms=3, color=colors[k], label=label)
    ref = n_arr ** -1.0
    ax_gap.loglog(n_arr, ref * 2.0, ":", color="tab:gray", lw=2, label="slope $-1$ ($2/N$)")
    ax_keep.set_xscale("log", base=2)
    ax_keep.set(xlabel="number of teacher steps $N$", ylabel=r"$\prod_t \cos^2\theta_t$",
                title="variance the teacher keeps (fraction of $\\lambda$)")
    ax_gap.set(xlabel="number of teacher steps $N$", ylabel=r"$1 - \prod_t \cos^2\theta_t$",
               title="variance the teacher loses")
    ax_keep.legend(fontsize=7)
    ax_gap.legend(fontsize=7)
    ax_keep.grid(alpha=0.3)
    ax_gap.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _white(fig)


# ------------------------------------------------- chapters 6 and 7 (optimal merging, phase transition)
PHASE_COLORS = {"BOOT": "tab:blue", "mixed": "tab:orange", "one-shot": "tab:green", "tie": "0.85",
                "unresolved": "black"}
"""Colour of each phase of :data:`lineardistill.phase.PHASES` in every figure."""


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
    """One merge tree (a MergeTree or its text): leaves from the noisy end, merges stacked by height."""
    from .trees import MergeTree

    tree = tree if isinstance(tree, MergeTree) else MergeTree.parse(tree)
    fig, ax, own = _axes(ax, (max(3.0, 0.35 * tree.num_steps + 1.5), 2.4))
    _draw_tree(ax, tree, title or (str(tree) if tree.num_steps <= 24 else f"tree over {tree.num_steps} steps"))
    return _done(fig, own)


def _strategy_table(schedule, lam, ctau, init="warm"):
    """[(name, tree, w2)] for the named strategies and the optimum at one (lam, ctau)."""
    from .dp import optimal_tree
    from .trees import STRATEGIES, MergeTree, merge_value, w2

    n = schedule.num_steps
    rows = []
    for name in STRATEGIES:
        tree = MergeTree.named(name, n)
        rows.append((name, tree, float(w2(merge_value(tree, schedule, lam, ctau, init), schedule, lam, dim=None))))
    best = optimal_tree(schedule, lam, ctau, init)
    rows.append(("optimal", best.tree, best.w2))
    return rows, best


def plot_strategy_snapshots(schedule="cosine", num_steps: int = 8, lams=(0.5, 1.3, 4.0), ctau: float = 1.0,
                            init: str = "warm"):
    """Static twin of the chapter-7 explorer: per variance, the optimal tree and the W2 of each strategy."""
    from .problem import INITS

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    init = one_of(init, "init", INITS)
    fig, axes = plt.subplots(2, len(values), figsize=(3.6 * len(values), 5.2), squeeze=False,
                             gridspec_kw={"height_ratios": [1.1, 1]})
    for k, lam in enumerate(values):
        rows, best = _strategy_table(sch, lam, ctau, init)
        _draw_tree(axes[0, k], best.tree, rf"$\lambda={lam:g}$: optimal tree" + ("" if best.exact else " (approx.)"))
        names = [r[0] for r in rows]
        dist = [max(r[2], 1e-300) for r in rows]
        colors = ["tab:gray"] * (len(rows) - 1) + ["tab:purple"]
        axes[1, k].barh(names, dist, color=colors)
        axes[1, k].set_xscale("log")
        axes[1, k].invert_yaxis()
        axes[1, k].set_xlabel(r"$W_2 = \|v_N\|\,|m - T|$")
        axes[1, k].tick_params(labelsize=8)
    fig.suptitle(f"{sch.name} schedule, N = {sch.num_steps}, budget c tau = {ctau:g}, {init} start", fontsize=10)
    fig.tight_layout()
    return _white(fig)


def plot_lambda_c(num_steps=(2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256), schedules=SCHEDULE_NAMES, *,
                  ax=None):
    """R15: ``lambda_c`` against ``N`` for each schedule; it approaches 2 from above."""
    from .phase import lambda_c

    ns = [as_int(n, "num_steps", minimum=2) for n in num_steps]
    if isinstance(schedules, str):
        schedules = [schedules]
    fig, ax, own = _axes(ax, (6, 3.8))
    for name, marker in zip(schedules, "os^v"):
        values = [lambda_c(_named_schedule(name, n)) for n in ns]
        ax.plot(ns, values, marker=marker, ms=4, label=name)
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


def plot_phase_diagram(schedule="cosine", num_steps=(8, 16, 32), init: str = "warm", lams=None, ctaus=None,
                       diagrams=None):
    """R17: the class of the W2-optimal tree over (variance, budget), one panel per ``N``.

    Pass ``diagrams`` (a list of :class:`~lineardistill.phase.PhaseDiagram`) to draw
    diagrams already computed; the other arguments are then ignored.
    """
    from .phase import PHASES, phase_diagram

    if isinstance(num_steps, int):
        num_steps = [num_steps]
    lams = torch.logspace(-1, 1, 121, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    ctaus = torch.logspace(-2, 1, 49, dtype=DTYPE) if ctaus is None else as_tensor(ctaus, "ctaus", nonnegative=True)
    if diagrams is not None:
        diagrams = list(diagrams)
        num_steps = [d.schedule.num_steps for d in diagrams]
    fig, axes = plt.subplots(1, len(num_steps), figsize=(4.2 * len(num_steps), 4.0), squeeze=False)
    used = set()
    for k, (ax, n) in enumerate(zip(axes[0], num_steps)):
        if diagrams is not None:
            diagram = diagrams[k]
            sch = diagram.schedule
        else:
            sch = _named_schedule(schedule, as_int(n, "num_steps", minimum=2))
            diagram = phase_diagram(sch, lams, ctaus, init)
        used |= {PHASES[int(c)] for c in diagram.code.unique()}
        _phase_axes(ax, diagram, rf"{sch.name}, $N = {sch.num_steps}$, $\lambda_c = {diagram.lambda_c:.4g}$")
    _phase_legend(fig, [p for p in PHASES if p in used])
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _white(fig)


def plot_phase_by_init(schedule="cosine", num_steps: int = 8, inits=("warm", "zero", "identity", "teacher", "coarse"),
                       lams=None, ctaus=None, diagrams=None):
    """The phase diagram for each student initialization: only the warm start shows the transition.

    ``diagrams`` (a list of precomputed PhaseDiagram, one per init) skips the computation.
    """
    from .phase import PHASES, phase_diagram

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    lams = torch.logspace(-1, 1, 61, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    ctaus = torch.logspace(-2, 1, 25, dtype=DTYPE) if ctaus is None else as_tensor(ctaus, "ctaus", nonnegative=True)
    if diagrams is not None:
        diagrams = list(diagrams)
        inits = [d.init for d in diagrams]
    fig, axes = plt.subplots(1, len(inits), figsize=(3.3 * len(inits), 3.6), squeeze=False)
    used = set()
    for k, (ax, init) in enumerate(zip(axes[0], inits)):
        diagram = diagrams[k] if diagrams is not None else phase_diagram(sch, lams, ctaus, init)
        used |= {PHASES[int(c)] for c in diagram.code.unique()}
        _phase_axes(ax, diagram, f"{init} start")
    _phase_legend(fig, [p for p in PHASES if p in used])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _white(fig)


def plot_optimal_tree_scan(schedule="cosine", num_steps: int = 8, ctau: float = 1.0, lams=None, init: str = "warm",
                           show=(0.6, 1.2, 1.35, 1.6, 3.0), *, phases=None, trees=None):
    """The optimal tree across the variance: distances of BOOT, one-shot and the optimum, and the trees drawn.

    ``phases``: a :class:`~lineardistill.phase.Phases` already computed by
    ``classify(schedule, lams, ctau, init)`` over the 1-D ``lams`` (pass those
    ``lams`` too); ``trees``: the optimal trees of the ``show`` variances, in
    order. Whatever is not given is computed here.
    """
    from .dp import optimal_tree
    from .phase import PHASES, Phases, classify, lambda_c

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    lams = torch.logspace(-0.5, 0.7, 121, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    shown = _variance_list(show, "show")
    if phases is None:
        phases = classify(sch, lams, ctau, init)
    elif not isinstance(phases, Phases) or tuple(phases.code.shape) != tuple(lams.shape):
        raise ValueError(f"phases must be the Phases of classify() over lams (shape {tuple(lams.shape)})")
    if trees is None:
        trees = [optimal_tree(sch, lam, ctau, init).tree for lam in shown]
    else:
        trees = list(trees)
        if len(trees) != len(shown):
            raise ValueError(f"trees must hold one tree per shown variance ({len(shown)}), got {len(trees)}")
    T = phases.teacher.numpy()
    fig = plt.figure(figsize=(11, 6.2))
    grid = fig.add_gridspec(2, len(shown), height_ratios=[1.4, 1])
    ax = fig.add_subplot(grid[0, :])
    x = lams.numpy()
    ax.semilogy(x, phases.boot.numpy() / T, color=PHASE_COLORS["BOOT"], label="BOOT chain")
    ax.semilogy(x, phases.one_shot.numpy() / T, color=PHASE_COLORS["one-shot"], label="one-shot")
    ax.semilogy(x, np.maximum(phases.best.numpy() / T, 1e-17), "k--", lw=1, label="optimal tree")
    codes = phases.code.numpy()
    edges = np.sqrt(x[1:] * x[:-1])
    edges = np.concatenate([[x[0]], edges, [x[-1]]])
    labelled = set()
    for i, k in enumerate(codes):
        name = PHASES[int(k)]
        ax.axvspan(edges[i], edges[i + 1], color=PHASE_COLORS[name], alpha=0.18, lw=0,
                   label=None if name in labelled else f"optimal class: {name}")
        labelled.add(name)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.axvline(lambda_c(sch), color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel=r"$|m - T| / T$",
           title=f"{sch.name}, N = {sch.num_steps}, c tau = {ctau:g}: dashed lambda = 1, dotted lambda_c")
    ax.legend(fontsize=8, ncol=2)
    for k, (lam, tree) in enumerate(zip(shown, trees)):
        _draw_tree(fig.add_subplot(grid[1, k]), tree, rf"$\lambda = {lam:g}$")
    fig.tight_layout()
    return _white(fig)


@dataclass(frozen=True)
class DPTiming:
    """Run times of the interval DP (R11) measured by :func:`dp_timing`.

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
    """Time the interval DP (one variance, cosine schedule) for each ``N`` in ``sizes`` on this machine."""
    import time

    from .dp import interval_dp

    ns = [as_int(n, "sizes", minimum=2) for n in sizes]
    if not ns:
        raise ValueError("sizes must hold at least one number of steps")
    reps = as_int(repeats, "repeats", minimum=1)
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


def plot_dp_timing(sizes=(16, 32, 64, 128, 256), repeats: int = 1, *, timing: DPTiming | None = None, ax=None):
    """The interval DP's run time against ``N`` (log-log) with the fitted slope.

    Draws ``timing`` (a :class:`DPTiming`) when given, else measures one with
    :func:`dp_timing` (``sizes``, ``repeats``).
    """
    own_data = timing is None
    timing = dp_timing(sizes, repeats) if own_data else timing
    if not isinstance(timing, DPTiming):
        raise TypeError(f"timing must be a DPTiming from dp_timing(), got {type(timing).__name__}")
    ns, times, slope = timing.sizes, timing.times, timing.slope
    fig, ax, own = _axes(ax, (5.5, 3.8))
    ax.loglog(ns, times, "o-", label=f"measured (fitted slope {slope:.2f})")
    ref = np.array(ns, dtype=float)
    ax.loglog(ref, times[-1] * (ref / ref[-1]) ** 3, ":", color="tab:gray", label="slope 3")
    ax.set(xlabel="number of teacher steps $N$", ylabel="seconds", title="interval DP (R11), one variance")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    fig = _done(fig, own)
    return _legacy(fig, slope=slope, times=times) if own_data and own else fig


def plot_cost_front(schedule="cosine", num_steps: int = 7, lams=(0.5, 1.5, 3.0), ctau: float = 0.5,
                    init: str = "warm", *, result=None, ax=None):
    """R13: the best summed W2 for a shared tree against the number of merges (training runs).

    ``result``: a :class:`~lineardistill.dp.ParetoResult` already computed by
    ``pareto_tree(schedule, lams, ctau, init, merges=True)`` for the same
    arguments; without it the Pareto DP runs here.
    """
    from .dp import ParetoResult, pareto_tree
    from .trees import MergeTree, merge_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    values = _variance_list(lams)
    if result is None:
        result = pareto_tree(sch, values, ctau, init, merges=True)
    elif not isinstance(result, ParetoResult):
        raise TypeError(f"result must be a ParetoResult from pareto_tree(..., merges=True), got "
                        f"{type(result).__name__}")
    front = result.cost_front()
    fig, ax, own = _axes(ax, (6, 3.8))
    ax.step([f[0] for f in front], [f[1] for f in front], where="post", color="tab:purple", label="Pareto front")
    ax.plot([f[0] for f in front], [f[1] for f in front], "o", color="tab:purple")
    lam = torch.tensor(values, dtype=DTYPE)
    for name, marker in (("vanilla", "s"), ("boot", "^"), ("progressive", "D"), ("consistency", "v")):
        tree = MergeTree.named(name, sch.num_steps)
        dist = float(w2(merge_value(tree, sch, lam, ctau, init), sch, lam))
        ax.plot([tree.num_merges], [dist], marker, ls="none", label=name)
    ax.set_yscale("log")
    ax.set(xlabel="number of merges (training runs)", ylabel="summed $W_2$",
           title=rf"{sch.name}, $N = {sch.num_steps}$, $\lambda \in$ {values}, $c\tau = {ctau:g}$")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _done(fig, own)


# ------------------------------------------------------------ chapter "Gaussian mixtures, R18)
def _mixture_defaults(schedule, mixture, num_steps=8):
    from .mixture import as_mixture, example_mixture

    sch = Schedule.cosine(num_steps) if schedule is None else as_schedule(schedule)
    mix = example_mixture() if mixture is None else as_mixture(mixture)
    if mix.dim != 1:
        raise ValueError(f"mixture figures need a one-dimensional mixture, got d = {mix.dim}")
    return sch, mix


def plot_mixture_denoiser(schedule=None, mixture=None, times=None, lo: float = -4.0, hi: float = 4.0):
    """R18: the data density, the optimal denoiser ``E[x_0 | z_t]`` at a few times, and the gates at one time."""
    from .mixture import mixture_denoise, responsibilities

    sch, mix = _mixture_defaults(schedule, mixture)
    n = sch.num_steps
    times = [1, max(1, n // 4), max(1, n // 2), max(1, 3 * n // 4)] if times is None else \
        [as_int(t, "times", minimum=1, maximum=n) for t in times]
    grid = torch.linspace(lo, hi, 801, dtype=DTYPE)[:, None]
    fig, (ax_p, ax_d, ax_g) = plt.subplots(1, 3, figsize=(13, 3.8))
    var = mix.covariances[:, 0, 0]
    dens = (mix.weights * torch.exp(-(grid - mix.means[:, 0]) ** 2 / (2 * var)) / torch.sqrt(2 * math.pi * var)).sum(-1)
    ax_p.plot(grid[:, 0], dens, color="k")
    ax_p.set(xlabel="$x_0$", ylabel="density", title=f"data: {mix.num_components} Gaussian components")
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(times)))
    for t, c in zip(sorted(set(times)), colors):
        ax_d.plot(grid[:, 0], mixture_denoise(grid, t, sch, mix)[:, 0], color=c,
                  label=rf"$t = {t}$ ($\alpha_t = {float(sch.alphas[t]):.2f}$)")
    ax_d.set(xlabel="$z_t$", ylabel=r"$E[x_0 \mid z_t]$", title="optimal denoiser: gated affine maps")
    ax_d.legend(fontsize=7)
    t_gate = sorted(set(times))[len(set(times)) // 2]
    gamma = responsibilities(grid, t_gate, sch, mix)
    for k in range(mix.num_components):
        ax_g.plot(grid[:, 0], gamma[:, k], label=rf"$\gamma_{k + 1}$")
    ax_g.set(xlabel="$z_t$", ylabel="responsibility", title=f"gates at $t = {t_gate}$ (softmax of quadratics)")
    ax_g.legend(fontsize=7)
    for ax in (ax_p, ax_d, ax_g):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _white(fig)


def plot_composite_pieces(schedule=None, mixture=None, ks=(2, 4, 8), lo: float = -4.0, hi: float = 4.0):
    """R18: the hard-gate skeleton of ``k``-step composites from the noise end, and its piece count against ``K^k``."""
    from .mixture import composite_pieces, hard_composite, mixture_composite

    sch, mix = _mixture_defaults(schedule, mixture)
    n = sch.num_steps
    ks = [as_int(k, "ks", minimum=1, maximum=n) for k in ks]
    grid = torch.linspace(lo, hi, 2001, dtype=DTYPE)[:, None]
    fig, (ax_m, ax_c) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(ks)))
    for k, c in zip(ks, colors):
        hard = hard_composite(grid, sch, mix, n - k, n)[:, 0]
        soft = mixture_composite(grid, sch, mix, n - k, n)[:, 0]
        pieces = composite_pieces(sch, mix, n - k, n, lo, hi)
        steps = np.abs(np.diff(hard.numpy()))
        jumps = steps > 20 * np.median(steps)
        shown = np.where(np.concatenate([jumps, [False]]), np.nan, hard.numpy())
        ax_m.plot(grid[:, 0], shown, color=c, label=f"$k = {k}$: {len(pieces)} pieces")
        ax_m.plot(grid[:, 0], soft, ":", color=c, lw=1)
        for p in pieces[1:]:
            ax_m.axvline(p[0], color=c, lw=0.6, alpha=0.5)
    ax_m.set(xlabel="$z_N$", ylabel="$z_{N-k}$", title="k-step composite: hard-gate skeleton (solid), exact (dotted)")
    ax_m.legend(fontsize=7)
    all_k = list(range(1, n + 1))
    counts = [len(composite_pieces(sch, mix, n - k, n, lo, hi)) for k in all_k]
    ax_c.semilogy(all_k, counts, "o-", label="pieces of the k-step composite")
    ax_c.semilogy(all_k, [mix.num_components ** k for k in all_k], "k--", label="$K^k$ (upper bound)")
    ax_c.axhline(mix.num_components, color="tab:red", ls=":", label="$K$: affine maps of one step")
    ax_c.set(xlabel="number of merged steps $k$", ylabel="count", title="affine pieces on the line")
    ax_c.legend(fontsize=7)
    for ax in (ax_m, ax_c):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _white(fig)


def plot_error_floors(ks=None, fits=None, labels=None, *, ax=None):
    """R18: the relative error floor of one-step students against the number of merged steps ``k``.

    ``fits``: :class:`lineardistill.mixture.FitResult` objects, one per curve,
    whose students are ordered by ``ks``; by default the book's example with
    blocks ending at the data, teacher gates.
    """
    from .mixture import error_floors, example_mixture

    if fits is None:
        sch = Schedule.cosine(8)
        ks = list(range(1, 9))
        fits = [error_floors(sch, example_mixture(), [(0, k) for k in ks], num_iters=100)]
        labels = ["teacher gates, blocks ending at the data"]
    labels = labels or [f"curve {i + 1}" for i in range(len(fits))]
    fig, ax, own = _axes(ax, (6, 4))
    for fit, label in zip(fits, labels):
        rel = fit.relative.numpy()
        ax.semilogy(ks[1:], rel[1:], "o-", label=label)
    ax.set(xlabel="number of merged steps $k$", ylabel=r"relative error floor $E|S - T|^2 / \mathrm{Var}\,T$",
           title="one-step student against a k-step composite")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_merge_errors(result=None, *, ax=None):
    """R18: a sequential (BOOT-style) chain: per-merge error, accumulated error and its Lipschitz bound."""
    from .mixture import example_mixture, sequential_merge

    if result is None:
        result = sequential_merge(Schedule.cosine(8), example_mixture(), lo=-5.0, hi=5.0, num_samples=512,
                                  num_iters=100)
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


# ------------------------------------------------------------ chapter 10 (practice)
PRACTICE_COLORS = {"vanilla": "tab:green", "boot": "tab:blue", "consistency": "tab:brown", "progressive": "tab:purple",
                   "tract": "tab:orange"}
"""Colour of each named strategy of :data:`lineardistill.trees.STRATEGIES` in the chapter-10 figures."""


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

    The optimum comes from :func:`lineardistill.phase.classify`; ``floor`` is the
    rounding level below which distances are not told apart.
    """
    from .phase import classify
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    lams = torch.logspace(-0.6, 0.7, 79, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    ctaus = torch.logspace(-1.5, 1, 26, dtype=DTYPE) if ctaus is None else as_tensor(ctaus, "ctaus", positive=True)
    lams, ctaus = lams.reshape(-1), ctaus.reshape(-1)
    floor = as_tensor(floor, "floor", positive=True).item()
    phases = classify(sch, lams[:, None], ctaus[None, :], init)
    eps = floor * phases.teacher
    dist = torch.stack([(merge_value(MergeTree.named(name, sch.num_steps), sch, lams[:, None], ctaus[None, :], init)
                         - phases.teacher).abs() for name in STRATEGIES])
    best_named = dist.argmin(0)
    gain = torch.maximum(dist.amin(0), eps) / torch.maximum(phases.best, eps)
    return PracticeMap(schedule=sch, init=init, lams=lams, ctaus=ctaus, best_named=best_named, gain=gain)


def plot_practice_map(schedule="cosine", num_steps: int = 8, lams=None, ctaus=None, init: str = "warm",
                      floor: float = 1e-12, *, data: PracticeMap | None = None, axes=None):
    """Best named strategy over (variance, per-run budget), and how much the DP optimum improves on it.

    Left: the named strategy (R9) with the least ``|m - T|`` at each point.
    Right: ``log10`` of (best named ``|m - T|``) / (optimal ``|m - T|``).
    Draws ``data`` (a :class:`PracticeMap`) when given, else computes one with
    :func:`practice_map` from the other arguments. ``axes``: two Axes to draw
    into (default: a new figure).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from .phase import lambda_boot, lambda_c
    from .trees import STRATEGIES

    own_data = data is None
    data = practice_map(schedule, num_steps, lams, ctaus, init, floor) if own_data else data
    if not isinstance(data, PracticeMap):
        raise TypeError(f"data must be a PracticeMap from practice_map(), got {type(data).__name__}")
    sch, best_named, gain = data.schedule, data.best_named, data.gain
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
        own = True
    else:
        axes = list(axes)
        if len(axes) != 2:
            raise ValueError(f"axes must hold 2 Axes, got {len(axes)}")
        fig, own = axes[0].figure, False
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
    fig = _done(fig, own)
    return _legacy(fig, best_named=best_named, gain=gain) if own_data and own else fig


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
    """Each named strategy given the same *total* budget, split evenly over its merges: ``|m - T| / T``."""
    from .problem import MergeProblem
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    values = _variance_list(lams)
    totals = torch.logspace(-1, 1.5, 51, dtype=DTYPE) if totals is None else as_tensor(totals, "totals", positive=True)
    totals = totals.reshape(-1)
    lam = torch.tensor(values, dtype=DTYPE)[:, None]
    errors, merges = {}, {}
    for name in STRATEGIES:
        tree = MergeTree.named(name, sch.num_steps)
        problem = MergeProblem(sch, lam, totals[None, :] / tree.num_merges, init)
        errors[name] = (merge_value(tree, problem) - problem.T).abs() / problem.T
        merges[name] = tree.num_merges
    return EqualBudget(schedule=sch, lams=lam[:, 0], totals=totals, errors=errors, merges=merges)


def plot_equal_budget(schedule="cosine", num_steps: int = 8, lams=(0.25, 1.5, 4.0), totals=None, init: str = "warm",
                      *, data: EqualBudget | None = None, axes=None):
    """Each named strategy given the same *total* budget, split evenly over its merges: ``|m - T| / T`` against it.

    A tree with ``M`` merges trains each of them with ``ctau = total / M``.
    Draws ``data`` (an :class:`EqualBudget`) when given, else computes one with
    :func:`equal_budget_errors`. ``axes``: one Axes per variance (default: a new figure).
    """
    own_data = data is None
    data = equal_budget_errors(schedule, num_steps, lams, totals, init) if own_data else data
    if not isinstance(data, EqualBudget):
        raise TypeError(f"data must be an EqualBudget from equal_budget_errors(), got {type(data).__name__}")
    values = data.lams.tolist()
    if axes is None:
        fig, grid = plt.subplots(1, len(values), figsize=(3.8 * len(values), 3.8), squeeze=False)
        axes, own = list(grid[0]), True
    else:
        axes = list(axes)
        if len(axes) != len(values):
            raise ValueError(f"axes must hold one Axes per variance ({len(values)}), got {len(axes)}")
        fig, own = axes[0].figure, False
    totals = data.totals.cpu().numpy()
    for k, (ax, value) in enumerate(zip(axes, values)):
        for name, err in data.errors.items():
            merges = data.merges[name]
            ax.loglog(totals, np.maximum(err[k].cpu().numpy(), 1e-17), color=PRACTICE_COLORS.get(name),
                      label=f"{name} ({merges} run{'s' if merges > 1 else ''})")
        ax.set(xlabel=r"total budget $C$ (each run gets $C / M$)", ylabel=r"$|m - T| / T$",
               title=rf"$\lambda = {value:g}$")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    if own:
        fig.suptitle(f"{data.schedule.name} schedule, N = {data.schedule.num_steps}: the same total training budget "
                     "for every strategy", fontsize=10)
    fig = _done(fig, own)
    return _legacy(fig, errors=data.errors) if own_data and own else fig



# ------------------------------------------------------------ chapter 9 (real spectra)
def plot_spectra(spectra=None, lambda_c: float | None = None, *, ax=None):
    """Section 8: covariance spectra (eigenvalue against rank, log scale) with the lines ``lam = 1`` and ``lambda_c``.

    ``spectra``: a dict name -> 1-D eigenvalues; by default the digits spectrum.
    """
    from .spectra import digits_spectrum

    spectra = {"digits (standardized)": digits_spectrum()} if spectra is None else dict(spectra)
    if not spectra:
        raise ValueError("spectra must hold at least one spectrum")
    fig, ax, own = _axes(ax, (7, 4))
    for name, lam in spectra.items():
        values = as_tensor(lam, f"spectra[{name!r}]", positive=True).reshape(-1)
        ax.semilogy(np.arange(1, values.numel() + 1), values.numpy(), "o-", ms=3, label=str(name))
    ax.axhline(1.0, color="k", ls="--", lw=1, label=r"$\lambda = 1$ (BOOT optimal below)")
    if lambda_c is not None:
        ax.axhline(float(lambda_c), color="tab:red", ls=":", lw=1.5,
                   label=rf"$\lambda_c = {float(lambda_c):.3f}$ (one-shot optimal above)")
    ax.set(xlabel="rank of the eigenvalue", ylabel=r"eigenvalue $\lambda_i$", title="covariance spectra")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_strategy_w2(table, *, ax=None):
    """R13: total W2 of each named strategy and of the Pareto DP's shared tree, one group of bars per spectrum.

    ``table``: dict spectrum name -> dict strategy name -> W2 (same strategies for every spectrum).
    """
    if not isinstance(table, dict) or not table:
        raise ValueError("table must be a non-empty dict: spectrum -> {strategy: W2}")
    names = list(table)
    strategies = list(next(iter(table.values())))
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


def plot_block_errors(results=None):
    """R18: students replacing blocks of a partition of the steps: per-block error, its effect on the output, the
    Lipschitz bound (left, for the finest partition given), and the total output error against the number of blocks
    (right). ``results``: :class:`lineardistill.mixture.BlockErrors` objects, coarsest partition first.
    """
    from .mixture import block_errors, example_mixture

    if results is None:
        sch = Schedule.cosine(8)
        results = [block_errors(sch, example_mixture(), parts, lo=-5.0, hi=5.0)
                   for parts in ([(0, 8)], [(4, 8), (0, 4)], [(6, 8), (4, 6), (2, 4), (0, 2)])]
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one BlockErrors")
    fine = max(results, key=lambda r: len(r.blocks))
    fig, (ax_b, ax_t) = plt.subplots(1, 2, figsize=(11, 4))
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
    fig.tight_layout()
    return _white(fig)


# ------------------------------------------------------- chapters 4 and 5
def plot_training_agreement(lams, closed, learned, tolerance=None, curves=None, steps=None, ctaus=None,
                            title="trained students against the closed form"):
    """R8: learned multipliers (markers) on the closed form (lines) against the variance, and loss curves.

    ``closed`` and ``learned`` have shape ``(len(lams), len(ctaus))`` (or ``(len(lams),)``);
    ``tolerance`` is the relative band drawn around the closed form; ``curves``
    (shape ``(records, len(lams), ...)``) and ``steps`` give the root's loss curves.
    """
    lam = as_tensor(lams, "lams", positive=True).reshape(-1).numpy()
    closed = as_tensor(closed, "closed").reshape(len(lam), -1).numpy()
    learned = as_tensor(learned, "learned").reshape(len(lam), -1).numpy()
    labels = [f"c tau = {float(c):g}" for c in (ctaus if ctaus is not None else range(closed.shape[1]))]
    panels = 2 if curves is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.8), squeeze=False)
    ax = axes[0, 0]
    colors = plt.cm.tab10(np.arange(closed.shape[1]) % 10)
    for j in range(closed.shape[1]):
        ax.plot(lam, closed[:, j], "-", color=colors[j], label=f"closed form R6/R7, {labels[j]}")
        if tolerance is not None:
            band = as_tensor(tolerance, "tolerance").reshape(len(lam), -1).numpy()[:, j]
            ax.fill_between(lam, closed[:, j] * (1 - band), closed[:, j] * (1 + band), color=colors[j], alpha=0.2)
        ax.plot(lam, learned[:, j], "o", ms=3.5, color=colors[j], mfc="none", label=f"trained in torch, {labels[j]}")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel="final multiplier $m$", title=title)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    if curves is not None:
        ax = axes[0, 1]
        c = as_tensor(curves, "curves")
        x = np.arange(c.shape[0]) if steps is None else as_tensor(steps, "steps").numpy()
        c = c.reshape(c.shape[0], len(lam), -1)[:, :, -1].numpy()
        picks = sorted({0, len(lam) // 2, len(lam) - 1})
        for i in picks:
            ax.plot(x, np.maximum(c[:, i], 1e-300), label=rf"$\lambda = {lam[i]:.3g}$")
        ax.set_yscale("log")
        ax.set(xlabel="gradient step", ylabel="Monte Carlo loss of the root student", title="loss curves")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _white(fig)


def plot_init_comparison(schedule="cosine", num_steps: int = 8, tree=None, ctau: float = 1.0, lams=None, *, ax=None):
    """R7: shrinkage ``m / T`` of one tree against the variance, for each starting operator."""
    from .problem import INITS
    from .trees import MergeTree, merge_value, teacher_value

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    tree = MergeTree.boot(sch.num_steps) if tree is None else (
        tree if isinstance(tree, MergeTree) else MergeTree.parse(tree, sch.num_steps))
    lam = torch.logspace(math.log10(0.05), 2, 200, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    T = teacher_value(sch, lam)
    fig, ax, own = _axes(ax, (6, 3.8))
    for init in INITS:
        ax.plot(lam.numpy(), (merge_value(tree, sch, lam, ctau, init) / T).numpy(), label=init)
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel=r"variance $\lambda$", ylabel="shrinkage $m / T$",
           title=f"{tree if tree.num_steps <= 8 else 'tree'}: {sch.name}, N = {sch.num_steps}, c tau = {ctau:g}")
    ax.legend(title="start", fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _done(fig, own)


def plot_named_trees(num_steps: int = 8, segments: int = 2):
    """R9: the named strategies drawn side by side (leaves N..1 left to right, merges stacked by height)."""
    from .trees import MergeTree

    n = as_int(num_steps, "num_steps", minimum=2)
    trees = [("vanilla (one-shot)", MergeTree.vanilla(n)), ("BOOT (from the noise end)", MergeTree.boot(n)),
             ("consistency (from the data end)", MergeTree.consistency(n)),
             ("progressive (halving)", MergeTree.progressive(n)),
             (f"TRACT-style ({segments} segments)", MergeTree.tract(n, segments))]
    fig, axes = plt.subplots(1, len(trees), figsize=(2.9 * len(trees), 2.8))
    for ax, (name, tree) in zip(axes, trees):
        _draw_tree(ax, tree, name)
    fig.tight_layout()
    return _white(fig)


def plot_strategy_comparison(schedule="cosine", num_steps: int = 16, ctaus=(0.3, 3.0), lams=None,
                             init: str = "warm", segments: int = 4):
    """R9: W2 (top) and shrinkage ``m / T`` (bottom) against the variance for every named strategy, per budget."""
    from .problem import INITS
    from .trees import STRATEGIES, MergeTree, merge_value, teacher_value, w2

    sch = _named_schedule(schedule, as_int(num_steps, "num_steps", minimum=2))
    init = one_of(init, "init", INITS)
    budgets = _variance_list(ctaus, "ctaus")
    lam = torch.logspace(math.log10(0.05), 2, 240, dtype=DTYPE) if lams is None else as_tensor(lams, "lams", positive=True)
    T = teacher_value(sch, lam)
    fig, axes = plt.subplots(2, len(budgets), figsize=(5.2 * len(budgets), 6.4), squeeze=False, sharex=True)
    for j, ctau in enumerate(budgets):
        for k, name in enumerate(STRATEGIES):
            tree = MergeTree.tract(sch.num_steps, segments) if name == "tract" else MergeTree.named(name, sch.num_steps)
            m = merge_value(tree, sch, lam, ctau, init)
            label = f"tract ({segments} segments)" if name == "tract" else name
            style = {"color": plt.cm.tab10(k), "lw": 1.5, "ls": ["-", "--", "-.", ":", (0, (5, 1))][k % 5]}
            axes[0, j].plot(lam.numpy(), np.maximum(w2(m, sch, lam, dim=None).numpy(), 1e-300), label=label, **style)
            axes[1, j].plot(lam.numpy(), (m / T).numpy(), label=label, **style)
        axes[0, j].set_yscale("log")
        axes[0, j].set(ylabel=r"$W_2 = \|v_N\|\,|m - T|$", title=f"budget c tau = {ctau:g}")
        axes[1, j].axhline(1.0, color="k", lw=0.8)
        axes[1, j].set(xlabel=r"variance $\lambda$", ylabel="shrinkage $m / T$")
        for ax in axes[:, j]:
            ax.set_xscale("log")
            ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"named strategies, {sch.name} schedule, N = {sch.num_steps}, {init} start", fontsize=10)
    fig.tight_layout()
    return _white(fig)
