"""Branch and bound over merge trees: the exact optimum where the interval DP is not enough.

Chapter 6 of the book explains it (theory R12, R13); the model is the book's own
reading of Gao and Li (2025, arXiv:2505.16024).

The objective is the squared W2 of R9 summed over ``d`` coordinates,
``F(tree) = sum_i c_i (m_i - T_i)^2`` with ``c_i = ||v_{i,N}||^2``; one
coordinate (``d = 1``) is the per-coordinate optimum of :func:`~lineardistill.dp.optimal_tree`.

**The bound.** A tree's root value is a multi-affine, increasing function of
the values of its parts (R10: ``f_t(a, b) = a (w + (1 - w) b)`` is linear in
``a`` and affine in ``b`` with non-negative coefficients; other starts likewise).
The search builds a tree depth first, first child first. At any moment the
part being built sits in a context of parts already fixed and parts not yet
chosen; with the unchosen parts at their least (largest) values, which the
interval DP gives for every interval (R11), the root value is ``alpha + beta x``
in the value ``x`` of the part being built. So every partial tree has a root
interval per coordinate, ``[alpha_lo + beta_lo x_min, alpha_hi + beta_hi x_max]``,
that contains every completion, and ``sum_i c_i dist(T_i, interval_i)^2`` is a
lower bound on ``F`` over all its completions. Branches whose bound reaches
the best ``F`` found so far are cut.

**What "exact" means.** Values are computed with the same floating-point
operations as the DP tables, and floating-point multiplication and addition of
positive numbers are monotone, so the bounds hold for computed values. The
affine form of the bound rounds differently from the tree's own evaluation by
a few units in the last place, so a search that ends proves optimality up to
that rounding. A one-coordinate search also stops as soon as a tree is within
``stop`` of the optimum's lower bound 0 (``stop`` is the float64 evaluation
error of ``|m - T|``): no tree can then be shown closer in float64.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .trees import MergeTree


class _Stop(Exception):
    pass


@dataclass
class SearchOutcome:
    """What :func:`branch_and_bound` found: the best tree, its objective, a proved lower bound and the effort.

    ``status`` is ``"proved"`` (the search ended: optimal up to rounding), ``"resolution"`` (a
    tree within ``stop`` of the bound 0 was found) or ``"time limit"`` (``lower_bound`` is then
    the least bound among the branches left unexplored, or the bound passed in).
    """

    tree: MergeTree
    objective: float
    lower_bound: float
    status: str
    nodes: int
    seconds: float


def _tree(desc) -> MergeTree:
    """A MergeTree from the search's nested tuples: int leaf, ("V", first, seq), ("S", v), ("P", v, seq)."""
    def single(d):
        if isinstance(d, int):
            return MergeTree.leaf(d)
        return MergeTree.node([single(d[1])] + sequence(d[2]))

    def sequence(d):
        out = []
        while True:
            if isinstance(d, int):
                return out + [MergeTree.leaf(d)]
            if d[0] == "S":
                return out + [single(d[1])]
            out.append(single(d[1]))
            d = d[2]

    return single(desc)


class _Search:
    def __init__(self, r, w, start, tables, T, c, best, deadline, stop):
        # all arrays are (..., d) with the coordinate axis last, so that one row is one contiguous vector
        self.r, self.w, self.omw, self.start = r, w, 1.0 - w, start
        (self.Vlo, self.Glo), (self.Vhi, self.Ghi) = tables
        self.T, self.c = T, c
        self.best, self.best_desc = best, None
        self.deadline, self.stop = deadline, stop
        self.nodes = 0
        self.root_bounds = None

    def bound(self, lo, hi):
        """``sum_i c_i dist(T_i, [lo_i, hi_i])^2``, over the last axis."""
        dist = np.maximum(lo - self.T, 0.0) + np.maximum(self.T - hi, 0.0)
        return (dist * dist) @ self.c

    def merge(self, a, b, s, t):
        # the one merge rule, lineardistill.problem.combine, with the same operations in the same order
        if self.start is None:
            return a * (self.w[t] + self.omw[t] * b)
        return self.w[t] * self.start[s, t] + self.omw[t] * (a * b)

    def tick(self):
        self.nodes += 1
        if self.deadline is not None and not self.nodes & 255 and time.perf_counter() > self.deadline:
            raise _Stop("time limit")

    def single(self, s, t, aL, bL, aH, bH, root=False):
        """Yield ``(value, desc)`` for single operators over ``(s, t]`` whose bound beats the incumbent."""
        if t == s + 1:
            yield self.r[s], t
            return
        self.tick()
        Alo, Ahi = self.Vlo[t, s + 1:t], self.Vhi[t, s + 1:t]     # V(u, t), u = s+1..t-1
        Blo, Bhi = self.Glo[s, s + 1:t], self.Ghi[s, s + 1:t]     # G(s, u)
        us = np.arange(s + 1, t)
        xlo, xhi = self.merge(Alo, Blo, s, t), self.merge(Ahi, Bhi, s, t)
        lb = self.bound(aL + bL * xlo, aH + bH * xhi)
        order = np.argsort(lb, kind="stable")
        if root:
            self.root_bounds = (lb[order], 0)
        w, om = self.w[t], self.omw[t]
        st = None if self.start is None else w * self.start[s, t]
        for j, k in enumerate(order):
            if root:
                self.root_bounds = (self.root_bounds[0], j)
            if lb[k] >= self.best:
                if root:
                    self.root_bounds = (self.root_bounds[0], len(order))
                break
            u = int(us[k])
            blo, bhi = Blo[k], Bhi[k]
            if st is None:   # a (w + om b): coefficients of a with b at its least / largest value
                ca = (aL, bL * (w + om * blo), aH, bH * (w + om * bhi))
            else:            # w S0 + om a b
                ca = (aL + bL * st, bL * om * blo, aH + bH * st, bH * om * bhi)
            for a, da in self.single(u, t, *ca):
                if st is None:
                    cb = (aL + bL * (a * w), bL * (a * om), aH + bH * (a * w), bH * (a * om))
                else:
                    cb = (ca[0], bL * (om * a), ca[2], bH * (om * a))
                if self.bound(cb[0] + cb[1] * blo, cb[2] + cb[3] * bhi) >= self.best:
                    continue
                for b, db in self.sequence(s, u, *cb):
                    yield self.merge(a, b, s, t), ("V", da, db)

    def sequence(self, s, t, aL, bL, aH, bH):
        """Yield ``(value, desc)`` for sequences of single operators over ``(s, t]``."""
        if t == s + 1:
            yield self.r[s], t
            return
        self.tick()
        # option 0: one single operator; option v: V(v, t) followed by a sequence over (s, v]
        Alo = np.concatenate([self.Vlo[t, s:s + 1], self.Vlo[t, s + 1:t]])
        Ahi = np.concatenate([self.Vhi[t, s:s + 1], self.Vhi[t, s + 1:t]])
        one = np.ones_like(self.T)[None, :]
        Blo = np.concatenate([one, self.Glo[s, s + 1:t]])
        Bhi = np.concatenate([one, self.Ghi[s, s + 1:t]])
        lb = self.bound(aL + bL * (Alo * Blo), aH + bH * (Ahi * Bhi))
        for k in np.argsort(lb, kind="stable"):
            if lb[k] >= self.best:
                break
            if k == 0:
                for x, dx in self.single(s, t, aL, bL, aH, bH):
                    yield x, ("S", dx)
                continue
            v = s + int(k)
            blo, bhi = Blo[k], Bhi[k]
            for a, da in self.single(v, t, aL, bL * blo, aH, bH * bhi):
                cb = (aL, bL * a, aH, bH * a)
                if self.bound(aL + cb[1] * blo, aH + cb[3] * bhi) >= self.best:
                    continue
                for b, db in self.sequence(s, v, *cb):
                    yield a * b, ("P", da, db)

    def run(self, n):
        zero, one = np.zeros_like(self.T), np.ones_like(self.T)
        for m, desc in self.single(0, n, zero, one, zero, one, root=True):
            dist = m - self.T
            f = float((dist * dist) @ self.c)
            if f < self.best:
                self.best, self.best_desc = f, desc
                if f <= self.stop:
                    raise _Stop("resolution")


def branch_and_bound(problem, tables, incumbent, time_limit=None, stop=0.0, lower_bound=0.0) -> SearchOutcome:
    """Minimise ``sum_i c_i (m_i - T_i)^2`` over all merge trees of a flat problem (``d`` coordinates).

    Parameters
    ----------
    problem : MergeProblem
        Flat, shape ``(d,)``: one coordinate per entry.
    tables : ((Vmin, Gmin), (Vmax, Gmax))
        The interval DP's tables for every coordinate, each ``(d, N+1, N+1)``
        (:func:`~lineardistill.dp.extreme_tables`).
    incumbent : MergeTree
        A tree to start from (its objective is the first cut-off).
    time_limit : float or None
        Seconds; when reached, the best tree so far is returned with a proved lower bound.
    stop : float
        Stop as soon as a tree with objective ``<= stop`` is found.
    lower_bound : float
        A bound proved elsewhere (kept when the search cannot prove a better one).
    """
    from .trees import merge_value

    p = problem
    n = p.num_steps
    c = (p.norms[:, -1] ** 2).detach().cpu().numpy()
    T = p.T.detach().cpu().numpy()
    r = np.ascontiguousarray(p.r.detach().cpu().numpy().T)          # (N, d)
    w = np.ascontiguousarray(p.w.detach().cpu().numpy().T)          # (N+1, d)
    start = None
    if p.init != "warm":
        import torch

        idx = torch.arange(n + 1, device=p.device)
        s0 = p.start(idx[:, None], idx[None, :].clamp(min=1))        # (d, N+1, N+1)
        start = np.ascontiguousarray(s0.detach().cpu().numpy().transpose(1, 2, 0))
    (vlo, glo), (vhi, ghi) = tables
    tab = tuple(tuple(np.ascontiguousarray(x.detach().cpu().numpy().transpose(1, 2, 0)) for x in pair)
                for pair in ((vlo, glo), (vhi, ghi)))
    m0 = merge_value(incumbent, p.schedule, p.lam, p.ctau, p.init).detach().cpu().numpy()
    f0 = float(((m0 - T) ** 2) @ c)
    begin = time.perf_counter()
    deadline = None if time_limit is None else begin + float(time_limit)
    search = _Search(r, w, start, tab, T, c, f0, deadline, stop)
    status = "proved"
    if f0 > stop:
        try:
            search.run(n)
        except _Stop as why:
            status = str(why)
    else:
        status = "resolution"
    tree = incumbent if search.best_desc is None else _tree(search.best_desc)
    best = search.best
    if status == "proved":
        lb = best
    elif status == "resolution":
        lb = max(lower_bound, 0.0)
    else:
        bounds, j = search.root_bounds if search.root_bounds is not None else (np.zeros(1), 0)
        lb = min(best, float(bounds[j]) if j < len(bounds) else best)
        lb = max(lb, lower_bound)
    return SearchOutcome(tree, best, min(lb, best), status, search.nodes, time.perf_counter() - begin)
