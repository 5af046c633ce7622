"""Figures of chapters 4 and 5: trained students, their start, merge trees and the named strategies.

The students and the merge rule are those of the operator-merging picture of
Gao and Li (2025, arXiv:2505.16024), in this book's linear model
(:mod:`lineardistill.student`, :mod:`lineardistill.trees`). Figures by chapter
(data function in brackets):

- 4, *Students and finite training*: :func:`plot_training_agreement`,
  :func:`plot_init_comparison` (:func:`init_shrinkage`);
- 5, *Merging strategies*: :func:`plot_merge_tree`, :func:`plot_strategy_comparison` (:func:`strategy_curves`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import DTYPE, as_int, as_tensor, one_of
from ..schedule import Schedule
from ._common import _axes, _data, _done, _draw_tree, _log_grid, _named_schedule, _panels, _variance_list


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
    from ..problem import INITS
    from ..trees import MergeTree, merge_value, teacher_value

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
    from ..trees import MergeTree

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
    from ..problem import INITS
    from ..trees import STRATEGIES, MergeTree, merge_value, teacher_value, w2

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
