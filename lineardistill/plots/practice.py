"""Figures of chapters 10 and 11: real covariance spectra and what the theory means in practice.

Per coordinate of a real spectrum, the model of Gao and Li (2025, arXiv:2505.16024)
picks BOOT below ``lam = 1`` and one-shot merging above ``lambda_c``
(:mod:`lineardistill.spectra`, :mod:`lineardistill.phase`). Figures by chapter
(data function in brackets):

- 10, *Real spectra*: :func:`plot_spectra`, :func:`plot_strategy_w2`;
- 11, *What it means in practice*: :func:`plot_practice_map` (:func:`practice_map`),
  :func:`plot_equal_budget` (:func:`equal_budget_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import DTYPE, as_int, as_tensor, one_of
from ..schedule import Schedule
from ._common import _axes, _data, _done, _log_grid, _named_schedule, _panels, _variance_list

PRACTICE_COLORS = {"vanilla": "tab:green", "boot": "tab:blue", "consistency": "tab:brown", "progressive": "tab:purple",
                   "tract": "tab:orange"}
"""Colour of each named strategy of :data:`lineardistill.trees.STRATEGIES` in the strategy figures."""


# ------------------------------------------------------------ chapter 10 (real spectra)
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
    from ..spectra import digits_spectrum

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


# ------------------------------------------------------------ chapter 11 (practice)
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
    from ..phase import classify
    from ..problem import INITS
    from ..trees import STRATEGIES, MergeTree, merge_value

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

    from ..phase import lambda_boot, lambda_c
    from ..trees import STRATEGIES

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
    from ..problem import INITS, MergeProblem
    from ..trees import STRATEGIES, MergeTree, merge_value

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
