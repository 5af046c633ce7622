"""The merge problem: one schedule, variances, budgets and a start rule, validated once.

Chapter 4 of the book (*Students and finite training*) explains what is held
here; chapters 5 to 7 use it. The model is the book's own reading of the
operator-merging picture of Gao and Li (2025, arXiv:2505.16024).

Every question the library answers about merging (the value of a tree, the
optimal tree, the phase of a point, a training run) is asked about the same
data: a :class:`~lineardistill.schedule.Schedule`, a tensor of variances
``lam``, a tensor of budgets ``ctau`` and an initialization ``init``. A
:class:`MergeProblem` checks them once, broadcasts ``lam`` against ``ctau``,
and holds what every algorithm needs:

- ``r``: the teacher multipliers ``r_t`` (theory R2), shape ``batch + (N,)``,
  entry ``j`` the step from time ``j + 1`` to ``j``;
- ``w``: the training weights ``w_t = exp(-ctau ||v_t||^2)`` (R6), shape
  ``batch + (N+1,)``, entry ``t`` for time ``t``;
- ``norms``: ``||v_t||`` (R3), shape ``batch + (N+1,)``;
- ``T``: the teacher composite ``prod_t r_t`` (R4), shape ``batch``;
- the one merge rule ``f_t(a, b)`` (R6, R7), :meth:`MergeProblem.merge`.

**The merge rule.** A student over the steps ``s+1..t`` whose first (noisiest)
child has value ``a`` and whose remaining children multiply to ``b`` is

- warm start: ``f_t(a, b) = a (w_t + (1 - w_t) b)``;
- any other start ``S0(s, t)``: ``f_t(a, b) = w_t S0(s, t) + (1 - w_t) a b``.

Public functions elsewhere keep accepting plain arguments and build a problem
with :meth:`MergeProblem.of`, which passes an existing problem through
unchanged, so nothing is validated twice.

>>> import torch
>>> from lineardistill import MergeProblem, Schedule
>>> p = MergeProblem(Schedule.cosine(4), lam=[0.5, 2.0], ctau=1.0)
>>> p.shape, p.num_steps
((2,), 4)
>>> m = p.merge(p.r[..., 3], p.r[..., 2], 2, 4)   # the student (4, 3), warm start
>>> lo, hi = torch.minimum(p.r[..., 3], p.composite(2, 4)), torch.maximum(p.r[..., 3], p.composite(2, 4))
>>> bool(((lo <= m) & (m <= hi)).all())          # a convex combination of r_4 and r_4 r_3
True
"""

from __future__ import annotations

import torch

from ._checks import as_int, as_tensor, broadcast, check_size, one_of
from .schedule import as_schedule
from .teacher import _multipliers, _norms

TOLERANCE = 1e-12
"""Relative tolerance for telling two merge values apart (``m`` against ``T``): rounding level of float64 products.

The one definition; :mod:`lineardistill.dp` and :mod:`lineardistill.phase` use
the same number.
"""

INITS = ("warm", "zero", "identity", "teacher", "coarse")
"""Starting operators a student can be trained from:

- ``"warm"`` (the book's default): the operator that already acts at the
  block's top time, i.e. the first child (R7);
- ``"zero"``: 0; ``"identity"``: 1;
- ``"teacher"``: the teacher step ``r_t`` at the block's top time ``t``;
- ``"coarse"``: the one-jump DDIM operator ``<v_s, v_t> / ||v_t||^2``.
"""


class MergeProblem:
    """A validated merge problem: schedule, variances, budgets and start rule.

    Parameters
    ----------
    schedule : Schedule
        The teacher's noise schedule, ``N = schedule.num_steps`` steps.
    lam : float or array_like
        Data variances, every entry finite and ``> 0``.
    ctau : float or array_like
        Training budgets ``c * tau``, every entry finite and ``>= 0``; broadcast
        against ``lam`` by torch rules.
    init : str, default "warm"
        One of :data:`INITS`.

    Attributes
    ----------
    schedule, init, lam, ctau, shape
        The inputs; ``lam`` and ``ctau`` broadcast to ``shape``.
    r, w, norms, T
        See the module docstring.

    Raises
    ------
    TypeError, ValueError
        When an argument has the wrong type or value; the message names it.
    """

    __slots__ = ("schedule", "init", "lam", "ctau", "shape", "r", "w", "norms", "T", "_log_r")

    def __init__(self, schedule, lam, ctau, init: str = "warm"):
        sch = as_schedule(schedule)
        dev = sch.alphas.device
        self.schedule = sch
        self.init = one_of(init, "init", INITS)
        lam = as_tensor(lam, "lam", positive=True, device=dev)
        ctau = as_tensor(ctau, "ctau", nonnegative=True, device=dev)
        self.lam, self.ctau = broadcast(lam=lam, ctau=ctau)
        self.shape = tuple(self.lam.shape)
        check_size(4 * _numel(self.shape) * (sch.num_steps + 1), f"a merge problem with {_numel(self.shape):,} "
                   f"variance/budget entries and N = {sch.num_steps}", "split lam or ctau into smaller batches")
        self.r = _multipliers(sch, self.lam)
        self.norms = _norms(sch, self.lam)
        # exp(-ctau * ||v||^2): ctau * ||v||^2 can be large, exp then underflows to 0 (exact merge), never NaN
        self.w = torch.exp(-self.ctau[..., None] * self.norms**2)
        self._log_r = torch.log(self.r)
        self.T = torch.exp(self._log_r.sum(dim=-1))

    # ----------------------------------------------------------- building
    @classmethod
    def of(cls, schedule, lam=None, ctau=None, init: str = "warm") -> "MergeProblem":
        """``schedule`` itself when it is already a problem, else ``MergeProblem(schedule, lam, ctau, init)``.

        Lets public functions accept either a problem or plain arguments. When a
        problem is passed, ``lam``, ``ctau`` and ``init`` must be left at their defaults.
        """
        if isinstance(schedule, MergeProblem):
            if lam is not None or ctau is not None or init != "warm":
                raise ValueError("pass either a MergeProblem or (schedule, lam, ctau, init), not both: "
                                 "lam, ctau and init are already fixed by the problem")
            return schedule
        if lam is None or ctau is None:
            raise TypeError("lam and ctau are required when schedule is a Schedule, not a MergeProblem")
        return cls(schedule, lam, ctau, init)

    def flat(self) -> "MergeProblem":
        """The same problem with its batch flattened to one axis (``shape == (B,)``), sharing no validation."""
        out = object.__new__(MergeProblem)
        out.schedule, out.init = self.schedule, self.init
        b = max(1, _numel(self.shape)) if self.shape else 1
        out.lam, out.ctau = self.lam.reshape(b), self.ctau.reshape(b)
        out.shape = (b,)
        out.r, out.w = self.r.reshape(b, -1), self.w.reshape(b, -1)
        out.norms, out._log_r = self.norms.reshape(b, -1), self._log_r.reshape(b, -1)
        out.T = self.T.reshape(b)
        return out

    def with_init(self, init: str) -> "MergeProblem":
        """The same problem with another start rule (no re-validation of the numbers)."""
        init = one_of(init, "init", INITS)
        out = object.__new__(MergeProblem)
        for name in self.__slots__:
            object.__setattr__(out, name, getattr(self, name))
        out.init = init
        return out

    # ----------------------------------------------------------- queries
    @property
    def num_steps(self) -> int:
        """``N``, the number of teacher steps."""
        return self.schedule.num_steps

    @property
    def device(self) -> torch.device:
        """The device the problem's tensors live on (the schedule's)."""
        return self.schedule.alphas.device

    def composite(self, s: int = 0, t: int | None = None) -> torch.Tensor:
        """``T(s, t) = prod_{j=s+1..t} r_j`` (R4), from logs; shape ``batch``."""
        n = self.num_steps
        t = n if t is None else as_int(t, "t", minimum=0, maximum=n)
        s = as_int(s, "s", minimum=0, maximum=t)
        return torch.exp(self._log_r[..., s:t].sum(dim=-1))

    def start(self, s, t, first=None) -> torch.Tensor | None:
        """The start value ``S0(s, t)`` of a student over the steps ``s+1..t``.

        ``s`` and ``t`` are ints or integer tensors (broadcast together); the
        result has shape ``batch + broadcast(s, t).shape``. Returns ``first`` (the
        first child's value) under the warm start, which has no fixed start.
        """
        if self.init == "warm":
            return first
        s_idx, t_idx = torch.as_tensor(s, device=self.device), torch.as_tensor(t, device=self.device)
        s_idx, t_idx = torch.broadcast_tensors(s_idx, t_idx)
        batch = self.shape + tuple(s_idx.shape)
        if self.init == "zero":
            return torch.zeros(batch, dtype=self.r.dtype, device=self.device)
        if self.init == "identity":
            return torch.ones(batch, dtype=self.r.dtype, device=self.device)
        if self.init == "teacher":
            return self.r[..., t_idx - 1]
        a, sg = self.schedule.alphas, self.schedule.sigmas
        lam = self.lam.reshape(self.shape + (1,) * s_idx.ndim)
        return (a[s_idx] * a[t_idx] * lam + sg[s_idx] * sg[t_idx]) / (a[t_idx] ** 2 * lam + sg[t_idx] ** 2)

    def merge(self, a, b, s: int, t: int) -> torch.Tensor:
        """The merge rule ``f_t(a, b)`` for a student over ``s+1..t`` (R6, R7).

        ``a`` is the first (noisiest) child's value, ``b`` the product of the
        other children's values; both broadcast against the batch.
        """
        start = None if self.init == "warm" else self.start(s, t)
        return combine(a, b, self.w[..., t], start)


def combine(a, b, w, start=None):
    """The arithmetic of the merge rule on tensors that already line up.

    ``start=None`` is the warm start ``a (w + (1 - w) b)``; otherwise
    ``w start + (1 - w) a b``. This is the one place the rule is written;
    :meth:`MergeProblem.merge`, the tree evaluator and the DP all call it.
    """
    if start is None:
        return a * (w + (1 - w) * b)
    return w * start + (1 - w) * (a * b)


def _numel(shape) -> int:
    n = 1
    for k in shape:
        n *= k
    return n
