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

**Short intervals from sorted lists.** With one coordinate, every tree over an interval of at
most :data:`SHORT_STEPS` steps is listed once, sorted by value; the search reads the values of
such a part that its bound lets through as one window of the list, by binary search, instead of
building them node by node.

**The first incumbent.** The tighter the first cut-off, the more the bound cuts, so the search
starts from the best of the DP trees and of :func:`descend`, a greedy top-down descent that aims
each part of a split at the value its partner leaves for it and lists short parts in full.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._checks import as_float, as_int
from .dp import _start_table
from .trees import MergeTree

SHORT_STEPS = 9
"""Longest interval whose trees the one-coordinate search and :func:`descend` list in full (20,793 single students
and 41,586 sequences at 9 steps; listing every interval of at most 9 steps at N = 64 takes about 0.3 s).
Measured on the bench's 36 window points: 7 steps certified 14 of them within the default time limit,
8 and 9 steps 16, and 9 steps found trees closer to T where none was certified."""


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


def _tree(desc, short=None) -> MergeTree:
    """A MergeTree from the search's nested tuples: int leaf, ("V", first, seq), ("S", v), ("P", v, seq),
    or ("L", kind, s, t, index) for entry ``index`` of the listed trees ``short``."""
    def single(d):
        if isinstance(d, int):
            return MergeTree.leaf(d)
        if d[0] == "L":
            return short.trees(*d[1:])[0]
        return MergeTree.node([single(d[1])] + sequence(d[2]))

    def sequence(d):
        out = []
        while True:
            if isinstance(d, int):
                return out + [MergeTree.leaf(d)]
            if d[0] == "L":
                return out + short.trees(*d[1:])
            if d[0] == "S":
                return out + [single(d[1])]
            out.append(single(d[1]))
            d = d[2]

    return single(desc)


class _Search:
    def __init__(self, r, w, start, tables, T, c, best, deadline, stop, short=None):
        # all arrays are (..., d) with the coordinate axis last, so that one row is one contiguous vector
        self.r, self.w, self.omw, self.start = r, w, 1.0 - w, start
        self.short = short          # one coordinate: short intervals are read from sorted lists, not searched
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
        if self.deadline is not None and not self.nodes & 63 and time.perf_counter() > self.deadline:
            raise _Stop("time limit")

    def window(self, aL, bL, aH, bH):
        """The values ``x`` of a part for which the root interval ``[aL + bL x, aH + bH x]`` (one coordinate)
        comes within the incumbent's distance of ``T``: an interval ``(bottom, top)``."""
        T, aL, bL, aH, bH = self.T[0], aL[0], bL[0], aH[0], bH[0]
        delta = np.sqrt(self.best / self.c[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            top = (T + delta - aL) / bL if bL > 0 else (np.inf if aL < T + delta else -np.inf)
            bottom = (T - delta - aH) / bH if bH > 0 else (-np.inf if aH > T - delta else np.inf)
        return bottom, top

    def pairs(self, kind, s, u, t, aL, bL, aH, bH):
        """Yield the values over ``(s, t]`` made of a listed single over ``(u, t]`` and a listed sequence over
        ``(s, u]`` (a single student if ``kind`` is ``"single"``, their product if ``"seq"``).

        The value is increasing in the second part, so for every first part the second parts that can
        beat the incumbent form one window of the sorted list: one binary search for all first parts at
        once. Returns False (yielding nothing) when the pairs are too many to list, or the rule cannot be
        solved for the second part (a weight of 1); the caller then searches them one by one."""
        A, _ = self.short.get("single", u, t)
        B, _ = self.short.get("seq", s, u)
        bottom, top = self.window(aL, bL, aH, bH)
        w, om = self.w[t, 0], self.omw[t, 0]
        if kind == "single" and not om > 0:
            return False
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if kind == "seq":
                lo, hi = bottom / A, top / A
            elif self.start is None:
                lo, hi = (bottom / A - w) / om, (top / A - w) / om
            else:
                ws = w * self.start[s, t, 0]
                lo, hi = (bottom - ws) / (om * A), (top - ws) / (om * A)
        # a relative margin against the rounding of the inverse; the exact bound is checked below
        lo = np.where(np.isnan(lo), -np.inf, lo - 1e-12 * np.abs(lo))
        hi = np.where(np.isnan(hi), np.inf, hi + 1e-12 * np.abs(hi))
        first, last = np.searchsorted(B, lo, "left"), np.searchsorted(B, hi, "right")
        counts = np.maximum(last - first, 0)
        total = int(counts.sum())
        if total > 200_000:
            return False
        if total == 0:
            return True
        ia = np.repeat(np.arange(len(A)), counts)
        jb = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(total)
        if kind == "seq":
            x = A[ia] * B[jb]
        elif self.start is None:
            x = A[ia] * (w + om * B[jb])
        else:
            x = ws + om * (A[ia] * B[jb])
        aL, bL, aH, bH, T = aL[0], bL[0], aH[0], bH[0], self.T[0]
        dist = np.maximum(aL + bL * x - T, 0.0) + np.maximum(T - aH - bH * x, 0.0)
        keep = np.flatnonzero(dist * dist * self.c[0] < self.best)
        centre = T - 0.5 * (aL + aH)
        tag = "V" if kind == "single" else "P"
        for k in keep[np.argsort(np.abs(0.5 * (bL + bH) * x[keep] - centre), kind="stable")]:
            self.tick()
            if self.bound(np.array([aL + bL * x[k]]), np.array([aH + bH * x[k]])) >= self.best:
                continue
            yield np.array([x[k]]), (tag, ("L", "single", u, t, int(ia[k])), ("L", "seq", s, u, int(jb[k])))
        return True

    def listed(self, kind, s, t, aL, bL, aH, bH):
        """Yield the listed values over ``(s, t]`` (one coordinate) whose root interval can beat the incumbent.

        The root lies in ``[aL + bL x, aH + bH x]``; it can come within ``delta`` of ``T`` only for ``x`` in
        one window of the sorted list, read by binary search, from its middle outwards."""
        values, _ = self.short.get(kind, s, t)
        bottom, top = self.window(aL, bL, aH, bH)
        aL, bL, aH, bH = aL[0], bL[0], aH[0], bH[0]
        i, j = np.searchsorted(values, bottom, "left"), np.searchsorted(values, top, "right")
        if i >= j:
            return
        centre = 0.5 * (bottom + top) if np.isfinite(bottom + top) else values[(i + j) // 2]
        for k in i + np.argsort(np.abs(values[i:j] - centre), kind="stable"):
            self.tick()
            x = values[k]
            if self.bound(np.array([aL + bL * x]), np.array([aH + bH * x])) >= self.best:
                continue
            yield np.array([x]), ("L", kind, s, t, int(k))

    def single(self, s, t, aL, bL, aH, bH, root=False):
        """Yield ``(value, desc)`` for single operators over ``(s, t]`` whose bound beats the incumbent."""
        if t == s + 1:
            yield self.r[s], t
            return
        if self.short is not None and not root and t - s <= SHORT_STEPS:
            yield from self.listed("single", s, t, aL, bL, aH, bH)
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
            if self.short is not None and max(t - u, u - s) <= SHORT_STEPS:
                listed = yield from self.pairs("single", s, u, t, aL, bL, aH, bH)
                if listed:
                    continue
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
        if self.short is not None and t - s <= SHORT_STEPS:
            yield from self.listed("seq", s, t, aL, bL, aH, bH)
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
            if self.short is not None and max(t - v, v - s) <= SHORT_STEPS:
                listed = yield from self.pairs("seq", s, v, t, aL, bL, aH, bH)
                if listed:
                    continue
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


def branch_and_bound(problem, tables, incumbent, time_limit=None, stop=0.0, lower_bound=0.0,
                     listing=None) -> SearchOutcome:
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
    listing : optional
        With one coordinate, the lists of :func:`short_trees` for this problem (built here if not given).
    """
    from .trees import merge_value

    p = problem
    n = p.num_steps
    c = (p.norms[:, -1] ** 2).detach().cpu().numpy()
    T = p.T.detach().cpu().numpy()
    r = np.ascontiguousarray(p.r.detach().cpu().numpy().T)          # (N, d)
    w = np.ascontiguousarray(p.w.detach().cpu().numpy().T)          # (N+1, d)
    s0 = _start_table(p)                                            # (d, N+1, N+1), None when warm
    start = None if s0 is None else np.ascontiguousarray(s0.detach().cpu().numpy().transpose(1, 2, 0))
    (vlo, glo), (vhi, ghi) = tables
    tab = tuple(tuple(np.ascontiguousarray(x.detach().cpu().numpy().transpose(1, 2, 0)) for x in pair)
                for pair in ((vlo, glo), (vhi, ghi)))
    m0 = merge_value(incumbent, p.schedule, p.lam, p.ctau, p.init).detach().cpu().numpy()
    f0 = float(((m0 - T) ** 2) @ c)
    begin = time.perf_counter()
    deadline = None if time_limit is None else begin + float(time_limit)
    short = (short_trees(p) if listing is None else listing) if len(T) == 1 else None
    search = _Search(r, w, start, tab, T, c, f0, deadline, stop, short)
    status = "proved"
    if f0 > stop:
        try:
            search.run(n)
        except _Stop as why:
            status = str(why)
    else:
        status = "resolution"
    tree = incumbent if search.best_desc is None else _tree(search.best_desc, short)
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


# ------------------------------------------------------------ descent towards a target value
def _nearest(sorted_values, x):
    """Index of the entry of ``sorted_values`` nearest to each ``x`` (ties to the lower one)."""
    k = np.clip(np.searchsorted(sorted_values, x), 1, max(len(sorted_values) - 1, 1))
    if len(sorted_values) == 1:
        return np.zeros_like(k)
    return np.where(np.abs(sorted_values[k] - x) < np.abs(sorted_values[k - 1] - x), k, k - 1)


class _ShortTrees:
    """Every single student and every sequence over a short interval ``(s, t]``, sorted by value.

    Built on demand from shorter intervals with the merge rule's own operations, so an entry equals
    the value of the tree it stands for. Each entry keeps ``(how, split, i, j)``: a leaf (how 0), a
    single student from the single ``i`` over ``(split, t]`` and the sequence ``j`` over ``(s, split]``
    (how 1), a sequence made of the same two parts (how 2) or of the single ``i`` over ``(s, t]`` (how 3).
    """

    def __init__(self, r, w, start):
        self.r, self.w, self.start = r, w, start
        self.memo = {}

    def get(self, kind, s, t):
        key = (kind, s, t)
        if key not in self.memo:
            self.memo[key] = self._build(kind, s, t)
        return self.memo[key]

    def _build(self, kind, s, t):
        if t - s == 1:
            return np.array([self.r[s]]), np.zeros((1, 4), dtype=np.int64)
        values, codes = [], []
        if kind == "seq":
            single, _ = self.get("single", s, t)
            code = np.zeros((len(single), 4), dtype=np.int64)
            code[:, 0], code[:, 2] = 3, np.arange(len(single))
            values.append(single)
            codes.append(code)
        for u in range(s + 1, t):
            a, _ = self.get("single", u, t)
            b, _ = self.get("seq", s, u)
            if kind == "seq":
                v = a[:, None] * b[None, :]
            elif self.start is None:
                v = a[:, None] * (self.w[t] + (1.0 - self.w[t]) * b[None, :])
            else:
                v = self.w[t] * self.start[s, t] + (1.0 - self.w[t]) * (a[:, None] * b[None, :])
            i, j = np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij")
            code = np.empty((v.size, 4), dtype=np.int64)
            code[:, 0], code[:, 1], code[:, 2], code[:, 3] = (2 if kind == "seq" else 1), u, i.ravel(), j.ravel()
            values.append(v.ravel())
            codes.append(code)
        v, code = np.concatenate(values), np.concatenate(codes)
        order = np.argsort(v, kind="stable")
        return v[order], code[order]

    def trees(self, kind, s, t, index):
        """The entry ``index`` as a list of trees: one single student, or the parts of a sequence."""
        if t - s == 1:
            return [MergeTree.leaf(t)]
        how, u, i, j = (int(x) for x in self.get(kind, s, t)[1][index])
        if how == 3:
            return self.trees("single", s, t, i)
        parts = self.trees("single", u, t, i) + self.trees("seq", s, u, j)
        return [MergeTree.node(parts)] if how == 1 else parts


def short_trees(problem) -> _ShortTrees:
    """Every single student and sequence over the short intervals of a flat one-coordinate problem,
    sorted by value and listed on demand; :func:`descend` and :func:`branch_and_bound` can share one."""
    p = problem
    s0 = _start_table(p)
    return _ShortTrees(p.r[0].detach().cpu().numpy(), p.w[0].detach().cpu().numpy(),
                       None if s0 is None else s0[0].detach().cpu().numpy())


class _Descent:
    """Greedy descent towards a target value, one split at a time (see :func:`descend`)."""

    def __init__(self, short, ranges, short_steps, beam):
        self.w, self.start = short.w, short.start
        self.Vlo, self.Vhi, self.Glo, self.Ghi = ranges
        self.short = short
        self.short_steps, self.beam = short_steps, beam

    def range(self, kind, s, t):
        if kind == "single":
            return self.Vlo[t, s], self.Vhi[t, s]
        return self.Glo[s, t], self.Ghi[s, t]

    def rule(self, kind, s, t, x):
        """The value of two parts ``(a, b)`` over a split of ``(s, t]``, and each part solved for the value ``x``."""
        if kind == "seq":
            return (lambda a, b: a * b), (lambda b: x / b), (lambda a: x / a)
        w = self.w[t]
        if self.start is None:
            return (lambda a, b: a * (w + (1.0 - w) * b)), (lambda b: x / (w + (1.0 - w) * b)), \
                   (lambda a: (x / a - w) / (1.0 - w))
        ws = w * self.start[s, t]
        return (lambda a, b: ws + (1.0 - w) * (a * b)), (lambda b: (x - ws) / ((1.0 - w) * b)), \
               (lambda a: (x - ws) / ((1.0 - w) * a))

    def lookup(self, kind, s, t, x):
        values, _ = self.short.get(kind, s, t)
        i = int(_nearest(values, np.array([x]))[0])
        return values[i], self.short.trees(kind, s, t, i)

    def solve(self, kind, s, t, x, beam):
        """``(value, parts)``: a single student (one part) or a sequence over ``(s, t]`` with value near ``x``."""
        if t - s <= self.short_steps:
            return self.lookup(kind, s, t, x)
        best, longer = None, []

        def keep(value, parts):
            nonlocal best
            if best is None or abs(value - x) < abs(best[0] - x):
                best = (value, parts)

        def centred(need, lo, hi):
            # how far the value a part must take sits from the middle of what the part can reach
            return np.abs((need - lo) / (hi - lo) - 0.5) if hi > lo else np.zeros_like(need)

        if kind == "seq":
            lo, hi = self.range("single", s, t)
            longer.append((float(centred(np.array(x), lo, hi)), None))
        for u in range(s + 1, t):
            value, need_a, need_b = self.rule(kind, s, t, x)
            (la, ha), (lb, hb) = self.range("single", u, t), self.range("seq", s, u)
            if not value(la, lb) <= x <= value(ha, hb):
                continue
            short_a, short_b = t - u <= self.short_steps, u - s <= self.short_steps
            if short_a and short_b:       # both parts listed: the best pair for this split, exactly
                A, _ = self.short.get("single", u, t)
                B, _ = self.short.get("seq", s, u)
                j = _nearest(B, need_b(A))
                v = value(A, B[j])
                i = int(np.nanargmin(np.abs(v - x)))
                keep(v[i], ("pair", u, i, int(j[i])))
            elif short_b:
                B, _ = self.short.get("seq", s, u)
                longer.append((float(np.nanmin(centred(need_a(B), la, ha))), u))
            elif short_a:
                A, _ = self.short.get("single", u, t)
                longer.append((float(np.nanmin(centred(need_b(A), lb, hb))), u))
            else:
                longer.append((0.25, u))
        if best is not None:
            _, u, i, j = best[1]
            parts = self.short.trees("single", u, t, i) + self.short.trees("seq", s, u, j)
            best = (best[0], [MergeTree.node(parts)] if kind == "single" else parts)
        longer.sort(key=lambda item: item[0])
        for _, u in longer[:beam]:
            if u is None:
                keep(*self.solve("single", s, t, x, self.beam))
                continue
            value, need_a, need_b = self.rule(kind, s, t, x)
            (la, ha), (lb, hb) = self.range("single", u, t), self.range("seq", s, u)
            if u - s <= self.short_steps:       # the listed sequence whose partner is most central, then the partner
                B, _ = self.short.get("seq", s, u)
                a, pa = self.solve("single", u, t, need_a(B)[int(np.nanargmin(centred(need_a(B), la, ha)))], self.beam)
                j = int(_nearest(B, np.array([need_b(a)]))[0])
                v, parts = value(a, B[j]), pa + self.short.trees("seq", s, u, j)
            elif t - u <= self.short_steps:
                A, _ = self.short.get("single", u, t)
                b, pb = self.solve("seq", s, u, need_b(A)[int(np.nanargmin(centred(need_b(A), lb, hb)))], self.beam)
                i = int(_nearest(A, np.array([need_a(b)]))[0])
                v, parts = value(A[i], b), self.short.trees("single", u, t, i) + pb
            else:                                # the first part aims at its middle, the second at what is left
                a_aim = 0.5 * (la + ha)
                b_aim = need_b(a_aim)
                if not lb <= b_aim <= hb:
                    b_aim = min(max(b_aim, lb), hb)
                    a_aim = need_a(b_aim)
                a, pa = self.solve("single", u, t, a_aim, self.beam)
                b, pb = self.solve("seq", s, u, need_b(a), self.beam)
                v, parts = value(a, b), pa + pb
            keep(v, [MergeTree.node(parts)] if kind == "single" else parts)
        if best is None:                         # x is out of reach: aim at the nearest reachable value
            lo, hi = self.range(kind, s, t)
            return self.solve(kind, s, t, min(max(x, lo), hi), beam)
        return best


def descend(problem, tables, target=None, beam=16, short_steps=SHORT_STEPS, listing=None) -> MergeTree:
    """A merge tree whose value is near ``target`` (default: the teacher ``T``), found greedily in milliseconds.

    Not an optimum: a good first incumbent for :func:`branch_and_bound`. It works top down. Every
    tree over ``(s, t]`` is two parts over a split ``(s, u]`` and ``(u, t]``, and its value is
    increasing in each (R10). For a split whose two parts are both short (at most ``short_steps``
    steps), every value of each part is listed and sorted, and the best pair is found exactly by
    binary search. For a longer part, the descent picks the listed partner value that leaves it the
    most room (its required value nearest the middle of its reachable range, which the interval DP
    gives, R11), solves the long part for that value recursively, and then re-picks the partner for
    the value the long part actually reached. ``beam`` long splits are tried at the top, one below.

    Parameters
    ----------
    problem : MergeProblem
        Flat, with one coordinate (shape ``(1,)``).
    tables : ((Vmin, Gmin), (Vmax, Gmax))
        The interval DP's tables (:func:`~lineardistill.dp.extreme_tables`).
    target : float or None
        The value to approach; ``None`` means the teacher ``T``.
    beam : int
        How many long splits of the root to follow.
    short_steps : int
        Longest interval listed in full (1 to 9).
    listing : optional
        The lists of :func:`short_trees` for this problem, to share them with :func:`branch_and_bound`.

    Returns
    -------
    MergeTree
        A tree over all ``N`` steps. Its distance to ``target`` is a measurement, not a bound.

    Examples
    --------
    Up to ``N = short_steps + 1`` both parts of every split are listed, so the descent is exact:

    >>> import lineardistill as ld
    >>> from lineardistill.dp import extreme_tables, optimal_tree
    >>> p = ld.MergeProblem(ld.Schedule.cosine(8), 1.2, 1.0).flat()
    >>> tree = descend(p, extreme_tables(p))
    >>> str(tree) == str(optimal_tree(p, method="enumerate").tree)
    True
    """
    from .problem import MergeProblem

    p = problem
    if not isinstance(p, MergeProblem) or tuple(p.shape) != (1,):
        raise ValueError("problem must be a MergeProblem with one coordinate (MergeProblem.of(...).flat() of one "
                         f"point), got {type(p).__name__} of shape {tuple(getattr(p, 'shape', ()))}")
    beam = as_int(beam, "beam", minimum=1, maximum=64)
    short_steps = as_int(short_steps, "short_steps", minimum=1, maximum=9)   # 10 steps: 103,049 single students
    n = p.num_steps
    (vlo, glo), (vhi, ghi) = tables
    ranges = tuple(x[0].detach().cpu().numpy() for x in (vlo, vhi, glo, ghi))
    x = float(p.T[0]) if target is None else as_float(target, "target", positive=True)
    listing = short_trees(p) if listing is None else listing
    with np.errstate(all="ignore"):            # divisions by a zero weight give inf/nan: such choices just lose
        _, parts = _Descent(listing, ranges, short_steps, 1).solve("single", 0, n, x, beam)
    return parts[0]
