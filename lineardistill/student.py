"""Students trained for a finite time: the closed-form merge rule (theory R6, R7).

Chapter 4 of the book (*Students and finite training*) explains this module;
the operator-merging picture is the one of Gao and Li (2025, arXiv:2505.16024),
the closed form is this book's own model of it.

A student replaces a block of consecutive operators ``C_1, ..., C_m`` that
carries ``z_t`` (the block's noisiest time ``t``) down to ``z_s``. It is a
multiplier ``S`` per coordinate, trained on ``L(S) = 1/2 E (S z_t - C z_t)^2``,
``C = C_m ... C_1``, by gradient flow. The loss is a quadratic with curvature
``E z_t^2 = ||v_t||^2``, so after training time ``tau`` at learning rate ``eta``

    S(tau) = w_t S(0) + (1 - w_t) C,    w_t = exp(-eta tau ||v_t||^2).

**Budget convention (the one place it is fixed):** ``ctau = eta * tau`` is the
single budget parameter, and ``w_t = exp(-ctau * ||v_t||^2)``. ``ctau = 0``
means no training (``S = S(0)``); ``ctau -> inf`` means exact merging.

The schedule, variances, budgets and start rule of a question are held by a
:class:`~lineardistill.problem.MergeProblem`, which also owns the merge rule
itself (:func:`~lineardistill.problem.combine`); the functions here accept a
problem or plain arguments. All of them broadcast ``lam`` against ``ctau``
(torch rules); results carry that broadcast shape in front of any time axes.

Real students trained in torch by gradient descent on sampled ``z_t`` (R8)
live in :mod:`lineardistill.training`; whole strategies (merge trees) in
:mod:`lineardistill.trees`.

>>> from lineardistill import Schedule, merge_block
>>> sch = Schedule.cosine(4)
>>> float(merge_block([0.9, 0.8], sch, 1.0, 0.0, 2, 4))   # no training: the warm start keeps C_1
0.9
"""

from __future__ import annotations

import torch

from ._checks import _show, as_int, as_tensor, broadcast, check_size, one_of
from .problem import INITS, MergeProblem, combine
from .schedule import as_schedule

__all__ = ["INITS", "coarse_multipliers", "initial_value", "merge_block", "merge_values", "training_weights"]


def training_weights(schedule, lam=None, ctau=None) -> torch.Tensor:
    """R6: ``w_t = exp(-ctau ||v_t||^2)`` for t = 0..N, the weight the trained student keeps on its start.

    Parameters
    ----------
    schedule : Schedule or MergeProblem
        The schedule (then ``lam`` and ``ctau`` are required) or a whole problem.
    lam, ctau : float or array_like
        Variances (``> 0``) and budgets (``>= 0``), broadcast together.

    Returns
    -------
    torch.Tensor
        Shape ``broadcast(lam, ctau) + (N+1,)``, entries in ``[0, 1]``.

    Examples
    --------
    >>> from lineardistill import Schedule
    >>> training_weights(Schedule.cosine(2), 1.0, 1.0)
    tensor([0.3679, 0.3679, 0.3679], dtype=torch.float64)
    """
    return MergeProblem.of(schedule, lam, ctau).w


def coarse_multipliers(schedule, lam) -> torch.Tensor:
    """The one-jump DDIM operator from time ``t`` straight to time ``s``: ``<v_s, v_t> / ||v_t||^2``.

    Returns a table of shape ``lam.shape + (N+1, N+1)`` indexed ``[s, t]``; for
    ``t = s + 1`` it is the teacher step ``r_t``, on the diagonal it is 1.

    >>> from lineardistill import Schedule, teacher_multipliers
    >>> sch = Schedule.cosine(3)
    >>> bool(torch.allclose(coarse_multipliers(sch, 2.0)[0, 1], teacher_multipliers(sch, 2.0)[0]))
    True
    """
    sch = as_schedule(schedule)
    lam = as_tensor(lam, "lam", positive=True, device=sch.alphas.device)
    n = sch.num_steps + 1
    check_size(max(1, lam.numel()) * n * n, f"the coarse table for N = {n - 1}", "use fewer variances or steps")
    lam = lam[..., None]
    a, sg = sch.alphas, sch.sigmas
    dot = (a[:, None] * a[None, :]) * lam[..., None] + sg[:, None] * sg[None, :]
    return dot / (a[None, :] ** 2 * lam[..., None] + sg[None, :] ** 2)


def merge_values(start, product, weight) -> torch.Tensor:
    """R6 as arithmetic: ``weight * start + (1 - weight) * product``, a convex combination.

    ``weight`` must lie in ``[0, 1]``; the three arguments broadcast together.
    The arithmetic is :func:`lineardistill.problem.combine`, the one place the
    merge rule is written.

    >>> float(merge_values(1.0, 0.5, 0.25))
    0.625
    """
    start = as_tensor(start, "start")
    product = as_tensor(product, "product", device=start.device)
    weight = as_tensor(weight, "weight", device=start.device)
    if weight.numel() and not bool(((weight >= 0) & (weight <= 1)).all()):
        raise ValueError(f"weight must lie in [0, 1], got {_show(weight)}")
    start, product, weight = broadcast(start=start, product=product, weight=weight)
    return combine(product, 1.0, weight, start)


def initial_value(init, first_child, schedule, lam, s: int, t: int) -> torch.Tensor:
    """The student's starting multiplier ``S(0)`` for a block from time ``t`` down to ``s``.

    Parameters
    ----------
    init : str
        One of :data:`INITS`: ``"warm"`` (``first_child``, the operator that
        already acts at time ``t``, R7), ``"zero"``, ``"identity"``,
        ``"teacher"`` (the teacher step ``r_t``) or ``"coarse"``
        (``<v_s, v_t> / ||v_t||^2``).
    first_child : float or array_like
        The value of the block's first (noisiest) child.
    schedule : Schedule
    lam : float or array_like
        Variances; used by ``"teacher"`` and ``"coarse"`` only.
    s, t : int
        The block runs from time ``t`` down to ``s``, ``0 <= s < t <= N``.

    Returns
    -------
    torch.Tensor
        ``S(0)``, broadcast with ``first_child`` (and ``lam`` where used).

    Examples
    --------
    >>> from lineardistill import Schedule
    >>> float(initial_value("identity", 0.7, Schedule.cosine(4), 1.0, 1, 3))
    1.0
    """
    init = one_of(init, "init", INITS)
    sch = as_schedule(schedule)
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    first = as_tensor(first_child, "first_child")
    if init == "warm":
        return first
    if init in ("zero", "identity"):
        return torch.full_like(first, 0.0 if init == "zero" else 1.0)
    problem = MergeProblem(sch, lam, 0.0, init)
    start, first = broadcast(lam=problem.start(s, t), first_child=first.to(problem.device))
    return start.clone()


def merge_block(child_values, schedule, lam=None, ctau=None, s: int | None = None, t: int | None = None,
                init: str = "warm") -> torch.Tensor:
    """R6/R7: the trained student's multiplier for one block from time ``t`` down to ``s``.

    Parameters
    ----------
    child_values : sequence
        The children's multipliers ``m(C_1), ..., m(C_m)``, ``C_1`` acting first
        (the noisiest child); each broadcasts with ``lam`` and ``ctau``.
    schedule : Schedule or MergeProblem
        A schedule given with ``lam``, ``ctau`` (and ``init``), or a problem.
    s, t : int
        The block, ``0 <= s < t <= N``.

    Returns
    -------
    torch.Tensor
        ``f_t(m(C_1), prod_{j>=2} m(C_j))`` (:meth:`MergeProblem.merge`); with the
        warm start ``m(C_1) (w_t + (1 - w_t) prod_{j>=2} m(C_j))``.
    """
    problem = MergeProblem.of(schedule, lam, ctau, init)
    if isinstance(child_values, (str, bytes)) or not hasattr(child_values, "__len__"):
        raise TypeError(f"child_values must be a sequence of multipliers, got {_show(child_values)}")
    if len(child_values) < 1:
        raise ValueError("child_values must hold at least one multiplier")
    t = as_int(t, "t", minimum=1, maximum=problem.num_steps)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    named = {f"child_values[{i}]": as_tensor(c, f"child_values[{i}]", device=problem.device)
             for i, c in enumerate(child_values)}
    _, _, *children = broadcast(lam=problem.lam, ctau=problem.ctau, **named)
    rest = torch.ones_like(children[0])
    for c in children[1:]:
        rest = rest * c
    merged = problem.merge(children[0], rest, s, t)
    return broadcast(merged=merged, first=children[0])[0].clone()
