"""One merge tree for many coordinates (theory R13; chapters 6, 9 and 10 of the book).

A network shares its training runs across coordinates, so one tree must serve
``d`` variances at once; the objective is the W2 of R9 summed over coordinates,
``W2^2 = sum_i ||v_{i,N}||^2 (m_i - T_i)^2``. Two exact methods:

- :func:`pareto_tree`, the Pareto DP: per interval, the value vectors no other
  vector beats in every coordinate (R10 makes the pruning safe); it also gives
  the front of fidelity against the number of training runs;
- :func:`shared_optimal_tree`, branch and bound (:mod:`lineardistill.search`)
  bounded by the min/max interval DP of :mod:`lineardistill.dp`: the method
  that scales to real spectra (61 coordinates, N = 32 in seconds).

The model is the book's own reading of Gao and Li (2025, arXiv:2505.16024).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from ._checks import as_float, as_int, as_tensor
from .dp import MAX_OPERATIONS, _rebuild, _start_table, extreme_tables, extreme_values, merge_rule_value
from .problem import MergeProblem, combine
from .trees import MergeTree

PARETO_MAX_POINTS = 20000
"""The Pareto DP refuses to continue when one interval keeps more vectors than this."""


# ------------------------------------------------------------ Pareto DP
@dataclass(frozen=True, eq=False)
class ParetoResult:
    """R13: one tree for ``d`` coordinates, and the front it was chosen from.

    ``front_values`` (K, d) holds the root value vectors that no other tree
    beats in every coordinate (with ``merges`` as an extra, smaller-is-better
    coordinate when asked); ``front_w2`` their summed W2; ``best`` indexes the
    least summed W2, and ``tree`` is its tree. ``orientation`` per coordinate:
    +1 smaller is better (values >= T), -1 larger is better, 0 mixed.
    """

    tree: MergeTree
    values: torch.Tensor
    w2: float
    front_values: torch.Tensor
    front_merges: torch.Tensor
    front_w2: torch.Tensor
    best: int
    orientation: torch.Tensor
    _trees: object = None

    def front_tree(self, index: int) -> MergeTree:
        """The tree of front point ``index``."""
        index = as_int(index, "index", minimum=0, maximum=self.front_values.shape[0] - 1)
        return self._trees(index)

    def cost_front(self):
        """Fidelity against training cost: ``[(merges, w2, tree), ...]`` with w2 strictly falling as merges grow."""
        order = sorted(range(self.front_values.shape[0]),
                       key=lambda j: (int(self.front_merges[j]), float(self.front_w2[j])))
        out, best = [], math.inf
        for j in order:
            w = float(self.front_w2[j])
            if w < best:
                if out and out[-1][0] == int(self.front_merges[j]):
                    continue
                out.append((int(self.front_merges[j]), w, self.front_tree(j)))
                best = w
        return out


def _pareto_filter(keys, mixed_cols):
    """Indices of the rows of ``keys`` (smaller is better in every column) not dominated by another row.

    Columns in ``mixed_cols`` must be equal for one row to dominate another.
    Exact duplicates keep their first row.
    """
    K = keys.shape[0]
    if K <= 1:
        return torch.arange(K)
    _, inverse = torch.unique(keys, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), K, dtype=torch.long)
    first = first.scatter_reduce(0, inverse, torch.arange(K), reduce="amin")
    keep = torch.zeros(K, dtype=torch.bool)
    keep[first] = True
    cand = torch.nonzero(keep).reshape(-1)
    sub = keys[cand]
    dominated = torch.zeros(sub.shape[0], dtype=torch.bool)
    free = [c for c in range(keys.shape[1]) if c not in set(mixed_cols)]
    for start in range(0, sub.shape[0], 512):
        p = sub[start:start + 512, None, :]
        le = (sub[None, :, free] <= p[..., free]).all(-1)
        lt = (sub[None, :, free] < p[..., free]).any(-1)
        eq = (sub[None, :, mixed_cols] == p[..., mixed_cols]).all(-1) if mixed_cols else True
        dominated[start:start + 512] = (le & lt & eq).any(-1)
    return cand[~dominated]


def pareto_tree(schedule, lam=None, ctau=None, init: str = "warm", merges: bool = False) -> ParetoResult:
    """R13: the single tree that minimises the summed W2 over coordinates with variances ``lam``, by Pareto fronts.

    ``lam`` is a 1-D list of ``d`` variances (``ctau`` a number or one budget per
    coordinate), or pass a MergeProblem. Each interval keeps only value vectors that no other
    vector of the same interval beats in every coordinate: by R10 a beaten part can be swapped for
    the better one in any tree without harm, so the answer is exact. A coordinate whose tree values
    lie on both sides of its ``T`` has no better direction, so two vectors must agree on it for
    one to beat the other: with such coordinates the fronts keep nearly every tree, and
    :func:`shared_optimal_tree` (branch and bound) is the method that scales. With
    ``merges=True`` the number of merges is one more coordinate, which gives the
    fidelity-against-training-cost front (:meth:`ParetoResult.cost_front`).
    """
    if not isinstance(merges, bool):
        raise TypeError(f"merges must be a bool, got {merges!r}")
    p = _coordinates(schedule, lam, ctau, init)
    n, d = p.num_steps, p.shape[0]
    r, w = p.r, p.w
    s0 = _start_table(p)
    T = p.T
    norms = p.norms[:, -1]
    least, largest = extreme_values(p)
    orient = torch.zeros(d, dtype=torch.long)
    orient[least >= T] = 1                  # every value >= T: smaller is better
    orient[(largest <= T) & (orient == 0)] = -1
    mixed = [i for i in range(d) if orient[i] == 0]
    sign = orient.to(r.dtype).clone()
    sign[sign == 0] = 1.0
    r = r.T.contiguous()                     # (N, d)
    w = w.T.contiguous()                     # (N+1, d)

    def prune(vals, cnt):
        keys = vals * sign
        if merges:
            keys = torch.cat([keys, cnt[:, None].to(keys.dtype)], dim=1)
        keep = _pareto_filter(keys, mixed)
        if keep.numel() > PARETO_MAX_POINTS:
            raise ValueError(f"the Pareto front grew to {keep.numel()} vectors (> PARETO_MAX_POINTS = "
                             f"{PARETO_MAX_POINTS}); use fewer coordinates or steps")
        return keep

    V, G = {}, {}          # (s, t) -> (values (K, d), merges (K,), pointers (K, 3))
    for t in range(1, n + 1):
        one = (r[t - 1][None, :], torch.zeros(1, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long))
        V[(t - 1, t)] = one
        G[(t - 1, t)] = one
    for L in range(2, n + 1):
        for s in range(n - L + 1):
            t = s + L
            vv, vm, vp, pv, pm, pp = [], [], [], [], [], []
            for k in range(1, L):
                a, am, _ = V[(s + k, t)]
                b, bm, _ = G[(s, s + k)]
                prod = (a[:, None, :] * b[None, :, :]).reshape(-1, d)
                ia = torch.arange(a.shape[0]).repeat_interleave(b.shape[0])
                ib = torch.arange(b.shape[0]).repeat(a.shape[0])
                cnt = am[ia] + bm[ib]
                val = combine(a[ia], b[ib], w[t], None if s0 is None else s0[:, s, t])
                ptr = torch.stack([torch.full_like(ia, k), ia, ib], dim=1)
                vv.append(val); vm.append(cnt + 1); vp.append(ptr)
                pv.append(prod); pm.append(cnt); pp.append(ptr)
            vals, cnt, ptr = torch.cat(vv), torch.cat(vm), torch.cat(vp)
            keep = prune(vals, cnt)
            V[(s, t)] = (vals[keep], cnt[keep], ptr[keep])
            if (s, t) != (0, n):
                own = V[(s, t)]
                single = torch.stack([torch.zeros(own[0].shape[0], dtype=torch.long),
                                      torch.arange(own[0].shape[0]),
                                      torch.zeros(own[0].shape[0], dtype=torch.long)], dim=1)
                vals = torch.cat([own[0]] + pv)
                cnt = torch.cat([own[1]] + pm)
                ptr = torch.cat([single] + pp)
                keep = prune(vals, cnt)
                G[(s, t)] = (vals[keep], cnt[keep], ptr[keep])
    root_vals, root_cnt, _ = V[(0, n)]
    per = norms * (root_vals - T).abs()
    front_w2 = torch.sqrt((per**2).sum(dim=1))
    best = int(front_w2.argmin())

    def tree_of(index):
        def single(s, t, j):
            if t == s + 1:
                return MergeTree.leaf(t)
            k, ia, ib = V[(s, t)][2][j].tolist()
            return MergeTree.node([single(s + k, t, ia)] + sequence(s, s + k, ib))

        def sequence(s, t, j):
            if t == s + 1:
                return [MergeTree.leaf(t)]
            k, ia, ib = G[(s, t)][2][j].tolist()
            if k == 0:
                return [single(s, t, ia)]
            return [single(s + k, t, ia)] + sequence(s, s + k, ib)

        return single(0, n, index)

    return ParetoResult(tree_of(best), root_vals[best].clone(), float(front_w2[best]), root_vals, root_cnt,
                        front_w2, best, orient, tree_of)


# ------------------------------------------------------- one tree for many coordinates
def _coordinates(schedule, lam, ctau, init) -> MergeProblem:
    """A flat problem with one entry per coordinate: ``lam`` 1-D (or a number), ``ctau`` a number or one per entry."""
    if isinstance(schedule, MergeProblem):
        prob = MergeProblem.of(schedule, lam, ctau, init)
        if len(prob.shape) > 1:
            raise ValueError(f"the problem must hold a 1-D list of coordinates, got batch shape {prob.shape}")
        return prob.flat()
    lam_t = as_tensor(lam, "lam", positive=True)
    if lam_t.ndim > 1:
        raise ValueError(f"lam must be a number or a 1-D list of variances, got shape {tuple(lam_t.shape)}")
    lam_t = lam_t.reshape(-1)
    if lam_t.numel() == 0:
        raise ValueError("lam must hold at least one variance, got an empty list")
    ctau_t = as_tensor(ctau, "ctau", nonnegative=True)
    if ctau_t.numel() not in (1, lam_t.numel()) or ctau_t.ndim > 1:
        raise ValueError(f"ctau must be a number or one budget per variance, got shape {tuple(ctau_t.shape)} "
                         f"for {lam_t.numel()} variances")
    return MergeProblem(schedule, lam_t, ctau_t.reshape(-1), init).flat()


@dataclass(frozen=True, eq=False)
class SharedTree:
    """The one merge tree that minimises the summed W2 of R9 over ``d`` coordinates.

    Attributes
    ----------
    tree : MergeTree
        The best tree found.
    w2 : float
        Its ``sqrt(sum_i ||v_{i,N}||^2 (m_i - T_i)^2)`` (:func:`lineardistill.trees.w2`).
    lower_bound : float
        A proved lower bound on the optimal summed W2 (equal to ``w2`` up to rounding when ``exact``).
    exact : bool
        The search ended: ``tree`` is optimal (up to floating-point rounding of the bounds).
    values : torch.Tensor
        ``m_i`` of the tree, shape ``(d,)``.
    own_w2 : torch.Tensor
        Each coordinate's own optimum ``||v_N|| |m_i - T_i|`` over all trees (a per-coordinate bound).
    status, nodes, seconds
        How the search ended (``"proved"`` or ``"time limit"``), the partial trees it visited, its time.
    """

    tree: MergeTree
    w2: float
    lower_bound: float
    exact: bool
    values: torch.Tensor
    own_w2: torch.Tensor
    status: str
    nodes: int
    seconds: float


def shared_optimal_tree(schedule, lam=None, ctau=None, init: str = "warm", time_limit=None, *,
                        max_operations=MAX_OPERATIONS) -> SharedTree:
    """R13: the single merge tree that minimises the W2 of R9 summed over coordinates, certified.

    Minimises ``W2^2 = sum_i ||v_{i,N}||^2 (m_i - T_i)^2`` over all trees by branch and bound
    (:mod:`lineardistill.search`): every partial tree is bounded per coordinate by the min- and
    max-DP tables of all intervals, which is exact for coordinates whose values lie on one side of
    ``T_i`` and conservative for the others. The search starts from the best of BOOT, one-shot and the
    min- and max-DP trees of a few coordinates, and ends with a proof of optimality or when the call
    has used ``time_limit`` seconds; then ``exact=False`` and ``lower_bound`` is the larger of the
    search's proved bound and the bound from each coordinate's own range of values (no shared tree
    beats those).

    Examples
    --------
    >>> import lineardistill as ld
    >>> res = ld.shared_optimal_tree(ld.Schedule.cosine(6), [0.5, 1.5, 3.0], 0.4)
    >>> str(res.tree), res.exact, round(res.w2, 6)
    ('(((6,5,4,3),2),1)', True, 0.370205)

    Parameters
    ----------
    schedule : Schedule or MergeProblem
    lam : array_like, 1-D
        The variances ``lambda_i`` of the ``d`` coordinates.
    ctau : float or array_like
        One budget, or one per coordinate.
    init : str
    time_limit : float or None
        Seconds for the search (``None``: until proved).
    max_operations : float or None
        Cap on the DP's estimated cost (see :func:`interval_dp`).
    """
    from .search import branch_and_bound

    if time_limit is not None:
        time_limit = as_float(time_limit, "time_limit", positive=True)
    begin = time.perf_counter()
    p = _coordinates(schedule, lam, ctau, init)
    n, d = p.num_steps, p.shape[0]
    tables = extreme_tables(p, max_operations)
    (vlo, glo), (vhi, ghi) = tables
    c = p.norms[:, -1] ** 2
    least, largest = vlo[:, n, 0].to(p.device), vhi[:, n, 0].to(p.device)
    # each coordinate alone: exact on one side of T; in the window bounded below by 0 (cheap, valid)
    own = torch.where(least >= p.T, least - p.T, torch.where(largest <= p.T, p.T - largest, torch.zeros_like(p.T)))
    own_w2 = p.norms[:, -1] * own
    named = [MergeTree.boot(n), MergeTree.vanilla(n)]
    for i in {int(c.argmax()), int((c * (least - p.T).clamp(min=0) ** 2).argmax()),
              int((c * (p.T - largest).clamp(min=0) ** 2).argmax())}:
        named += [_rebuild(p, i, vlo[i].to(p.device), glo[i].to(p.device)),
                  _rebuild(p, i, vhi[i].to(p.device), ghi[i].to(p.device))]

    def total(tree):
        m = merge_rule_value(tree, p).reshape(-1)
        return float((c * (m - p.T) ** 2).sum())

    start = min(named, key=total)
    left = None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - begin))
    out = branch_and_bound(p, tables, start, time_limit=left, stop=0.0,
                           lower_bound=float((own_w2**2).sum()))
    m = merge_rule_value(out.tree, p).reshape(-1)
    w2 = float(torch.sqrt((c * (m - p.T) ** 2).sum()))
    exact = out.status == "proved"
    lb = w2 if exact else math.sqrt(max(out.lower_bound, 0.0))
    return SharedTree(out.tree, w2, min(lb, w2), exact, m, own_w2, out.status, out.nodes, out.seconds)
