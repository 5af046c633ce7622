"""The DDIM teacher in the linear Gaussian regime (theory R1 to R5).

Chapters 2 (*The geometry of a DDIM step*) and 3 (*How much signal the teacher
keeps*) of the book explain this module. The linear-Gaussian reading of DDIM
follows Gao and Li (2025, arXiv:2505.16024); the formulas are derived in the
book (and proved by :mod:`lineardistill.symbolic`).

Data ``x_0 ~ N(0, lam)`` per coordinate. Every function is batched over a
tensor of variances ``lam`` of any shape: results have shape
``lam.shape + (time axis,)``. Step ``j`` (0-based) on a step axis is the step
from time ``j + 1`` to time ``j``. Products over many steps are sums of logs,
so that N up to 10,000 and variances from 1e-6 to 1e6 stay finite.

>>> from lineardistill import Schedule, teacher_multipliers, composite
>>> sch = Schedule.cosine(4)
>>> r = teacher_multipliers(sch, [0.5, 1.0, 4.0])
>>> tuple(r.shape)
(3, 4)
>>> bool(torch.allclose(r.prod(-1), composite(sch, [0.5, 1.0, 4.0])))
True
"""

from __future__ import annotations

import torch

from ._checks import as_int, as_tensor, broadcast, check_size
from .schedule import as_schedule


def _lam(schedule, lam, per_time: int = 1) -> torch.Tensor:
    """``lam`` validated, on the schedule's device, after checking that a table over time would fit in memory."""
    lam = as_tensor(lam, "lam", positive=True, device=schedule.alphas.device)
    check_size(max(1, lam.numel()) * (schedule.num_steps + 1) * per_time,
               f"a table over {schedule.num_steps + 1:,} times for {lam.numel():,} variances",
               "use fewer variances or steps")
    return lam


def _variances(lam, schedule):
    return _lam(schedule, lam)[..., None]


def denoiser_gain(schedule, lam) -> torch.Tensor:
    """R1: the gain ``g_t`` of the optimal denoiser ``E[x_0 | z_t] = g_t z_t``, for t = 0..N.

    ``g_t = alpha_t lam / (alpha_t^2 lam + sigma_t^2)``; ``g_0 = 1``.
    """
    s = as_schedule(schedule)
    lam = _variances(lam, s)
    return s.alphas * lam / (s.alphas**2 * lam + s.sigmas**2)


def denoise(z, t: int, schedule, lam) -> torch.Tensor:
    """R1: the posterior mean ``E[x_0 | z_t]`` for a batch of latents ``z`` (last axis: coordinates).

    ``lam`` holds one variance per coordinate (or one for all).
    """
    s = as_schedule(schedule)
    t = as_int(t, "t", minimum=0, maximum=s.num_steps)
    z = as_tensor(z, "z", device=s.alphas.device)
    gain, z = broadcast(lam=denoiser_gain(s, lam)[..., t], z=z)
    return gain * z


def signal_noise_vectors(schedule, lam) -> torch.Tensor:
    """R3: ``v_t = (alpha_t sqrt(lam), sigma_t)`` for t = 0..N; last axis holds the two components."""
    s = as_schedule(schedule)
    lam = _variances(lam, s)
    signal = s.alphas * lam.sqrt()
    noise = s.sigmas.expand_as(signal)
    return torch.stack([signal, noise], dim=-1)


def vector_norms(schedule, lam) -> torch.Tensor:
    """R3: ``||v_t|| = sqrt(alpha_t^2 lam + sigma_t^2)``, the standard deviation of ``z_t``, t = 0..N."""
    s = as_schedule(schedule)
    return _norms(s, _lam(s, lam))


def _norms(s, lam: torch.Tensor) -> torch.Tensor:
    """R3 norms on an already validated schedule and variance tensor."""
    return torch.sqrt(s.alphas**2 * lam[..., None] + s.sigmas**2)


def step_angles(schedule, lam) -> torch.Tensor:
    """R3: the angle ``theta_t`` between ``v_{t-1}`` and ``v_t`` for each step t = 1..N.

    Computed with ``atan2(cross, dot)`` so that tiny angles (large N) keep
    full relative precision.
    """
    s = as_schedule(schedule)
    lam = _variances(lam, s)
    a0, a1, s0, s1 = s.alphas[:-1], s.alphas[1:], s.sigmas[:-1], s.sigmas[1:]
    dot = a0 * a1 * lam + s0 * s1
    cross = lam.sqrt() * (a0 * s1 - s0 * a1)
    return torch.atan2(cross, dot)


def flow_ratios(schedule, lam) -> torch.Tensor:
    """R3: ``||v_{t-1}|| / ||v_t||``, the exact probability-flow transport of a step, t = 1..N."""
    norms = vector_norms(schedule, lam)
    return norms[..., :-1] / norms[..., 1:]


def teacher_multipliers(schedule, lam) -> torch.Tensor:
    """R2: the DDIM multipliers ``r_t`` with ``z_{t-1} = r_t z_t``.

    ``r_t = (alpha_{t-1} alpha_t lam + sigma_{t-1} sigma_t) / (alpha_t^2 lam + sigma_t^2)``.

    Parameters
    ----------
    schedule : Schedule
    lam : float or array_like
        Data variances, finite and ``> 0``, any shape.

    Returns
    -------
    torch.Tensor
        Shape ``lam.shape + (N,)``; entry ``j`` is the step from time ``j + 1`` to time ``j``.

    Raises
    ------
    TypeError, ValueError
        For a non-schedule, or variances that are not finite positive reals
        (booleans and complex values included), or a table too large for memory.
    """
    s = as_schedule(schedule)
    return _multipliers(s, _lam(s, lam))


def _multipliers(s, lam: torch.Tensor) -> torch.Tensor:
    """R2 on an already validated schedule and variance tensor (callers that checked them skip the checks)."""
    a0, a1, s0, s1 = s.alphas[:-1], s.alphas[1:], s.sigmas[:-1], s.sigmas[1:]
    lam = lam[..., None]
    return (a0 * a1 * lam + s0 * s1) / (a1**2 * lam + s1**2)


def log_cos_angles(schedule, lam) -> torch.Tensor:
    """``log cos(theta_t)`` per step, as ``log1p(-2 sin^2(theta/2))`` (accurate for tiny angles)."""
    theta = step_angles(schedule, lam)
    return torch.log1p(-2 * torch.sin(theta / 2) ** 2)


def log_composites(schedule, lam) -> torch.Tensor:
    """R4: the table ``log T(s, t)`` for all ``0 <= s <= t <= N``, shape ``lam.shape + (N+1, N+1)``.

    ``T(s, t) = prod_{j=s+1..t} r_j``; entries with ``s >= t`` are 0 (``T = 1``,
    the empty product, also on the diagonal). When a step has ``r = 0`` (the
    single step of ``Schedule.cosine(1)``, which ends at ``alpha_N = 0``) the
    entries across it are ``-inf`` (``T = 0``), never NaN.

    >>> from lineardistill import Schedule
    >>> log_composites(Schedule.cosine(1), 1.0)
    tensor([[0., -inf],
            [0., 0.]], dtype=torch.float64)
    """
    sch = as_schedule(schedule)
    lam = _lam(sch, lam, per_time=2 * (sch.num_steps + 1))
    log_r = torch.log(_multipliers(sch, lam))
    cumulative = torch.nn.functional.pad(torch.cumsum(log_r, dim=-1), (1, 0))
    table = cumulative[..., None, :] - cumulative[..., :, None]
    # -inf - (-inf) is NaN on and below the diagonal behind an r = 0 step; those entries are the empty product
    upper = torch.ones(table.shape[-2:], dtype=torch.bool, device=table.device).triu(diagonal=1)
    return torch.where(upper, table, torch.zeros((), dtype=table.dtype, device=table.device))


def composite(schedule, lam, s: int = 0, t: int | None = None) -> torch.Tensor:
    """R4: the composite teacher ``T(s, t) = prod_{j=s+1..t} r_j`` mapping ``z_t`` to ``z_s``.

    Parameters
    ----------
    schedule : Schedule
    lam : float or array_like
        Data variances, finite and ``> 0``.
    s, t : int, optional
        ``0 <= s <= t <= N``; the defaults give the whole sampler ``T = T(0, N)``.

    Returns
    -------
    torch.Tensor
        Shape ``lam.shape``, computed as a sum of logs (stable for N up to 10,000).
    """
    sch = as_schedule(schedule)
    n = sch.num_steps
    t = n if t is None else as_int(t, "t", minimum=0, maximum=n)
    s = as_int(s, "s", minimum=0, maximum=n)
    if s > t:
        raise ValueError(f"s must be <= t, got s={s}, t={t}")
    log_r = torch.log(teacher_multipliers(sch, lam))
    return torch.exp(log_r[..., s:t].sum(dim=-1))


def teacher_variance_ratio(schedule, lam) -> torch.Tensor:
    """R5: ``Var(teacher output) / lam = prod_t cos^2(theta_t)`` for ``z_N ~ N(0, ||v_N||^2)``.

    At most 1; the missing fraction is the discretization shrinkage.
    """
    return torch.exp(2 * log_cos_angles(schedule, lam).sum(dim=-1))


def teacher_output_variance(schedule, lam) -> torch.Tensor:
    """R5: the variance of the teacher's sample, ``T^2 ||v_N||^2 = lam prod_t cos^2(theta_t)``."""
    lam_t = _lam(as_schedule(schedule), lam)
    return lam_t * teacher_variance_ratio(schedule, lam_t)


def run_ddim(z_start, schedule, lam) -> torch.Tensor:
    """Run the teacher from ``z_N`` down to ``z_0`` by the DDIM update through the denoiser.

    A direct, step-by-step implementation (``x0_hat`` then ``eps_hat``), used to
    check R2 and for sampling. ``z_start`` has coordinates on its last axis.
    """
    s = as_schedule(schedule)
    z = as_tensor(z_start, "z_start", device=s.alphas.device)
    gain = denoiser_gain(s, lam)
    for t in range(s.num_steps, 0, -1):
        x0_hat = gain[..., t] * z
        eps_hat = (z - s.alphas[t] * x0_hat) / s.sigmas[t]
        z = s.alphas[t - 1] * x0_hat + s.sigmas[t - 1] * eps_hat
    return z
