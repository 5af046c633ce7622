"""lineardistill: diffusion trajectory distillation as operator merging.

In the linear Gaussian regime a DDIM teacher step is a multiplication by a
number per coordinate; distillation merges such operators. See the book for
the theory; this package holds the machinery the book runs.
"""

from ._checks import device
from .schedule import Schedule
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

__version__ = "0.1.0"

__all__ = [
    "Schedule",
    "composite",
    "denoise",
    "denoiser_gain",
    "device",
    "flow_ratios",
    "log_composites",
    "run_ddim",
    "signal_noise_vectors",
    "step_angles",
    "teacher_multipliers",
    "teacher_output_variance",
    "teacher_variance_ratio",
    "vector_norms",
]
