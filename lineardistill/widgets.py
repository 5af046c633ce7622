"""Interactive explorers (ipywidgets) for the book.

Each explorer has a static counterpart in :mod:`lineardistill.plots` that tells
the same story at a few fixed settings, so the HTML book works without a
running kernel.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt

from . import plots
from .schedule import Schedule
from .teacher import composite, teacher_variance_ratio


def ddim_geometry_explorer(lam: float = 1.0, num_steps: int = 8, schedule: str = "cosine"):
    """R2/R3 explorer: variance, number of steps and schedule; draws :func:`plots.plot_ddim_geometry`.

    Prints the composite teacher ``T`` and the kept variance ``prod cos^2(theta_t)``
    (R4, R5) under the figure. Returns an ``ipywidgets.interactive`` object.
    """
    plots._variance_list(lam, "lam")
    Schedule.cosine(num_steps)  # validates num_steps
    plots._named_schedule(schedule, 2)  # validates the name

    def show(lam, num_steps, schedule):
        sch = getattr(Schedule, schedule)(num_steps)
        plots.plot_ddim_geometry(sch, [lam])
        plt.show()
        print(f"composite teacher T = {float(composite(sch, lam)):.4f};  "
              f"kept variance prod cos^2 = {float(teacher_variance_ratio(sch, lam)):.4f}")

    return widgets.interactive(
        show,
        lam=widgets.FloatLogSlider(value=float(lam), base=10, min=-2, max=2, step=0.05, description="variance"),
        num_steps=widgets.IntSlider(value=int(num_steps), min=1, max=40, description="N"),
        schedule=widgets.Dropdown(options=list(plots.SCHEDULE_NAMES), value=schedule, description="schedule"),
    )


def optimal_tree_explorer(lam: float = 1.3, ctau: float = 1.0, num_steps: int = 8, schedule: str = "cosine",
                          init: str = "warm"):
    """R16/R17 explorer: variance, budget, N, schedule and initialization; draws the optimal tree
    and the W2 of each named strategy (:func:`plots.plot_strategy_snapshots` at one variance).

    Prints the class of the optimal tree and ``lambda_c`` under the figure.
    """
    from .phase import classify, lambda_c
    from .student import INITS

    plots._variance_list(lam, "lam")
    plots._named_schedule(schedule, 2)
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}; got {init!r}")

    def show(lam, ctau, num_steps, schedule, init):
        sch = getattr(Schedule, schedule)(num_steps)
        plots.plot_strategy_snapshots(sch, num_steps, [lam], ctau, init)
        plt.show()
        phase = classify(sch, lam, ctau, init).names()
        print(f"class of the optimal tree: {phase};  lambda_c = {lambda_c(sch):.4f}")

    return widgets.interactive(
        show,
        lam=widgets.FloatLogSlider(value=float(lam), base=10, min=-1, max=1, step=0.01, description="variance"),
        ctau=widgets.FloatLogSlider(value=float(ctau), base=10, min=-2, max=1, step=0.05, description="budget"),
        num_steps=widgets.IntSlider(value=int(num_steps), min=2, max=10, description="N"),
        schedule=widgets.Dropdown(options=list(plots.SCHEDULE_NAMES), value=schedule, description="schedule"),
        init=widgets.Dropdown(options=list(INITS), value=init, description="init"),
    )
