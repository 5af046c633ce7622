"""lineardistill: diffusion trajectory distillation as operator merging.

In the linear Gaussian regime a DDIM teacher step is a multiplication by a
number per coordinate; distillation merges such operators. The book explains
the theory, the operator-merging picture of Gao and Li (2025, *Toward Theoretical
Insights into Diffusion Trajectory Distillation via Operator Merging*,
arXiv:2505.16024) worked out in this book's own linear model; this package
holds the machinery the book runs.

The top level holds what a reader calls (listed in ``__all__`` by topic). The
modules, one per idea and each importing only those before it:

- :mod:`~lineardistill.schedule` (chapter 1), :mod:`~lineardistill.teacher`
  (chapters 2, 3), :mod:`~lineardistill.symbolic` (SymPy derivations);
- :mod:`~lineardistill.problem` (:class:`MergeProblem`, validated once),
  :mod:`~lineardistill.student`, :mod:`~lineardistill.training` (chapter 4),
  :mod:`~lineardistill.trees` (chapter 5);
- :mod:`~lineardistill.dp` (chapter 6), :mod:`~lineardistill.phase` (chapter 7),
  :mod:`~lineardistill.mixture` (*Gaussian mixtures*), :mod:`~lineardistill.spectra`
  (*Real spectra*), :mod:`~lineardistill.neural` (*The theory against trained networks*);
- :mod:`~lineardistill.plots`, :mod:`~lineardistill.widgets` and
  :mod:`~lineardistill.grading`, imported on demand (``from lineardistill
  import plots``) because they pull in matplotlib and ipywidgets.

A name taken off the top level stays importable from its module (for example
``lineardistill.dp.ENUMERATION_MAX_STEPS``, ``lineardistill.student.merge_values``).

>>> import lineardistill as ld
>>> problem = ld.MergeProblem(ld.Schedule.cosine(8), lam=[0.5, 1.5], ctau=1.0)
>>> m = ld.merge_value(ld.MergeTree.boot(8), problem)   # BOOT: one value per variance
>>> [round(x, 4) for x in (m / problem.T).tolist()]     # shrinkage m / T
[1.2036, 0.977]
"""

from ._checks import device
from .schedule import Schedule
from .problem import MergeProblem
from .teacher import (
    composite,
    denoise,
    denoiser_gain,
    flow_ratios,
    log_composites,
    run_ddim,
    signal_noise_vectors,
    step_angles,
    teacher_multipliers,
    teacher_output_variance,
    teacher_variance_ratio,
    vector_norms,
)
from .student import INITS, coarse_multipliers, merge_block, training_weights
from .student import initial_value, merge_values  # noqa: F401  (off the top-level list; kept importable)
from .trees import (
    MAX_ENUMERATION_STEPS,
    STRATEGIES,
    MergeTree,
    all_trees,
    count_trees,
    distance,
    merge_value,
    shrinkage,
    teacher_value,
    w2,
)
from .training import OPTIMIZERS, TrainingResult, gd_weights, train_block, train_tree, training_tolerance
from .dp import ENUMERATION_MAX_STEPS  # noqa: F401  (the twin of MAX_ENUMERATION_STEPS; kept importable)
from .dp import (
    Extremes,
    IntervalDP,
    OptimalTree,
    TreeValues,
    enumerate_values,
    extreme_values,
    interval_dp,
    optimal_tree,
)
from .shared import ParetoResult, SharedTree, pareto_tree, shared_optimal_tree
from .phase import (
    PHASES,
    PhaseDiagram,
    Phases,
    boot_value,
    classify,
    exact_variances,
    lambda_boot,
    lambda_c,
    one_shot_value,
    phase_diagram,
)
from .mixture import (
    BlockErrors,
    FitResult,
    GatedAffine,
    GaussianMixture,
    SequentialResult,
    composite_pieces,
    count_pieces,
    block_errors,
    error_floors,
    example_mixture,
    fit_students,
    hard_composite,
    least_squares_maps,
    lipschitz_estimate,
    locate_breakpoints,
    mixture_composite,
    mixture_denoise,
    mixture_step,
    responsibilities,
    sample_latents,
    sample_mixture,
    sequential_merge,
    step_lipschitz,
    step_regions,
    teacher_step_student,
)
from .spectra import (
    covariance_spectrum,
    digits_spectrum,
    log_uniform_spectrum,
    power_law_spectrum,
    spectrum_summary,
    two_level_spectrum,
)

__version__ = "0.1.0"

__all__ = [
    # schedules and the teacher (R1-R5)
    "Schedule",
    "device",
    "composite",
    "denoise",
    "denoiser_gain",
    "flow_ratios",
    "log_composites",
    "run_ddim",
    "signal_noise_vectors",
    "step_angles",
    "teacher_multipliers",
    "teacher_output_variance",
    "teacher_variance_ratio",
    "vector_norms",
    # the merge problem, students and strategies (R6-R9)
    "MergeProblem",
    "INITS",
    "MAX_ENUMERATION_STEPS",
    "STRATEGIES",
    "MergeTree",
    "all_trees",
    "coarse_multipliers",
    "count_trees",
    "distance",
    "merge_block",
    "merge_value",
    "shrinkage",
    "teacher_value",
    "training_weights",
    "w2",
    # real training of students (R8)
    "OPTIMIZERS",
    "TrainingResult",
    "gd_weights",
    "train_block",
    "train_tree",
    "training_tolerance",
    # optimal merging and the phase transition (R10-R17)
    "IntervalDP",
    "OptimalTree",
    "PHASES",
    "ParetoResult",
    "PhaseDiagram",
    "Phases",
    "TreeValues",
    "boot_value",
    "classify",
    "enumerate_values",
    "exact_variances",
    "extreme_values",
    "interval_dp",
    "lambda_boot",
    "lambda_c",
    "one_shot_value",
    "optimal_tree",
    "pareto_tree",
    "shared_optimal_tree",
    "SharedTree",
    "Extremes",
    "phase_diagram",
    # beyond the linear model: mixtures (R18) and spectra
    "BlockErrors",
    "FitResult",
    "GatedAffine",
    "GaussianMixture",
    "SequentialResult",
    "block_errors",
    "composite_pieces",
    "count_pieces",
    "covariance_spectrum",
    "digits_spectrum",
    "error_floors",
    "example_mixture",
    "fit_students",
    "hard_composite",
    "least_squares_maps",
    "lipschitz_estimate",
    "locate_breakpoints",
    "log_uniform_spectrum",
    "mixture_composite",
    "mixture_denoise",
    "mixture_step",
    "power_law_spectrum",
    "responsibilities",
    "sample_latents",
    "sample_mixture",
    "sequential_merge",
    "spectrum_summary",
    "step_lipschitz",
    "step_regions",
    "teacher_step_student",
    "two_level_spectrum",
]
