"""Students trained for a finite time: the closed-form merge rule (theory R6, R7).

A student replaces a block of consecutive operators ``C_1, ..., C_m`` that
carries ``z_t`` (the block's noisiest time ``t``) down to ``z_s``. It is a
multiplier ``S`` per coordinate, trained on ``L(S) = 1/2 E (S z_t - C z_t)^2``,
``C = C_m ... C_1``, by gradient flow. The loss is a quadratic with curvature
``E z_t^2 = ||v_t||^2``, so after training time ``tau`` at learning rate ``eta``

    S(tau) = w_t S(0) + (1 - w_t) C,    w_t = exp(-eta tau ||v_t||^2).

**Budget convention (the one place it is fixed):** ``ctau = eta * tau`` is the
single budget parameter, and ``w_t = exp(-ctau * ||v_t||^2)``. ``ctau = 0``
means no training (``S = S(0)``); ``ctau -> inf`` means exact merging.

All functions broadcast ``lam`` against ``ctau`` (torch rules); results carry
that broadcast shape in front of any time axes.

Real students trained in torch by gradient descent on sampled ``z_t`` (R8),
and how a run's learning rate and number of steps map onto ``ctau``, live in
:mod:`lineardistill.training`; whole strategies (merge trees) in
:mod:`lineardistill.trees`.
"""

from __future__ import annotations

import torch

from ._checks import _show, as_int, as_tensor, broadcast, one_of
from .schedule import as_schedule
from .teacher import _multipliers, _norms

from .problem import INITS  # noqa: E402  (re-exported: the start rules live with the merge problem)


def _lam_ctau(schedule, lam, ctau):
    device = schedule.alphas.device
    lam = as_tensor(lam, "lam", positive=True, device=device)
    ctau = as_tensor(ctau, "ctau", nonnegative=True, device=device)
    return broadcast(lam=lam, ctau=ctau)


def training_weights(schedule, lam, ctau) -> torch.Tensor:
    """R6: ``w_t = exp(-ctau ||v_t||^2)`` for t = 0..N, shape ``broadcast(lam, ctau) + (N+1,)``.

    ``w_t`` is the weight the trained student keeps on its starting operator.
    """
    s = as_schedule(schedule)
    return _weights(s, *_lam_ctau(s, lam, ctau))


def _weights(s, lam: torch.Tensor, ctau: torch.Tensor) -> torch.Tensor:
    """R6 weights on an already validated schedule and broadcast (lam, ctau) tensors."""
    return torch.exp(-ctau[..., None] * _norms(s, lam) ** 2)


def coarse_multipliers(schedule, lam) -> torch.Tensor:
    """The one-jump DDIM operator from time ``t`` straight to time ``s``: ``<v_s, v_t> / ||v_t||^2``.

    Table of shape ``lam.shape + (N+1, N+1)`` indexed ``[s, t]``; for ``t = s + 1`` it
    is the teacher step ``r_t``, on the diagonal it is 1.
    """
    sch = as_schedule(schedule)
    lam = as_tensor(lam, "lam", positive=True, device=sch.alphas.device)[..., None]
    a, sg = sch.alphas, sch.sigmas
    dot = (a[:, None] * a[None, :]) * lam[..., None] + sg[:, None] * sg[None, :]
    return dot / (a[None, :] ** 2 * lam[..., None] + sg[None, :] ** 2)


def _convex(start, product, weight):
    return weight * start + (1 - weight) * product


def merge_values(start, product, weight) -> torch.Tensor:
    """R6 as arithmetic: ``weight * start + (1 - weight) * product`` (a convex combination, ``0 <= weight <= 1``)."""
    start = as_tensor(start, "start")
    product = as_tensor(product, "product", device=start.device)
    weight = as_tensor(weight, "weight", device=start.device)
    if weight.numel() and not bool(((weight >= 0) & (weight <= 1)).all()):
        raise ValueError(f"weight must lie in [0, 1], got {_show(weight)}")
    return _convex(*broadcast(start=start, product=product, weight=weight))


def initial_value(init, first_child, schedule, lam, s: int, t: int) -> torch.Tensor:
    """The student's starting multiplier ``S(0)`` for a block from time ``t`` down to ``s``.

    ``init`` is one of :data:`INITS`:

    - ``"warm"`` (default in the book): ``first_child``, the operator that
      already acts at time ``t`` (R7);
    - ``"zero"``: 0; ``"identity"``: 1;
    - ``"teacher"``: the teacher step ``r_t`` at the block's top time;
    - ``"coarse"``: the one-jump DDIM operator ``<v_s, v_t> / ||v_t||^2``.
    """
    init = one_of(init, "init", INITS)
    sch = as_schedule(schedule)
    n = sch.num_steps
    t = as_int(t, "t", minimum=1, maximum=n)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    first = as_tensor(first_child, "first_child")
    if init in ("warm", "zero", "identity"):
        return _start(init, first, sch, None, s, t)
    lam = as_tensor(lam, "lam", positive=True, device=sch.alphas.device)
    return broadcast(lam=_start(init, first, sch, lam, s, t), first_child=first)[0].clone()


def _start(init, first, sch, lam, s: int, t: int, r=None) -> torch.Tensor:
    """``S(0)`` on validated inputs; ``r`` (the teacher multipliers) is reused when the caller has it.

    Returns the value unbroadcast for ``"teacher"`` and ``"coarse"`` (shape of ``lam``).
    """
    if init == "warm":
        return first
    if init == "zero":
        return torch.zeros_like(first)
    if init == "identity":
        return torch.ones_like(first)
    if init == "teacher":
        return (_multipliers(sch, lam) if r is None else r)[..., t - 1]
    a, sg = sch.alphas, sch.sigmas  # the coarse one-jump operator <v_s, v_t> / ||v_t||^2
    return (a[s] * a[t] * lam + sg[s] * sg[t]) / (a[t] ** 2 * lam + sg[t] ** 2)


def merge_block(child_values, schedule, lam, ctau, s: int, t: int, init: str = "warm") -> torch.Tensor:
    """R6/R7: the trained student's multiplier for one block from time ``t`` down to ``s``.

    ``child_values`` is a sequence of the children's multipliers ``m(C_1), ..., m(C_m)``,
    ``C_1`` acting first (the noisiest child). Shapes broadcast with ``lam`` and ``ctau``.
    With the warm start the result is ``m(C_1) (w_t + (1 - w_t) prod_{j>=2} m(C_j))``.
    """
    sch = as_schedule(schedule)
    if isinstance(child_values, (str, bytes)) or not hasattr(child_values, "__len__"):
        raise TypeError(f"child_values must be a sequence of multipliers, got {_show(child_values)}")
    if len(child_values) < 1:
        raise ValueError("child_values must hold at least one multiplier")
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    lam_b, ctau_b = _lam_ctau(sch, lam, ctau)
    children = [as_tensor(c, f"child_values[{i}]", device=sch.alphas.device) for i, c in enumerate(child_values)]
    named = {f"child_values[{i}]": c for i, c in enumerate(children)}
    lam_b, ctau_b, *children = broadcast(lam=lam_b, ctau=ctau_b, **named)
    product = children[0]
    for c in children[1:]:
        product = product * c
    weight = training_weights(sch, lam_b, ctau_b)[..., t]
    start = initial_value(init, children[0], sch, lam_b, s, t)
    return merge_values(start, product, weight)
