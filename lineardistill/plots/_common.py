"""What the figure modules of :mod:`lineardistill.plots` share.

The schedule names that figure functions accept, the handling of ``ax=`` and
``axes=`` (a new figure with a white background, or the reader's own), the
check of the data a drawing function is given, and the checks of schedules,
variances and grids that data functions take. Private to the package, except
that :mod:`lineardistill.widgets` validates its controls with
:func:`_named_schedule` and :func:`_variance_list`, as the figures do.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .._checks import as_tensor, one_of
from ..schedule import VP_SCHEDULE_NAMES, Schedule

SCHEDULE_NAMES = VP_SCHEDULE_NAMES
"""Schedules that figure functions accept by name (the VP names of :meth:`Schedule.named`)."""


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
    """Lay out and whiten a figure this package made; leave a caller's figure to the caller."""
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


# ------------------------------------------------------------ merge trees (chapters 5 and 7)
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
