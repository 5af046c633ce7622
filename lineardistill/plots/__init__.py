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

The figures live in one module per part of the book, each listing its
chapters' figures; import them from here (``from lineardistill import plots``):

- :mod:`~lineardistill.plots.teacher`: chapters 1 to 3 (schedules, denoiser,
  DDIM geometry, teacher samples and shrinkage);
- :mod:`~lineardistill.plots.students`: chapters 4 and 5 (trained students,
  their start, merge trees, named strategies);
- :mod:`~lineardistill.plots.merging`: chapters 6 and 7 (DP timing, cost
  front, ``lambda_c``, phase diagrams, optimal trees, strategy snapshots);
- :mod:`~lineardistill.plots.mixtures`: chapter 9 (Gaussian mixtures);
- :mod:`~lineardistill.plots.practice`: chapters 10 and 11 (real spectra,
  practice map, equal budget);
- :mod:`~lineardistill.plots._common`: what they share (``ax=`` handling,
  checks of schedules, variances and data).

The model is the operator-merging picture of Gao and Li (2025,
arXiv:2505.16024), in this book's linear model.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig, (left, right) = plt.subplots(1, 2)
>>> plot_merge_tree("((3,2),1)", ax=left) is fig
True
>>> plt.close(fig)
"""

from __future__ import annotations

from ._common import SCHEDULE_NAMES, _named_schedule, _variance_list
from .merging import (
    PHASE_COLORS,
    CostFront,
    DPTiming,
    LambdaCCurves,
    StrategySnapshots,
    TreeScan,
    dp_timing,
    lambda_c_curves,
    optimal_tree_scan,
    plot_cost_front,
    plot_dp_timing,
    plot_lambda_c,
    plot_optimal_tree_scan,
    plot_phase_by_init,
    plot_phase_diagram,
    plot_strategy_snapshots,
    strategy_snapshots,
    training_cost_front,
)
from .mixtures import (
    CompositePieceCurves,
    MixtureDenoiserCurves,
    composite_piece_curves,
    mixture_denoiser_curves,
    plot_block_errors,
    plot_composite_pieces,
    plot_error_floors,
    plot_merge_errors,
    plot_mixture_denoiser,
)
from .practice import (
    PRACTICE_COLORS,
    EqualBudget,
    PracticeMap,
    equal_budget_errors,
    plot_equal_budget,
    plot_practice_map,
    plot_spectra,
    plot_strategy_w2,
    practice_map,
)
from .students import (
    InitShrinkage,
    StrategyCurves,
    init_shrinkage,
    plot_init_comparison,
    plot_merge_tree,
    plot_strategy_comparison,
    plot_training_agreement,
    strategy_curves,
)
from .teacher import (
    DDIMGeometry,
    DenoiserSamples,
    ShrinkageCurves,
    TeacherSamples,
    ddim_geometry,
    denoiser_samples,
    plot_ddim_geometry,
    plot_denoiser_fit,
    plot_schedules,
    plot_signal_noise_vectors,
    plot_teacher_samples,
    plot_teacher_shrinkage,
    teacher_samples,
    teacher_shrinkage_curves,
)
