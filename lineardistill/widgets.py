"""Interactive explorers (ipywidgets) for the book (chapters 2 and 7).

An explorer needs a running kernel: in the HTML book its sliders are frozen. So
each one opens with a label that says so, and has two counterparts that work
without a kernel: a static figure in :mod:`lineardistill.plots` (a few fixed
settings side by side) and a *live figure*, its kernel-free twin in
:mod:`lineardistill.twins` (a plotly figure whose slider steps through frames
computed in advance).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from . import plots

KERNEL_NOTE = ("<b>Needs a running kernel.</b> These controls move only when the chapter runs as a notebook "
               "(locally, on Binder or on Colab). On the book's web page they are frozen: use the live figure "
               "next to this explorer, which works without a kernel.")
"""The label that opens every explorer."""


def _labelled(explorer):
    """Put :data:`KERNEL_NOTE` above the explorer's controls (it stays an ``ipywidgets.interactive``)."""
    note = widgets.HTML(value=f'<div class="needs-kernel-note">{KERNEL_NOTE}</div>')
    explorer.children = (note,) + tuple(explorer.children)
    return explorer
from .schedule import Schedule
from .teacher import composite, teacher_variance_ratio


def ddim_geometry_explorer(lam: float = 1.0, num_steps: int = 8, schedule: str = "cosine"):
    """DDIM geometry explorer: variance, number of steps and schedule; draws :func:`plots.plot_ddim_geometry`.

    Its kernel-free twin is :func:`lineardistill.twins.ddim_geometry_twin`.

    Prints the composite teacher ``T`` and the kept variance ``prod cos^2(theta_t)``
    (R4, R5) under the figure. Returns an ``ipywidgets.interactive`` object.
    """
    plots._variance_list(lam, "lam")
    Schedule.cosine(num_steps)  # validates num_steps
    plots._named_schedule(schedule, 2)  # validates the name

    def show(lam, num_steps, schedule):
        sch = getattr(Schedule, schedule)(num_steps)
        plots.plot_ddim_geometry(plots.ddim_geometry(sch, [lam]))
        plt.show()
        print(f"composite teacher T = {float(composite(sch, lam)):.4f};  "
              f"kept variance prod cos^2 = {float(teacher_variance_ratio(sch, lam)):.4f}")

    return _labelled(widgets.interactive(
        show,
        lam=widgets.FloatLogSlider(value=float(lam), base=10, min=-2, max=2, step=0.05, description="variance"),
        num_steps=widgets.IntSlider(value=int(num_steps), min=1, max=40, description="N"),
        schedule=widgets.Dropdown(options=list(plots.SCHEDULE_NAMES), value=schedule, description="schedule"),
    ))


def optimal_tree_explorer(lam: float = 1.3, ctau: float = 1.0, num_steps: int = 8, schedule: str = "cosine",
                          init: str = "warm"):
    """Optimal-tree explorer: variance, budget, N, schedule and initialization; draws the optimal tree
    and the W2 of each named strategy (:func:`plots.plot_strategy_snapshots` at one variance).

    Prints the class of the optimal tree and ``lambda_c`` under the figure. Its kernel-free twin is
    :func:`lineardistill.twins.phase_twin`.
    """
    from .phase import classify, lambda_c
    from .student import INITS

    plots._variance_list(lam, "lam")
    plots._named_schedule(schedule, 2)
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}; got {init!r}")

    def show(lam, ctau, num_steps, schedule, init):
        sch = getattr(Schedule, schedule)(num_steps)
        plots.plot_strategy_snapshots(plots.strategy_snapshots(sch, num_steps, [lam], ctau, init))
        plt.show()
        phase = classify(sch, lam, ctau, init).names()
        print(f"class of the optimal tree: {phase};  lambda_c = {lambda_c(sch):.4f}")

    return _labelled(widgets.interactive(
        show,
        lam=widgets.FloatLogSlider(value=float(lam), base=10, min=-1, max=1, step=0.01, description="variance"),
        ctau=widgets.FloatLogSlider(value=float(ctau), base=10, min=-2, max=1, step=0.05, description="budget"),
        num_steps=widgets.IntSlider(value=int(num_steps), min=2, max=10, description="N"),
        schedule=widgets.Dropdown(options=list(plots.SCHEDULE_NAMES), value=schedule, description="schedule"),
        init=widgets.Dropdown(options=list(INITS), value=init, description="init"),
    ))
