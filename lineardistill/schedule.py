"""Noise schedules: the signal and noise scales ``alphas``, ``sigmas`` at t = 0..N.

Chapter 1 of the book (*Diffusion in one coordinate*) explains schedules; the
setting is the one of Gao and Li (2025), *Toward Theoretical Insights into
Diffusion Trajectory Distillation via Operator Merging*, arXiv:2505.16024.

Time ``t = 0`` is data (``alpha = 1``, ``sigma = 0``) and ``t = N`` is the noisiest
time. A schedule is always an explicit list of times: the constructors below
build one from a formula on a uniform grid, from a diffusers-style
``alphas_cumprod`` array and any explicit ``timesteps`` list, or from arrays.
:meth:`Schedule.named` builds one by name from the registry
:data:`SCHEDULE_NAMES`; the command line, the figures and the grading code use it.

>>> from lineardistill import Schedule
>>> s = Schedule.named("cosine", 4)
>>> s
Schedule(name='cosine', num_steps=4, VP)
>>> [round(float(a), 4) for a in s.alphas]
[1.0, 0.9239, 0.7071, 0.3827, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._checks import DTYPE, as_float, as_int, as_tensor, one_of

VP_TOLERANCE = 1e-9
"""Largest ``|alpha^2 + sigma^2 - 1|`` a variance-preserving schedule may have."""

MAX_NUM_STEPS = 10_000_000
"""Largest ``num_steps`` the constructors build (two tensors of 80 MB); larger needs ``Schedule(alphas, sigmas)``."""

_CONSTRUCTORS = {"cosine": "cosine", "linear": "linear", "ve": "variance_exploding"}
SCHEDULE_NAMES = tuple(_CONSTRUCTORS)
"""Names :meth:`Schedule.named` knows: ``"cosine"``, ``"linear"`` (both VP) and ``"ve"`` (EDM-spaced VE)."""

VP_SCHEDULE_NAMES = ("cosine", "linear")
"""The variance-preserving names of :data:`SCHEDULE_NAMES`."""


def _num_steps(num_steps) -> int:
    n = as_int(num_steps, "num_steps", minimum=1)
    if n > MAX_NUM_STEPS:
        raise ValueError(f"num_steps = {n:,} is more than MAX_NUM_STEPS = {MAX_NUM_STEPS:,}: the schedule alone "
                         f"would take {2 * 8 * (n + 1) / 2**30:,.3g} GiB; build larger schedules from arrays with "
                         "Schedule(alphas, sigmas), or raise lineardistill.schedule.MAX_NUM_STEPS")
    return n


@dataclass(frozen=True, eq=False)
class Schedule:
    """Signal scales ``alphas`` and noise scales ``sigmas`` over ``t = 0..num_steps``.

    Parameters
    ----------
    alphas, sigmas : array_like
        Arrays of length ``N + 1`` with ``alphas[0] = 1``, ``sigmas[0] = 0``,
        ``alphas`` non-increasing and ``sigmas`` strictly increasing.
    name : str, default "custom"
        A label used in tables and figures.
    variance_preserving : bool, default True
        When true ``alphas**2 + sigmas**2 = 1`` is required.
        Set it false for a variance-exploding (VE) schedule.

    Raises
    ------
    TypeError, ValueError
        When an array is not a real 1-D array or breaks one of the rules above.

    Examples
    --------
    >>> Schedule([1.0, 0.6, 0.0], [0.0, 0.8, 1.0])
    Schedule(name='custom', num_steps=2, VP)
    """

    alphas: torch.Tensor
    sigmas: torch.Tensor
    name: str = "custom"
    variance_preserving: bool = True

    def __post_init__(self):
        alphas = as_tensor(self.alphas, "alphas", nonnegative=True)
        sigmas = as_tensor(self.sigmas, "sigmas", nonnegative=True)
        if alphas.ndim != 1 or sigmas.ndim != 1:
            raise ValueError(f"alphas and sigmas must be 1-D, got shapes {tuple(alphas.shape)} and {tuple(sigmas.shape)}")
        if alphas.shape != sigmas.shape:
            raise ValueError(f"alphas and sigmas must have the same length, got {alphas.numel()} and {sigmas.numel()}")
        if alphas.numel() < 2:
            raise ValueError(f"alphas and sigmas need at least two times (t = 0 and t = 1), got {alphas.numel()}")
        if abs(float(alphas[0]) - 1.0) > VP_TOLERANCE or float(sigmas[0]) != 0.0:
            raise ValueError(f"a schedule must start at the data: alphas[0] = 1 and sigmas[0] = 0, got {float(alphas[0])!r} and {float(sigmas[0])!r}")
        if bool((alphas[1:] > alphas[:-1]).any()):
            raise ValueError("alphas must be non-increasing in t")
        if not bool((sigmas[1:] > sigmas[:-1]).all()):
            raise ValueError("sigmas must be strictly increasing in t")
        if bool((alphas[:-1] <= 0).any()):
            raise ValueError("alphas must be > 0 at every time before the last")
        if not isinstance(self.variance_preserving, bool):
            raise TypeError(f"variance_preserving must be a bool, got {self.variance_preserving!r}")
        if self.variance_preserving:
            gap = (alphas**2 + sigmas**2 - 1).abs().max()
            if float(gap) > VP_TOLERANCE:
                raise ValueError(f"schedule is not variance preserving: max |alpha^2 + sigma^2 - 1| = {float(gap):.3g}; "
                                 "pass variance_preserving=False for a VE schedule")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}")
        object.__setattr__(self, "alphas", alphas)
        object.__setattr__(self, "sigmas", sigmas)

    @property
    def num_steps(self) -> int:
        """N, the number of teacher steps."""
        return self.alphas.numel() - 1

    def to(self, device) -> "Schedule":
        """The same schedule with its tensors on ``device``."""
        return Schedule(self.alphas.to(device), self.sigmas.to(device), self.name, self.variance_preserving)

    def __repr__(self) -> str:
        kind = "VP" if self.variance_preserving else "VE"
        return f"Schedule(name={self.name!r}, num_steps={self.num_steps}, {kind})"

    # ----------------------------------------------------------- constructors
    @classmethod
    def named(cls, name: str, num_steps: int, **kwargs) -> "Schedule":
        """The schedule called ``name`` (one of :data:`SCHEDULE_NAMES`) with ``num_steps`` steps.

        Extra keyword arguments go to its constructor (for example ``beta_max``
        for ``"linear"``).

        >>> Schedule.named("ve", 3).variance_preserving
        False
        """
        name = one_of(name, "name", SCHEDULE_NAMES)
        return getattr(cls, _CONSTRUCTORS[name])(num_steps, **kwargs)

    @classmethod
    def cosine(cls, num_steps: int) -> "Schedule":
        """VP cosine schedule ``alpha_t = cos(pi t / 2N)``, ``sigma_t = sin(pi t / 2N)``."""
        n = _num_steps(num_steps)
        angle = torch.arange(n + 1, dtype=DTYPE) * (math.pi / (2 * n))
        alphas, sigmas = torch.cos(angle), torch.sin(angle)
        alphas[-1], sigmas[-1] = 0.0, 1.0  # exact at the end, not 6e-17
        return cls(alphas, sigmas, name="cosine")

    @classmethod
    def linear(cls, num_steps: int, beta_min: float = 0.1, beta_max: float = 20.0) -> "Schedule":
        """DDPM-linear schedule in continuous time (the VP SDE with beta from ``beta_min`` to ``beta_max``).

        ``log alpha(s) = -beta_min s / 2 - (beta_max - beta_min) s^2 / 4`` at ``s = t / N``.
        """
        n = _num_steps(num_steps)
        bmin = as_float(beta_min, "beta_min", nonnegative=True)
        bmax = as_float(beta_max, "beta_max", positive=True)
        if bmax < bmin:
            raise ValueError(f"beta_max must be >= beta_min, got beta_min={bmin!r}, beta_max={bmax!r}")
        s = torch.arange(n + 1, dtype=DTYPE) / n
        log_alpha = -0.5 * bmin * s - 0.25 * (bmax - bmin) * s**2
        alphas = torch.exp(log_alpha)
        sigmas = torch.sqrt(-torch.expm1(2 * log_alpha))  # stable near t = 0
        if not bool((sigmas[1:] > sigmas[:-1]).all()):
            raise ValueError(f"beta_min={bmin!r}, beta_max={bmax!r} are too large for num_steps={n}: sigma_t rounds "
                             "to 1 before the last step (alpha_t underflows); use smaller betas")
        return cls(alphas, sigmas, name="linear")

    @classmethod
    def from_alphas_cumprod(cls, alphas_cumprod, timesteps=None, name: str = "alphas_cumprod") -> "Schedule":
        """Schedule from a training ``alphas_cumprod`` array and an explicit list of ``timesteps``.

        ``timesteps`` are indices into ``alphas_cumprod`` in any order (a diffusers
        scheduler lists them from noisy to clean); they become times ``1..N`` in
        increasing noise. Time ``0`` is the clean data (``alpha = 1``). With
        ``timesteps=None`` every index is used.
        """
        ac = as_tensor(alphas_cumprod, "alphas_cumprod", positive=True)
        if ac.ndim != 1 or ac.numel() == 0:
            raise ValueError(f"alphas_cumprod must be a non-empty 1-D array, got shape {tuple(ac.shape)}")
        if bool((ac > 1).any()):
            raise ValueError("alphas_cumprod must lie in (0, 1]")
        if timesteps is None:
            index = torch.arange(ac.numel())
        else:
            steps = as_tensor(timesteps, "timesteps")
            if steps.ndim != 1 or steps.numel() == 0:
                raise ValueError(f"timesteps must be a non-empty 1-D list, got shape {tuple(steps.shape)}")
            if not bool((steps == steps.round()).all()):
                raise ValueError(f"timesteps must be integers, got {steps.tolist()[:8]}")
            index = steps.long()
            if bool(((index < 0) | (index >= ac.numel())).any()):
                raise ValueError(f"timesteps must lie in 0..{ac.numel() - 1}, got {index.tolist()[:8]}")
            if index.unique().numel() != index.numel():
                raise ValueError("timesteps must not repeat")
        index = index.sort().values
        chosen = ac[index]
        if not bool((chosen[1:] < chosen[:-1]).all()):
            raise ValueError("alphas_cumprod must be strictly decreasing over the chosen timesteps")
        if float(chosen[0]) >= 1.0:
            raise ValueError("alphas_cumprod at the first chosen timestep must be < 1 (time 0 is the data itself)")
        alphas = torch.cat([torch.ones(1, dtype=DTYPE), chosen.sqrt()])
        sigmas = torch.cat([torch.zeros(1, dtype=DTYPE), (1 - chosen).sqrt()])
        return cls(alphas, sigmas, name=name)

    @classmethod
    def variance_exploding(cls, num_steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                           rho: float = 7.0) -> "Schedule":
        """VE schedule (``alpha = 1``) with the EDM spacing of noise levels.

        ``sigma_t`` for ``t = 1..N`` interpolates ``sigma_min^(1/rho)`` to
        ``sigma_max^(1/rho)`` linearly, raised to ``rho``; ``sigma_0 = 0``.
        """
        n = _num_steps(num_steps)
        smin = as_float(sigma_min, "sigma_min", positive=True)
        smax = as_float(sigma_max, "sigma_max", positive=True)
        r = as_float(rho, "rho", positive=True)
        if smax <= smin:
            raise ValueError(f"sigma_max must be > sigma_min, got sigma_min={smin!r}, sigma_max={smax!r}")
        frac = torch.linspace(0, 1, n, dtype=DTYPE) if n > 1 else torch.ones(1, dtype=DTYPE)
        levels = (smin ** (1 / r) + frac * (smax ** (1 / r) - smin ** (1 / r))) ** r
        sigmas = torch.cat([torch.zeros(1, dtype=DTYPE), levels])
        return cls(torch.ones(n + 1, dtype=DTYPE), sigmas, name="ve", variance_preserving=False)

    def ve_view(self) -> "Schedule":
        """The same noise levels as a VE schedule: ``sigma_ve = sigma / alpha``, ``alpha_ve = 1``.

        DDIM is invariant under this rescaling of ``z``; the student's training
        weights are not. Needs ``alpha_N > 0`` (the cosine schedule ends at 0).
        """
        if float(self.alphas[-1]) <= 0:
            raise ValueError("ve_view needs alphas[N] > 0; the schedule ends at pure noise (alpha_N = 0)")
        return Schedule(torch.ones_like(self.alphas), self.sigmas / self.alphas, name=f"{self.name} (VE view)",
                        variance_preserving=False)


def as_schedule(schedule, name: str = "schedule") -> Schedule:
    """Check that ``schedule`` is a :class:`Schedule`."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"{name} must be a lineardistill.Schedule, got {type(schedule).__name__}")
    return schedule
