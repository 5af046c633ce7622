"""Optimal merge trees by dynamic programming (theory R10 to R13; chapter 6 of the book).

The model is the book's own reading of the operator-merging picture of Gao and
Li (2025, arXiv:2505.16024), whose abstract proposes a dynamic programme for the
merging strategy.

Notation: ``V(s, t)`` is a value of a *single operator* over the steps
``s+1..t`` (a leaf when ``t = s + 1``, else a trained student), ``G(s, t)`` a
value of a *sequence* of one or more single operators over the same steps.
A student over ``(s, t]`` whose first child covers ``(u, t]`` has the value
``f_t(V(u, t), G(s, u))``, with ``f_t`` the one merge rule of
:func:`lineardistill.problem.combine`. ``f_t`` is increasing in both arguments
for positive values (R10), so the least (largest) value of an interval is built
from the least (largest) values of its parts (R11):

    V(s, t) = opt_{s<u<t} f_t(V(u, t), G(s, u)),
    G(s, t) = opt{ V(s, t), opt_{s<u<t} V(u, t) G(s, u) }.

**One recurrence, two engines.** :func:`interval_dp` runs it in torch
(:func:`_torch_tables`: the only Python loop is over the interval length, all
intervals of one length and all their split points are one strided view; any
device, batched) or, on the CPU, in the compiled mirror
:func:`lineardistill.kernels.extreme_tables`, which performs the same IEEE
operations in the same order (bit-identical tables, tested). The trees are not
stored as back-pointers: :meth:`IntervalDP.tree` re-evaluates the merge rule
along the chosen tree only and picks the first split that reproduces the table
entry exactly.

The exact optimum in the window where tree values fall on both sides of ``T``
(R12) is found by branch and bound in :mod:`lineardistill.search`, bounded by
the tables computed here; the one tree shared by many coordinates (R13) is in
:mod:`lineardistill.shared`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import torch

from ._checks import as_float, as_int, one_of
from .problem import MergeProblem, combine
from .trees import MAX_ENUMERATION_STEPS, MergeTree, count_trees, shrinkage

OPTS = ("min", "max", "target")
"""Selection rules of :func:`interval_dp`: least value, largest value, or the
value closest to the teacher composite of each interval (a heuristic)."""

BACKENDS = ("auto", "numba", "torch")
"""Engines of :func:`interval_dp`: ``"auto"`` runs the compiled kernel for
``opt="min"``/``"max"`` on the CPU when numba is importable, torch otherwise."""

ENUMERATION_MAX_STEPS = MAX_ENUMERATION_STEPS
"""Largest ``N`` for which :func:`enumerate_values` lists every tree (518,859 trees at N = 11);
the same constant as :data:`lineardistill.trees.MAX_ENUMERATION_STEPS`."""

ENUMERATION_CHUNK = 2**22
"""Enumeration works on at most this many (batch element, tree) values at once."""

MAX_OPERATIONS = 2e11
"""Default cap on the estimated floating-point operations of one :func:`interval_dp` call
(``2`` per (interval, split point) pair, ``N^3 / 3`` pairs, times the batch and the number of
extremes): one to a few minutes on one CPU core at the compiled kernel's rate. Larger calls raise a
ValueError that states the estimate; pass ``max_operations=None`` to run them anyway."""

MAX_TABLE_BYTES = 2 * 2**30
"""Default cap on the memory of the kept tables (``pointers=True``); same override."""


class Extremes(NamedTuple):
    """The least and the largest one-step value over all merge trees (R11), each of the batch shape."""

    least: torch.Tensor
    largest: torch.Tensor


def _numba_kernels():
    """:mod:`lineardistill.kernels` when numba is importable, else ``None`` (imported on first use)."""
    try:
        from . import kernels
    except ImportError:  # pragma: no cover
        return None
    return kernels if kernels.NUMBA else None


def dp_cost(num_steps: int, batch: int = 1, extremes: int = 1) -> tuple[float, float]:
    """Estimated ``(floating-point operations, bytes of tables)`` of an interval DP.

    ``2 * N^3 / 3`` operations per point and extreme (two per (interval, split) pair, about
    ``N^3 / 6`` pairs for each of the two tables), and two ``(N+1, N+1)`` float64 tables.
    """
    n = as_int(num_steps, "num_steps", minimum=1)
    ops = 2.0 * (n**3 / 3.0) * batch * extremes
    return ops, 16.0 * (n + 1) ** 2 * batch * extremes


def check_cost(num_steps: int, batch: int, extremes: int, keep_tables: bool, max_operations, what: str) -> None:
    """Raise a ValueError stating the cost when a DP exceeds ``max_operations`` or the table-memory cap."""
    if max_operations is None:
        return
    limit = as_float(max_operations, "max_operations", positive=True)
    ops, mem = dp_cost(num_steps, batch, extremes)
    minutes = ops / 1e9 / 60
    if ops > limit:
        raise ValueError(
            f"{what} with num_steps={num_steps} and {batch} point(s) would take about {ops:.2g} floating-point "
            f"operations (O(N^3): roughly {minutes:.3g} min at 1 GFLOP/s) and {mem / 2**30:.3g} GiB of tables, over "
            f"max_operations={limit:.2g}; pass max_operations=None (or a larger number) to run it anyway")
    if keep_tables and mem > MAX_TABLE_BYTES * limit / MAX_OPERATIONS:
        raise ValueError(
            f"{what} with num_steps={num_steps} and {batch} point(s) would keep {mem / 2**30:.3g} GiB of tables "
            f"(pointers=True); pass pointers=False for values only, or max_operations=None to run it anyway")


# ------------------------------------------------------------ interval DP
@dataclass(frozen=True, eq=False)
class IntervalDP:
    """Result of the interval DP (R11) for a batch of (variance, budget) points.

    Attributes
    ----------
    problem : MergeProblem
        The problem it solved (flattened batch kept in ``shape``).
    opt : str
        ``"min"``, ``"max"`` or ``"target"``.
    value : torch.Tensor
        The root value ``V(0, N)``, shape ``shape``.
    V, G : torch.Tensor or None
        The tables, shape ``shape + (N+1, N+1)``: ``V[..., t, u] = V(u, t)`` (note the order) and
        ``G[..., s, u] = G(s, u)``; ``None`` when computed with ``pointers=False``.
    backend : str
        ``"numba"`` or ``"torch"``: the engine that ran.
    shape : tuple
        The batch shape.
    """

    problem: MergeProblem
    opt: str
    value: torch.Tensor
    V: torch.Tensor | None
    G: torch.Tensor | None
    backend: str
    shape: tuple

    @property
    def schedule(self):
        return self.problem.schedule

    def tree(self, index=()) -> MergeTree:
        """The merge tree the DP chose for batch element ``index`` (a tuple into ``value``)."""
        if self.V is None:
            raise ValueError("this IntervalDP was computed with pointers=False; rerun with pointers=True for trees")
        flat = _flat_index(index, self.shape)
        n = self.problem.num_steps
        V = self.V.reshape(-1, n + 1, n + 1)[flat]
        G = self.G.reshape(-1, n + 1, n + 1)[flat]
        return _rebuild(self.problem.flat(), flat, V, G)


def _rebuild(p, i, V, G) -> MergeTree:
    """The tree behind ``V(0, N)`` of batch element ``i``: at each node the first split whose merge
    (the one rule, :func:`~lineardistill.problem.combine`) reproduces the table entry bit for bit.

    Iterative, so chains of thousands of steps rebuild without recursion; O(N) work per node.
    """
    n = p.num_steps
    w = p.w[i]
    out, stack = [], [("S", 0, n)]
    while stack:
        op, s, t = stack.pop()
        if op == "S":
            if t == s + 1:
                out.append(MergeTree.leaf(t))
                continue
            a, b = V[t, s + 1:t], G[s, s + 1:t]
            start = None if p.init == "warm" else p.start(s, t)[i]
            k = _first_equal(combine(a, b, w[t], start), V[t, s])
            u = s + 1 + k
            stack += [("node", 0, 0), ("Q", s, u), ("S", u, t)]
        elif op == "Q":
            if t == s + 1 or bool(G[s, t] == V[t, s]):
                stack += [("wrap", 0, 0), ("S", s, t)]
            else:
                u = s + 1 + _first_equal(V[t, s + 1:t] * G[s, s + 1:t], G[s, t])
                stack += [("cons", 0, 0), ("Q", s, u), ("S", u, t)]
        elif op == "wrap":
            out.append([out.pop()])
        else:
            rest = out.pop()
            first = out.pop()
            out.append(MergeTree.node([first] + rest) if op == "node" else [first] + rest)
    return out[0]


def _first_equal(candidates, entry) -> int:
    hit = torch.nonzero(candidates == entry)
    if hit.numel() == 0:  # cannot happen when the table came from the same arithmetic
        raise RuntimeError("internal error: no split reproduces the DP table entry")
    return int(hit[0, 0])


def _flat_index(index, shape):
    if not isinstance(index, tuple):
        index = (index,)
    if len(index) != len(shape):
        raise ValueError(f"index must have {len(shape)} entries for batch shape {tuple(shape)}, got {index!r}")
    flat = 0
    for i, (k, n) in enumerate(zip(index, shape)):
        k = as_int(k, f"index[{i}]", minimum=-n, maximum=n - 1) % n
        flat = flat * n + k
    return flat


def _start_table(p):
    """``S0(s, t)`` for every ``s, t``, shape ``(B, N+1, N+1)``; ``None`` under the warm start."""
    if p.init == "warm":
        return None
    idx = torch.arange(p.num_steps + 1, device=p.device)
    return p.start(idx[:, None], idx[None, :].clamp(min=1)).reshape(p.shape[0], p.num_steps + 1, p.num_steps + 1)


def _torch_tables(p, opt):
    """The recurrence in torch for a flat problem: tables ``(V, G)``, each ``(B, N+1, N+1)``.

    One Python iteration per interval length ``L``: the intervals ``(s, s+L]`` and their split
    points are strided views ``(B, N-L+1, L-1)`` of the tables, merged by :func:`combine`.
    """
    B, n = p.shape[0], p.num_steps
    dev, dt = p.device, p.r.dtype
    V = torch.zeros(B, n + 1, n + 1, dtype=dt, device=dev)    # V[b, t, u] = V(u, t)
    G = torch.zeros(B, n + 1, n + 1, dtype=dt, device=dev)    # G[b, s, u] = G(s, u)
    sq, m = (n + 1) ** 2, n + 2
    V.as_strided((B, n), (sq, m), n + 1).copy_(p.r)
    G.as_strided((B, n), (sq, m), 1).copy_(p.r)
    s0 = _start_table(p)
    if opt == "target":
        cum = torch.nn.functional.pad(torch.cumsum(p._log_r, dim=1), (1, 0))
    for L in range(2, n + 1):
        ns = n - L + 1
        a = V.as_strided((B, ns, L - 1), (sq, m, 1), L * (n + 1) + 1)     # V(s+k, s+L), k = 1..L-1
        b = G.as_strided((B, ns, L - 1), (sq, m, 1), 1)                   # G(s, s+k)
        start = None if s0 is None else s0.as_strided((B, ns, 1), (sq, m, 1), L)
        cand = combine(a, b, p.w[:, L:L + ns, None], start)
        prod = a * b
        if opt == "target":
            target = torch.exp(cum[:, L:L + ns] - cum[:, :ns])[..., None]   # T(s, s+L)
            best = cand.gather(-1, (cand - target).abs().argmin(-1, keepdim=True))[..., 0]
            best_p = prod.gather(-1, (prod - target).abs().argmin(-1, keepdim=True))[..., 0]
            gbest = torch.where((best_p - target[..., 0]).abs() < (best - target[..., 0]).abs(), best_p, best)
        elif opt == "min":
            best = cand.amin(-1)
            gbest = torch.minimum(best, prod.amin(-1))
        else:
            best = cand.amax(-1)
            gbest = torch.maximum(best, prod.amax(-1))
        V.as_strided((B, ns), (sq, m), L * (n + 1)).copy_(best)
        G.as_strided((B, ns), (sq, m), L).copy_(gbest)
    return V, G


def _kernel_tables(p, which, keep):
    """The compiled mirror for a flat problem on the CPU (``which``: 0 both extremes, 1 least, 2 largest).

    ``keep=True``: ``[(V, G)]`` per extreme asked, as torch tensors. ``keep=False``: the root values
    only, ``[least, largest]`` (entries not asked are meaningless), with per-thread scratch tables.
    """
    import numpy as np

    kern = _numba_kernels()
    B, n = p.shape[0], p.num_steps
    r = p.r.detach().cpu().numpy()
    w = p.w.detach().cpu().numpy()
    s0 = _start_table(p)
    s0 = np.zeros((B, 1, 1)) if s0 is None else s0.detach().cpu().numpy()
    warm = p.init == "warm"
    if not keep:
        out = np.zeros((2, B))
        kern.extreme_roots(r, w, s0, warm, which, out)
        return [torch.from_numpy(out[0]), torch.from_numpy(out[1])]
    full, tiny = (B, n + 1, n + 1), (B, 1, 1)
    lo = [np.zeros(full), np.zeros(full)] if which != 2 else [np.zeros(tiny), np.zeros(tiny)]
    hi = [np.zeros(full), np.zeros(full)] if which != 1 else [np.zeros(tiny), np.zeros(tiny)]
    if B == 1:      # one point: no parallel region (its thread wake-up can cost more than the DP)
        kern.point_tables(r[0], w[0], s0[0], warm, which, lo[0][0], lo[1][0], hi[0][0], hi[1][0])
    else:
        kern.extreme_tables(r, w, s0, warm, which, lo[0], lo[1], hi[0], hi[1])
    out = []
    if which != 2:
        out.append(tuple(torch.from_numpy(x) for x in lo))
    if which != 1:
        out.append(tuple(torch.from_numpy(x) for x in hi))
    return out


def _use_kernel(p, opt, backend):
    if backend == "torch" or opt == "target":
        if backend == "numba":
            raise ValueError("backend='numba' runs only opt='min' or 'max'; the target rule runs in torch")
        return False
    if p.device.type != "cpu":
        if backend == "numba":
            raise ValueError(f"backend='numba' runs on the CPU; this problem lives on {p.device}")
        return False
    if _numba_kernels() is None:
        if backend == "numba":
            raise RuntimeError("backend='numba' needs the numba package, which is not importable")
        return False
    return True


def interval_dp(schedule, lam=None, ctau=None, opt: str = "min", init: str = "warm", pointers: bool = True, *,
                backend: str = "auto", max_operations=MAX_OPERATIONS) -> IntervalDP:
    """R11: the least (``opt="min"``) or largest (``"max"``) one-step value over all merge trees.

    Parameters
    ----------
    schedule : Schedule or MergeProblem
        The schedule, or a whole problem (then leave ``lam``, ``ctau`` and ``init`` unset).
    lam, ctau : float or array_like
        Variances and budgets, broadcast together (the batch).
    opt : {"min", "max", "target"}
        ``"target"`` picks in each interval the candidate closest to its teacher composite
        ``T(s, t)``: a heuristic that returns the value of a real tree.
    init : str
        The start rule (:data:`lineardistill.problem.INITS`).
    pointers : bool
        Keep the tables, so that :meth:`IntervalDP.tree` can rebuild trees. ``False``: values only.
    backend : {"auto", "numba", "torch"}
        Which engine runs the recurrence (see the module docstring); the results agree bit for bit.
    max_operations : float or None
        Refuse calls whose estimated cost (:func:`dp_cost`) is larger; ``None`` removes the cap.

    Returns
    -------
    IntervalDP

    Raises
    ------
    TypeError, ValueError
        On invalid input, or when the call would exceed ``max_operations`` (the message states the
        estimated cost and how to override).
    """
    opt = one_of(opt, "opt", OPTS)
    if not isinstance(pointers, bool):
        raise TypeError(f"pointers must be a bool, got {pointers!r}")
    backend = one_of(backend, "backend", BACKENDS)
    prob = MergeProblem.of(schedule, lam, ctau, init)
    p = prob.flat()
    shape = tuple(prob.shape)
    n = p.num_steps
    check_cost(n, p.shape[0], 1, pointers, max_operations, "interval_dp")
    if _use_kernel(p, opt, backend):
        which = 1 if opt == "min" else 2
        if not pointers:
            value = _kernel_tables(p, which, False)[which - 1].to(p.device).reshape(shape)
            return IntervalDP(prob, opt, value, None, None, "numba", shape)
        V, G = _kernel_tables(p, which, True)[0]
        used = "numba"
    else:
        V, G = _torch_tables(p, opt)
        used = "torch"
    value = V[:, n, 0].to(p.device).reshape(shape)
    if not pointers:
        return IntervalDP(prob, opt, value, None, None, used, shape)
    return IntervalDP(prob, opt, value, V.to(p.device).reshape(shape + (n + 1, n + 1)),
                      G.to(p.device).reshape(shape + (n + 1, n + 1)), used, shape)


def extreme_tables(problem, max_operations=MAX_OPERATIONS):
    """Least and largest tables of a flat problem in one pass: ``((Vmin, Gmin), (Vmax, Gmax))``, torch tensors."""
    p = problem
    check_cost(p.num_steps, p.shape[0], 2, True, max_operations, "the min- and max-DP")
    if _use_kernel(p, "min", "auto"):
        return tuple(_kernel_tables(p, 0, True))
    return _torch_tables(p, "min"), _torch_tables(p, "max")


def extreme_values(schedule, lam=None, ctau=None, init: str = "warm", *,
                   max_operations=MAX_OPERATIONS) -> Extremes:
    """R11: the least and the largest one-step value over all merge trees, batched (one pass for both).

    Accepts a MergeProblem or plain arguments, like :func:`interval_dp`; returns :class:`Extremes`
    (unpacks as ``least, largest``).
    """
    prob = MergeProblem.of(schedule, lam, ctau, init)
    p = prob.flat()
    n = p.num_steps
    check_cost(n, p.shape[0], 2, False, max_operations, "extreme_values")
    if _use_kernel(p, "min", "auto"):
        least, largest = _kernel_tables(p, 0, False)
    else:
        least, largest = _torch_tables(p, "min")[0][:, n, 0], _torch_tables(p, "max")[0][:, n, 0]
    return Extremes(least.to(p.device).reshape(prob.shape), largest.to(p.device).reshape(prob.shape))


# ---------------------------------------------------- exact enumeration
class TreeValues:
    """The values of *every* merge tree, computed by the set-valued DP (R12, exact).

    ``values`` has shape ``batch + (num_trees,)``; :meth:`tree` turns a column
    index into its :class:`~lineardistill.trees.MergeTree`. Column order is
    fixed by the recursion (first child's split, then the parts' indices).
    """

    def __init__(self, schedule, values, layout, shape):
        self.schedule = schedule
        self.values = values
        self._layout = layout
        self.shape = tuple(shape)

    @property
    def num_trees(self) -> int:
        return self.values.shape[-1]

    def tree(self, index: int) -> MergeTree:
        """The tree of column ``index``."""
        n = self.schedule.num_steps
        index = as_int(index, "index", minimum=0, maximum=self.num_trees - 1)

        def locate(parts, j):
            for k, start, nb in parts:
                if j < start:
                    break
                found = (k, start, nb)
            k, start, nb = found
            return k, (j - start) // nb, (j - start) % nb

        def single(s, t, j):
            if t == s + 1:
                return MergeTree.leaf(t)
            k, ia, ib = locate(self._layout["V"][(s, t)], j)
            return MergeTree.node([single(s + k, t, ia)] + sequence(s, s + k, ib))

        def sequence(s, t, j):
            nv = self._layout["nV"][(s, t)]
            if j < nv:
                return [single(s, t, j)]
            k, ia, ib = locate(self._layout["G"][(s, t)], j)
            return [single(s + k, t, ia)] + sequence(s, s + k, ib)

        return single(0, n, index)


def _enumerate(r, n, merge):
    """Set-valued DP over all trees. ``merge(a, b, s, t)`` -> candidate values (outer product, flattened)."""
    V, G = {}, {}
    layout = {"V": {}, "G": {}, "nV": {}}
    for t in range(1, n + 1):
        V[(t - 1, t)] = r[:, t - 1:t]
        G[(t - 1, t)] = V[(t - 1, t)]
        layout["nV"][(t - 1, t)] = 1
    for L in range(2, n + 1):
        for s in range(n - L + 1):
            t = s + L
            vparts, gparts, vlay, glay = [], [], [], []
            vstart = 0
            nv = sum(V[(s + k, t)].shape[1] * G[(s, s + k)].shape[1] for k in range(1, L))
            gstart = nv
            for k in range(1, L):
                a, b = V[(s + k, t)], G[(s, s + k)]
                vparts.append(merge(a, b, s, t))
                gparts.append((a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1))
                vlay.append((k, vstart, b.shape[1]))
                glay.append((k, gstart, b.shape[1]))
                vstart += a.shape[1] * b.shape[1]
                gstart += a.shape[1] * b.shape[1]
            V[(s, t)] = torch.cat(vparts, dim=1)
            G[(s, t)] = torch.cat([V[(s, t)]] + gparts, dim=1) if s > 0 or t < n else None
            layout["V"][(s, t)] = vlay
            layout["G"][(s, t)] = glay
            layout["nV"][(s, t)] = nv
    return V[(0, n)], layout


def enumerate_values(schedule, lam=None, ctau=None, init: str = "warm") -> TreeValues:
    """R12 (exact): the one-step value of every merge tree, by a set-valued DP.

    Batched over ``lam`` and ``ctau`` (or a MergeProblem); refuses ``N > ENUMERATION_MAX_STEPS``
    (the number of trees grows about 5.8-fold per step). Values use the merge rule
    :func:`~lineardistill.problem.combine`, like the interval DP.
    """
    prob = MergeProblem.of(schedule, lam, ctau, init)
    n = prob.num_steps
    if n > ENUMERATION_MAX_STEPS:
        raise ValueError(f"enumeration over all trees is limited to num_steps <= {ENUMERATION_MAX_STEPS} "
                         f"(count_trees({n}) = {count_trees(n):.3g} trees); got num_steps={n}")
    p = prob.flat()
    s0 = _start_table(p)
    count = count_trees(n)
    per = max(1, ENUMERATION_CHUNK // max(count, 1))
    pieces, layout = [], None
    for begin in range(0, p.shape[0], per):
        sl = slice(begin, begin + per)

        def merge(a, b, s, t, sl=sl):
            wt = p.w[sl, t, None, None]
            start = None if s0 is None else s0[sl, s, t, None, None]
            return combine(a[:, :, None], b[:, None, :], wt, start).reshape(a.shape[0], -1)

        vals, layout = _enumerate(p.r[sl], n, merge)
        pieces.append(vals)
    values = torch.cat(pieces, dim=0)
    return TreeValues(prob.schedule, values.reshape(tuple(prob.shape) + (values.shape[-1],)), layout, prob.shape)


# ------------------------------------------------------------ the optimum
METHODS = ("auto", "search", "enumerate", "approximate")
"""Methods of :func:`optimal_tree` (see there)."""


@dataclass(frozen=True, eq=False)
class OptimalTree:
    """The W2-optimal merge tree for one variance and one budget (R11, R12).

    ``method`` says how it was found; ``exact`` whether it is certified optimal: ``w2`` exceeds the
    optimum by at most ``gap_bound``, and ``gap_bound`` is at most the float64 evaluation error of
    ``w2`` (``resolution``). ``least`` and ``largest`` are the extreme tree values (R11).
    """

    tree: MergeTree
    value: float
    teacher: float
    w2: float
    method: str
    exact: bool
    gap_bound: float
    least: float
    largest: float
    resolution: float = 0.0
    nodes: int = 0

    @property
    def shrinkage(self) -> float:
        """``m / T`` of the returned tree; a ValueError when ``T`` is 0 or subnormal (e.g. cosine with N = 1)."""
        return float(shrinkage(self.value, self.teacher))


def _resolution(n, T, norm):
    """Float64 evaluation error bound of ``||v_N|| |m - T|``: about ``2N`` roundings of relative size 2^-53
    in ``m`` and in ``T``, with a factor 4 of margin."""
    return 8.0 * (n + 1) * 2.0**-53 * T * norm


SEARCH_TIME_LIMIT = 1.8
"""Default ``time_limit`` (seconds) of the branch and bound in :func:`optimal_tree`."""


def optimal_tree(schedule, lam=None, ctau=None, init: str = "warm", method: str = "auto", *,
                 time_limit=SEARCH_TIME_LIMIT, max_operations=MAX_OPERATIONS) -> OptimalTree:
    """R11/R12: the merge tree whose one-step multiplier ``m`` is closest to the teacher ``T``.

    ``method="auto"``: run the min- and max-DP (R11, one compiled pass). If every tree value lies on
    one side of ``T``, the min or max tree is the optimum. Otherwise (the window) enumerate every tree
    when ``N <= ENUMERATION_MAX_STEPS`` (exact), else run the search below. ``method="search"``: in the
    window always run the branch and bound of :mod:`lineardistill.search`, bounded by the DP tables, from the best
    of the min, max and target-DP trees and the tree of the greedy descent
    (:func:`~lineardistill.search.descend`); it ends with a proof, or with a tree within the float64
    resolution of ``T`` (``exact=True`` either way), or when the whole call has used ``time_limit``
    seconds (default :data:`SEARCH_TIME_LIMIT`) with ``exact=False``
    and ``gap_bound = w2 - (proved lower bound)``. ``method="enumerate"`` lists every tree
    (``N <= ENUMERATION_MAX_STEPS``); ``method="approximate"`` returns the best of the three DP trees
    with the bound ``gap_bound = w2`` (for comparison).

    Accepts a MergeProblem (one point) or plain arguments. ``max_operations`` caps the DP's
    estimated cost (:func:`check_cost`); ``None`` lifts it.
    """
    method = one_of(method, "method", METHODS)
    prob = MergeProblem.of(schedule, lam, ctau, init)
    if len(prob.shape) and math.prod(prob.shape) != 1:
        raise ValueError(f"lam and ctau must be single numbers here, got batch shape {tuple(prob.shape)}; "
                         "use interval_dp or the phase functions for batches, shared_optimal_tree for several "
                         "variances")
    if time_limit is not None:
        time_limit = as_float(time_limit, "time_limit", positive=True)
    begin = time.perf_counter()
    p = prob.flat()
    n = p.num_steps
    if method == "enumerate" and n > ENUMERATION_MAX_STEPS:
        raise ValueError(f"method='enumerate' is limited to num_steps <= {ENUMERATION_MAX_STEPS}, got {n}")
    T = float(p.T[0])
    norm = float(p.norms[0, -1])
    (vlo, glo), (vhi, ghi) = tables = extreme_tables(p, max_operations)
    least, largest = float(vlo[0, n, 0]), float(vhi[0, n, 0])
    res = _resolution(n, T, norm)

    def result(tree, how, exact, bound, nodes=0):
        m = float(merge_rule_value(tree, p))
        dist = norm * abs(m - T)
        return OptimalTree(tree, m, T, dist, how, exact, bound if bound is not None else dist, least, largest,
                           res, nodes)

    def dp_tree(V, G):
        return _rebuild(p, 0, V[0].to(p.device), G[0].to(p.device))

    window = least < T < largest
    if method == "enumerate" or (method == "auto" and window and n <= ENUMERATION_MAX_STEPS):
        ev = enumerate_values(p)
        j = int((ev.values[0] - T).abs().argmin())
        return result(ev.tree(j), f"enumeration of all {ev.num_trees} trees (exact)", True, 0.0)
    if method != "approximate":
        if least >= T:
            return result(dp_tree(vlo, glo), "min-DP (exact: every tree value is >= T)", True, 0.0)
        if largest <= T:
            return result(dp_tree(vhi, ghi), "max-DP (exact: every tree value is <= T)", True, 0.0)
    tg = interval_dp(p, opt="target", max_operations=max_operations)
    cands = [dp_tree(vlo, glo), dp_tree(vhi, ghi), tg.tree((0,))]
    start = min(cands, key=lambda t: abs(float(merge_rule_value(t, p)) - T))
    if method == "approximate":
        return result(start, "best of the min-, max- and target-DP trees (approximate: gap_bound = its own W2, "
                             "since the optimum is >= 0)", False, None)
    from .search import branch_and_bound, descend, short_trees

    # the greedy descent usually lands far closer to T than the DP trees (benchmarks/dp_results.md): a tighter cut-off
    listing = short_trees(p)                # built once, shared by the descent and the search
    start = min((start, descend(p, tables, listing=listing)), key=lambda t: abs(float(merge_rule_value(t, p)) - T))
    left = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - begin))
    out = branch_and_bound(p, tables, start, time_limit=left, stop=res**2, listing=listing)
    gap = math.sqrt(max(out.objective, 0.0)) - math.sqrt(max(out.lower_bound, 0.0))
    if out.status == "proved":
        return result(out.tree, f"branch and bound over {out.nodes} partial trees, bounded by the min/max DP "
                                "(exact up to rounding)", True, res, out.nodes)
    if out.status == "resolution":
        return result(out.tree, f"branch and bound over {out.nodes} partial trees: a tree within the float64 "
                                "resolution of T (exact up to rounding)", True, max(gap, 0.0), out.nodes)
    return result(out.tree, f"branch and bound stopped at time_limit={time_limit} s after {out.nodes} partial "
                            "trees (not certified; gap_bound from the proved lower bound)", False, max(gap, res),
                  out.nodes)


def merge_rule_value(tree, problem) -> torch.Tensor:
    """The value of ``tree`` for a flat problem, computed with :func:`combine` bottom-up in the order the DP
    and the search use (first child, then the product of the other children from the data end)."""
    p = problem
    vals = {}
    for node in tree.postorder():
        if node.is_leaf:
            vals[node] = p.r[:, node.hi - 1]
            continue
        kids = node.children
        b = vals[kids[-1]]
        for kid in reversed(kids[1:-1]):
            b = vals[kid] * b
        start = None if p.init == "warm" else p.start(node.lo, node.hi)
        vals[node] = combine(vals[kids[0]], b, p.w[:, node.hi], start)
    return vals[tree][0] if p.shape[0] == 1 else vals[tree]


def __getattr__(name):
    # the shared-tree functions live in lineardistill.shared (a module above this one); the old
    # import path lineardistill.dp.pareto_tree keeps working
    if name in ("ParetoResult", "pareto_tree", "SharedTree", "shared_optimal_tree"):
        from . import shared

        return getattr(shared, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
