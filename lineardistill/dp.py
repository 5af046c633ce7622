"""Optimal merge trees by dynamic programming (theory R10 to R13).

Notation: ``V(s, t)`` is a value of a *single operator* over the steps
``s+1..t`` (a leaf when ``t = s + 1``, else a trained student), ``G(s, t)`` a
value of a *sequence* of one or more single operators over the same steps.
A student over ``(s, t]`` merges children ``C_1, ..., C_m`` (``m >= 2``,
``C_1`` the noisiest), and with the first child over ``(u, t]`` its value is
``f_t(V(u, t), G(s, u))`` where, per initialization,

- warm: ``f_t(a, b) = a (w_t + (1 - w_t) b)`` (R7),
- otherwise: ``f_t(a, b) = w_t S0(s, t) + (1 - w_t) a b`` (R6).

``f_t`` is increasing in both arguments for positive values (R10), so the best
value of an interval is built from the best values of its parts (R11).

Tables are stored densely, shape ``batch + (N+1, N+1)``; the interval DP loops
in Python only over the interval *length* and treats every interval of that
length and every split point at once through strided views, so the work is
``O(N^3)`` tensor arithmetic and ``O(N^2)`` memory per batch element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ._checks import as_int, as_tensor, broadcast, one_of
from .schedule import as_schedule
from .student import INITS, _weights, coarse_multipliers
from .teacher import _multipliers, composite, vector_norms
from .trees import MergeTree, count_trees, merge_value

METHODS = ("auto", "enumerate", "approximate")
"""Methods of :func:`optimal_tree`."""

OPTS = ("min", "max", "target")
"""Selection rules of :func:`interval_dp`: least value, largest value, or the
value closest to the teacher composite of each interval (a heuristic)."""

ENUMERATION_MAX_STEPS = 11
"""Largest ``N`` for which :func:`enumerate_values` lists every tree (518,859 trees at N = 11)."""

ENUMERATION_CHUNK = 2**22
"""Enumeration works on at most this many (batch element, tree) values at once."""

PARETO_MAX_POINTS = 20000
"""The Pareto DP refuses to continue when one interval keeps more vectors than this."""

ENGINES = ("auto", "numba", "torch")
"""Private ``_engine`` choices of :func:`interval_dp` (which code runs a scalar min/max DP)."""

TOLERANCE = 1e-12
"""Relative tolerance used to decide on which side of ``T`` the tree values lie."""


# ------------------------------------------------------------------ inputs
def _inputs(schedule, lam, ctau, init):
    """Validated (r, w, s0, batch shape) for the merge rule; ``s0`` is None for the warm start."""
    sch = as_schedule(schedule)
    init = one_of(init, "init", INITS)
    dev = sch.alphas.device
    lam = as_tensor(lam, "lam", positive=True, device=dev)
    ctau = as_tensor(ctau, "ctau", nonnegative=True, device=dev)
    lam, ctau = broadcast(lam=lam, ctau=ctau)
    shape = lam.shape
    lam, ctau = lam.reshape(-1), ctau.reshape(-1)
    n = sch.num_steps
    r = _multipliers(sch, lam)                              # (B, N), entry j: step j+1
    w = _weights(sch, lam, ctau)                            # (B, N+1), entry t: time t
    s0 = None
    if init != "warm":
        B = lam.numel()
        if init == "zero":
            s0 = torch.zeros(B, n + 1, n + 1, dtype=r.dtype, device=dev)
        elif init == "identity":
            s0 = torch.ones(B, n + 1, n + 1, dtype=r.dtype, device=dev)
        elif init == "teacher":
            top = torch.cat([torch.ones_like(r[:, :1]), r], dim=1)   # r at time t (index t)
            s0 = top[:, None, :].expand(B, n + 1, n + 1).contiguous()
        else:
            s0 = coarse_multipliers(sch, lam).contiguous()
    return sch, r, w, s0, shape, lam, ctau


def _view(table, offset, size, stride):
    """A strided view ``batch + size`` into a contiguous ``(B, N+1, N+1)`` table."""
    b = table.shape[0]
    plane = table.shape[1] * table.shape[2]
    return table.as_strided((b,) + tuple(size), (plane,) + tuple(stride), table.storage_offset() + offset)


# ------------------------------------------------------------ interval DP
@dataclass(frozen=True, eq=False)
class IntervalDP:
    """Tables of the interval DP (R11) for a batch of (variance, budget) pairs.

    ``value`` has the broadcast shape of ``lam`` and ``ctau``: the root value
    ``V(0, N)``. ``V[..., t, u]`` holds ``V(u, t)`` (note the order), ``G[..., s, u]``
    holds ``G(s, u)``; ``split_v[..., t, s]`` is the length ``u - s`` of the last
    part under the first child of ``V(s, t)``, ``split_g[..., s, t]`` the same
    for ``G`` (0: the sequence is the single operator ``V(s, t)``). With
    ``pointers=False`` and at least ``BATCH_LAYOUT_MIN`` points only ``value`` is
    kept (the tables and pointers are ``None``).
    """

    schedule: object
    opt: str
    init: str
    value: torch.Tensor
    V: torch.Tensor
    G: torch.Tensor
    split_v: torch.Tensor
    split_g: torch.Tensor
    shape: tuple = field(default=())

    def tree(self, index=()):
        """The merge tree the DP chose for batch element ``index`` (a tuple into ``value``)."""
        if self.split_v is None:
            raise ValueError("this IntervalDP was computed with pointers=False; rerun with pointers=True for trees")
        flat = _flat_index(index, self.shape)
        kv = self.split_v[flat].tolist()
        kg = self.split_g[flat].tolist()
        return _build_tree(lambda s, t: kv[t][s], lambda s, t: kg[s][t], self.schedule.num_steps)


def _build_tree(split_v, split_g, n):
    """Rebuild a tree from back-pointers without recursion (chains of thousands of steps)."""
    out, stack = [], [("S", 0, n)]
    while stack:
        op, s, t = stack.pop()
        if op == "S":
            if t == s + 1:
                out.append(MergeTree.leaf(t))
            else:
                u = s + split_v(s, t)
                stack += [("node", 0, 0), ("Q", s, u), ("S", u, t)]
        elif op == "Q":
            k = split_g(s, t)
            if k == 0:
                stack += [("wrap", 0, 0), ("S", s, t)]
            else:
                stack += [("cons", 0, 0), ("Q", s, s + k), ("S", s + k, t)]
        elif op == "wrap":
            out.append([out.pop()])
        else:
            rest = out.pop()
            first = out.pop()
            out.append(MergeTree.node([first] + rest) if op == "node" else [first] + rest)
    return out[0]


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


def interval_dp(schedule, lam, ctau, opt: str = "min", init: str = "warm", pointers: bool = True,
                *, _engine: str = "auto") -> IntervalDP:
    """R11: the least (``opt="min"``) or largest (``"max"``) one-step value over all merge trees.

    Batched over the broadcast of ``lam`` and ``ctau``. With ``opt="target"``
    each interval picks the candidate closest to its teacher composite
    ``T(s, t)``: a heuristic that returns the value of a real tree, used to
    certify mixed phases and as the approximate method of :func:`optimal_tree`.
    ``pointers=False`` skips the back-pointers (values only, faster; no :meth:`~IntervalDP.tree`).

    One (variance, budget) pair with ``opt="min"`` or ``"max"`` on the CPU runs
    a compiled numba kernel (:func:`_numba_extremes`) when numba is importable
    (the first call compiles it, about a second), else the torch code. The
    private ``_engine`` (``"auto"``, ``"numba"``, ``"torch"``) forces one path, for tests and benchmarks.
    """
    opt = one_of(opt, "opt", OPTS)
    if not isinstance(pointers, bool):
        raise TypeError(f"pointers must be a bool, got {pointers!r}")
    _engine = one_of(_engine, "_engine", ENGINES)
    sch, r, w, s0, shape, _, _ = _inputs(schedule, lam, ctau, init)
    n = sch.num_steps
    B = r.shape[0]
    if _engine != "torch" and opt != "target" and B == 1 and r.device.type == "cpu":
        out = _numba_extremes(r, w, s0, n, opt)
        if out is not None:
            VG, KK = out
            kv, kg = (KK[0], KK[1]) if pointers else (None, None)
            return IntervalDP(sch, opt, init, VG[0, :, n, 0].reshape(shape), VG[0].reshape(shape + VG.shape[2:]),
                              VG[1].reshape(shape + VG.shape[2:]), kv, kg, tuple(shape))
        if _engine == "numba":
            raise RuntimeError("_engine='numba' needs the numba package, which is not importable")
    elif _engine == "numba":
        raise ValueError("_engine='numba' serves only one (variance, budget) pair on the CPU with opt 'min' or 'max'")
    if not pointers and opt != "target" and B >= BATCH_LAYOUT_MIN:
        value = _values_batch_last(r, w, s0, n, opt)
        return IntervalDP(sch, opt, init, value.reshape(shape), None, None, None, None, tuple(shape))
    if pointers and opt != "target":
        VG, KK = _extremes_with_pointers(r, w, s0, n, opt)
        return IntervalDP(sch, opt, init, VG[0, :, n, 0].reshape(shape), VG[0].reshape(shape + VG.shape[2:]),
                          VG[1].reshape(shape + VG.shape[2:]), KK[0], KK[1], tuple(shape))
    dev, dt = r.device, r.dtype
    V = torch.zeros(B, n + 1, n + 1, dtype=dt, device=dev)    # V[b, t, u] = V(u, t)
    G = torch.zeros(B, n + 1, n + 1, dtype=dt, device=dev)    # G[b, s, u] = G(s, u)
    if pointers or opt == "target":
        kv = torch.zeros(B, n + 1, n + 1, dtype=torch.int32, device=dev)
        kg = torch.zeros(B, n + 1, n + 1, dtype=torch.int32, device=dev)
    else:
        kv = kg = None
    m = n + 2
    # length-1 intervals: leaves
    _view(V, n + 1, (n,), (m,)).copy_(r)
    _view(G, 1, (n,), (m,)).copy_(r)
    if opt == "target":
        logt = torch.log(r)
        cum = torch.nn.functional.pad(torch.cumsum(logt, dim=1), (1, 0))
    for L in range(2, n + 1):
        ns = n - L + 1
        a = _view(V, L * (n + 1) + 1, (ns, L - 1), (m, 1))    # V(s+k, s+L), k = 1..L-1
        b = _view(G, 1, (ns, L - 1), (m, 1))                  # G(s, s+k)
        wt = w[:, L:L + ns, None]
        prod = a * b
        if s0 is None:
            cand = torch.addcmul(wt, 1 - wt, b).mul_(a)       # a (w + (1 - w) b)
        else:
            s0t = _view(s0, L, (ns, 1), (m, 1))               # S0(s, s+L)
            cand = torch.addcmul(wt * s0t, 1 - wt, prod)
        if opt == "target":
            target = torch.exp(cum[:, L:L + ns] - cum[:, :ns])[..., None]   # T(s, s+L)
            pick = (cand - target).abs().argmin(dim=-1, keepdim=True)
            best = cand.gather(-1, pick)[..., 0]
            pick_p = (prod - target).abs().argmin(dim=-1, keepdim=True)
            best_p = prod.gather(-1, pick_p)[..., 0]
            use_p = (best_p - target[..., 0]).abs() < (best - target[..., 0]).abs()
            pick, pick_p = pick[..., 0], pick_p[..., 0]
        elif pointers:
            reduce = torch.min if opt == "min" else torch.max
            best, pick = reduce(cand, dim=-1)
            best_p, pick_p = reduce(prod, dim=-1)
            use_p = best_p < best if opt == "min" else best_p > best
        else:
            reduce = torch.amin if opt == "min" else torch.amax
            both = torch.minimum if opt == "min" else torch.maximum
            best = reduce(cand, dim=-1)
            _view(V, L * (n + 1), (ns,), (m,)).copy_(best)
            _view(G, L, (ns,), (m,)).copy_(both(best, reduce(prod, dim=-1)))
            continue
        _view(V, L * (n + 1), (ns,), (m,)).copy_(best)
        _view(kv, L * (n + 1), (ns,), (m,)).copy_(pick + 1)
        _view(G, L, (ns,), (m,)).copy_(torch.where(use_p, best_p, best))
        _view(kg, L, (ns,), (m,)).copy_(torch.where(use_p, pick_p + 1, torch.zeros_like(pick_p)))
    value = V[:, n, 0].reshape(shape)
    return IntervalDP(sch, opt, init, value, V.reshape(shape + V.shape[1:]), G.reshape(shape + G.shape[1:]),
                      kv, kg, tuple(shape))


def extreme_values(schedule, lam, ctau, init: str = "warm"):
    """R11: ``(least, largest)`` one-step value over all merge trees, batched."""
    return (interval_dp(schedule, lam, ctau, "min", init).value,
            interval_dp(schedule, lam, ctau, "max", init).value)


def _extremes_with_pointers(r, w, s0, n, opt):
    """The min or max DP with back-pointers, few tensor operations per length.

    ``VG[0]`` is the V table (``[b, t, u]``), ``VG[1]`` the G table (``[b, s, u]``),
    one storage, so that the new diagonals of both are written by one copy;
    ``KK`` holds the split pointers in the same layout.
    """
    B = r.shape[0]
    dev, dt = r.device, r.dtype
    VG = torch.zeros(2, B, n + 1, n + 1, dtype=dt, device=dev)
    KK = torch.zeros(2, B, n + 1, n + 1, dtype=torch.long, device=dev)
    sq, m = (n + 1) ** 2, n + 2
    plane = B * sq
    VG.as_strided((B, n), (sq, m), n + 1).copy_(r)
    VG.as_strided((B, n), (sq, m), plane + 1).copy_(r)
    omw = 1 - w
    reduce = torch.min if opt == "min" else torch.max
    for L in range(2, n + 1):
        ns = n - L + 1
        a = VG.as_strided((B, ns, L - 1), (sq, m, 1), L * (n + 1) + 1)     # V(s+k, s+L)
        b = VG.as_strided((B, ns, L - 1), (sq, m, 1), plane + 1)           # G(s, s+k)
        prod = a * b
        if s0 is None:
            cand = torch.addcmul(w[:, L:L + ns, None], omw[:, L:L + ns, None], b).mul_(a)
        else:
            start = w[:, L:L + ns, None] * s0.as_strided((B, ns, 1), (sq, m, 1), s0.storage_offset() + L)
            cand = torch.addcmul(start, omw[:, L:L + ns, None], prod)
        best, pick = reduce(cand, -1)
        gbest, gpick = reduce(torch.cat([best.unsqueeze(-1), prod], -1), -1)   # index 0: the single operator
        VG.as_strided((2, B, ns), (plane - L * n, sq, m), L * (n + 1)).copy_(torch.stack([best, gbest]))
        KK.as_strided((2, B, ns), (plane - L * n, sq, m), L * (n + 1)).copy_(torch.stack([pick + 1, gpick]))
    return VG, KK


_NUMBA_KERNEL = None


def _numba_kernel():
    """The compiled scalar min/max kernel, built on first use; ``False`` when numba is not importable.

    numba is imported here, not at module level, so that ``import lineardistill`` stays quick.
    """
    global _NUMBA_KERNEL
    if _NUMBA_KERNEL is None:
        try:
            import numba
            from llvmlite import ir
            from numba.core import types
            from numba.extending import intrinsic
        except ImportError:
            _NUMBA_KERNEL = False
            return _NUMBA_KERNEL

        @intrinsic
        def fma(typingctx, x, y, z):
            """``x * y + z`` rounded once, as torch.addcmul computes it on CPUs with FMA."""
            sig = types.float64(types.float64, types.float64, types.float64)

            def codegen(context, builder, signature, args):
                d = ir.DoubleType()
                fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
                return builder.call(fn, args)

            return sig, codegen

        @numba.njit(cache=False)
        def kernel(r, w, s0, warm, is_min, V, G, KV, KG):
            # V[t, u] = V(u, t), G[s, u] = G(s, u); KV[t, s] = u - s of the first child of V(s, t);
            # KG[s, t] = 0 for the single operator V(s, t), else the length of the last part.
            # Operations, their rounding (the addcmul of torch is one fused multiply-add) and the
            # tie-breaks (first index wins) are those of _extremes_with_pointers, so the tables agree bit for bit.
            n = r.shape[0]
            for t in range(1, n + 1):
                V[t, t - 1] = r[t - 1]
                G[t - 1, t] = r[t - 1]
            for L in range(2, n + 1):
                for s in range(n - L + 1):
                    t = s + L
                    wt = w[t]
                    omw = 1.0 - wt
                    start = 0.0 if warm else wt * s0[s, t]
                    best = 0.0
                    pick = 0
                    bestp = 0.0
                    pickp = 0
                    for k in range(1, L):
                        a = V[t, s + k]
                        b = G[s, s + k]
                        prod = a * b
                        if warm:
                            cand = fma(omw, b, wt) * a
                        else:
                            cand = fma(omw, prod, start)
                        if k == 1:
                            best, pick, bestp, pickp = cand, 1, prod, 1
                        elif is_min:
                            if cand < best:
                                best, pick = cand, k
                            if prod < bestp:
                                bestp, pickp = prod, k
                        else:
                            if cand > best:
                                best, pick = cand, k
                            if prod > bestp:
                                bestp, pickp = prod, k
                    V[t, s] = best
                    KV[t, s] = pick
                    if (bestp < best) if is_min else (bestp > best):
                        G[s, t] = bestp
                        KG[s, t] = pickp
                    else:
                        G[s, t] = best
                        KG[s, t] = 0

        _NUMBA_KERNEL = kernel
    return _NUMBA_KERNEL


def _numba_extremes(r, w, s0, n, opt):
    """:func:`_extremes_with_pointers` for a batch of one, by the numba kernel; ``None`` without numba.

    Returns ``(VG, KK)`` in the same layout (shapes ``(2, 1, N+1, N+1)``).
    """
    kernel = _numba_kernel()
    if kernel is False:
        return None
    import numpy as np

    vg = np.zeros((2, 1, n + 1, n + 1))
    kk = np.zeros((2, 1, n + 1, n + 1), dtype=np.int64)
    r_np = r[0].detach().to(torch.float64).contiguous().numpy()
    w_np = w[0].detach().to(torch.float64).contiguous().numpy()
    warm = s0 is None
    s0_np = _NO_START if warm else s0[0].detach().to(torch.float64).contiguous().numpy()
    kernel(r_np, w_np, s0_np, warm, opt == "min", vg[0, 0], vg[1, 0], kk[0, 0], kk[1, 0])
    return torch.from_numpy(vg).to(r.dtype), torch.from_numpy(kk)


_NO_START = torch.zeros(1, 1, dtype=torch.float64).numpy()
"""Placeholder for the kernel's ``s0`` argument under the warm start (one compiled signature for all inits)."""


def _values_batch_last(r, w, s0, n, opt):
    """Root values only, for large batches: tables ``(N+1, N+1, B)`` with the batch innermost.

    Loops over the length and the split in Python, so each step is a few
    elementwise operations on contiguous ``(intervals, B)`` slices and no
    reduction over a short axis; worth it when ``B`` is large.
    """
    B = r.shape[0]
    dev, dt = r.device, r.dtype
    V = torch.zeros(n + 1, n + 1, B, dtype=dt, device=dev)     # V[t, u, b] = V(u, t)
    G = torch.zeros(n + 1, n + 1, B, dtype=dt, device=dev)     # G[s, u, b] = G(s, u)
    rt, wt_all = r.T.contiguous(), w.T.contiguous()           # (N, B), (N+1, B)
    step = (n + 2) * B
    V.as_strided((n, B), (step, 1), (n + 1) * B).copy_(rt)
    G.as_strided((n, B), (step, 1), B).copy_(rt)
    if s0 is not None:
        s0 = s0.permute(1, 2, 0).contiguous()                  # (N+1, N+1, B), [s, t, b]
    better = torch.minimum if opt == "min" else torch.maximum
    for L in range(2, n + 1):
        ns = n - L + 1
        wt = wt_all[L:L + ns]
        omw = 1 - wt
        best_v = best_p = None
        for k in range(1, L):
            a = V.as_strided((ns, B), (step, 1), (L * (n + 1) + k) * B)
            b = G.as_strided((ns, B), (step, 1), k * B)
            prod = a * b
            if s0 is None:
                cand = torch.addcmul(wt, omw, b).mul_(a)
            else:
                cand = torch.addcmul(wt * s0.as_strided((ns, B), (step, 1), L * B), omw, prod)
            best_v = cand if best_v is None else better(best_v, cand, out=best_v)
            best_p = prod if best_p is None else better(best_p, prod, out=best_p)
        V.as_strided((ns, B), (step, 1), L * (n + 1) * B).copy_(best_v)
        G.as_strided((ns, B), (step, 1), L * B).copy_(better(best_v, best_p))
    return V[n, 0].clone()


BATCH_LAYOUT_MIN = 256
"""From this many (variance, budget) pairs on, value-only DPs use the batch-innermost layout."""


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

    def tree(self, index: int):
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


def _enumerate(r, w, s0, n, combine):
    """Set-valued DP over all trees. ``combine(a, b, s, t)`` -> candidate values (outer product)."""
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
            vstart, gstart = 0, 0
            nv = sum(V[(s + k, t)].shape[1] * G[(s, s + k)].shape[1] for k in range(1, L))
            gstart = nv
            for k in range(1, L):
                a, b = V[(s + k, t)], G[(s, s + k)]
                prod = (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1)
                vparts.append(combine(a, b, prod, s, t))
                gparts.append(prod)
                vlay.append((k, vstart, b.shape[1]))
                glay.append((k, gstart, b.shape[1]))
                vstart += prod.shape[1]
                gstart += prod.shape[1]
            V[(s, t)] = torch.cat(vparts, dim=1)
            G[(s, t)] = torch.cat([V[(s, t)]] + gparts, dim=1) if s > 0 or t < n else None
            layout["V"][(s, t)] = vlay
            layout["G"][(s, t)] = glay
            layout["nV"][(s, t)] = nv
    return V[(0, n)], layout


def enumerate_values(schedule, lam, ctau, init: str = "warm") -> TreeValues:
    """R12 (exact): the one-step value of every merge tree, by a set-valued DP.

    Batched over ``lam`` and ``ctau``; refuses ``N > ENUMERATION_MAX_STEPS``
    (the number of trees grows about 5.8-fold per step). This is also the
    vectorised brute-force evaluator.
    """
    sch = as_schedule(schedule)
    n = sch.num_steps
    if n > ENUMERATION_MAX_STEPS:
        raise ValueError(f"enumeration over all trees is limited to num_steps <= {ENUMERATION_MAX_STEPS} "
                         f"(too many trees); got num_steps={n}")
    sch, r, w, s0, shape, _, _ = _inputs(sch, lam, ctau, init)

    count = count_trees(n)
    per = max(1, ENUMERATION_CHUNK // max(count, 1))
    pieces, layout = [], None
    for start in range(0, r.shape[0], per):
        sl = slice(start, start + per)
        vals, layout = _enumerate(r[sl], w[sl], None if s0 is None else s0[sl], n, _combine_for(sl, w, s0))
        pieces.append(vals)
    values = torch.cat(pieces, dim=0) if pieces else torch.zeros(0, count, dtype=r.dtype)
    return TreeValues(sch, values.reshape(tuple(shape) + (values.shape[-1],)), layout, shape)


def _combine_for(sl, w, s0):
    """Bind a batch slice to the merge rule used by the enumeration."""
    def bound(a, b, prod, s, t):
        wt = w[sl, t:t + 1]
        if s0 is None:
            return (a * wt)[:, :, None].expand(-1, -1, b.shape[1]).reshape(a.shape[0], -1) + (1 - wt) * prod
        return wt * s0[sl, s, t:t + 1] + (1 - wt) * prod
    return bound


# ------------------------------------------------------------ the optimum
@dataclass(frozen=True, eq=False)
class OptimalTree:
    """The W2-optimal merge tree for one variance and one budget (R11, R12).

    ``method`` says how it was found; ``exact`` whether it is a proven optimum;
    ``gap_bound`` bounds ``w2 - (optimal w2)`` (0 when exact).
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

    @property
    def shrinkage(self) -> float:
        """``m / T`` of the returned tree."""
        return self.value / self.teacher


def _scalar(value, name):
    t = as_tensor(value, name)
    if t.numel() != 1:
        raise ValueError(f"{name} must be a single number here, got shape {tuple(t.shape)}; "
                         "use interval_dp or the phase functions for batches, pareto_tree for several variances")
    return float(t.reshape(()))


def optimal_tree(schedule, lam, ctau, init: str = "warm", method: str = "auto") -> OptimalTree:
    """R11/R12: the merge tree whose one-step multiplier ``m`` is closest to the teacher ``T``.

    ``method="auto"``: run the min- and max-DP (R11). If every tree value lies
    on one side of ``T`` (up to a relative ``TOLERANCE``), the min or max tree
    is exact. Otherwise (the mixed window) enumerate every tree when
    ``N <= ENUMERATION_MAX_STEPS`` (exact), else return the best of the min,
    max and target-DP trees with the a-posteriori bound ``gap_bound = w2``
    (the optimum is at least 0). ``method="enumerate"`` always enumerates;
    ``method="approximate"`` always uses the approximate rule (to compare it
    with the exact one).
    """
    sch = as_schedule(schedule)
    method = one_of(method, "method", METHODS)
    init = one_of(init, "init", INITS)
    lam_f = _scalar(as_tensor(lam, "lam", positive=True), "lam")
    ctau_f = _scalar(as_tensor(ctau, "ctau", nonnegative=True), "ctau")
    n = sch.num_steps
    T = float(composite(sch, lam_f))
    norm = float(vector_norms(sch, lam_f)[-1])
    lo = interval_dp(sch, lam_f, ctau_f, "min", init)
    hi = interval_dp(sch, lam_f, ctau_f, "max", init)
    least, largest = float(lo.value), float(hi.value)

    def result(tree, how, exact, bound=None):
        m = float(merge_value(tree, sch, lam_f, ctau_f, init))
        dist = norm * abs(m - T)
        return OptimalTree(tree, m, T, dist, how, exact, 0.0 if exact else (dist if bound is None else bound),
                           least, largest)

    window = least < T * (1 - TOLERANCE) and largest > T * (1 + TOLERANCE)
    if method != "auto" or window:
        if method == "enumerate" and n > ENUMERATION_MAX_STEPS:
            raise ValueError(f"method='enumerate' is limited to num_steps <= {ENUMERATION_MAX_STEPS}, got {n}")
        if method != "approximate" and n <= ENUMERATION_MAX_STEPS:
            ev = enumerate_values(sch, lam_f, ctau_f, init)
            j = int((ev.values - T).abs().argmin())
            return result(ev.tree(j), f"enumeration of all {ev.num_trees} trees (R12, exact)", True)
        tg = interval_dp(sch, lam_f, ctau_f, "target", init)
        cands = [(abs(float(v.value) - T), v.tree()) for v in (lo, hi, tg)]
        best = min(cands, key=lambda c: c[0])[1]
        return result(best, "best of the min-, max- and target-DP trees (approximate: tree values lie on both "
                            "sides of T; gap_bound = its own W2, since the optimum is >= 0)", False)
    if least >= T * (1 - TOLERANCE):
        return result(lo.tree(), "min-DP (R11, exact: every tree value is >= T)", True)
    return result(hi.tree(), "max-DP (R11, exact: every tree value is <= T)", True)


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


def pareto_tree(schedule, lam, ctau, init: str = "warm", merges: bool = False) -> ParetoResult:
    """R13: the single tree that minimises the summed W2 over coordinates with variances ``lam``.

    ``lam`` is a 1-D list of ``d`` variances (``ctau`` a number or one budget per
    coordinate). Each interval keeps only value vectors that no other vector of
    the same interval beats in every coordinate: by R10 a beaten part can be
    swapped for the better one in any tree without harm, so the answer is
    exact. With ``merges=True`` the number of merges is one more coordinate,
    which gives the fidelity-against-training-cost front
    (:meth:`ParetoResult.cost_front`).
    """
    sch = as_schedule(schedule)
    init = one_of(init, "init", INITS)
    if not isinstance(merges, bool):
        raise TypeError(f"merges must be a bool, got {merges!r}")
    lam_t = as_tensor(lam, "lam", positive=True, device=sch.alphas.device)
    if lam_t.ndim > 1:
        raise ValueError(f"lam must be a number or a 1-D list of variances, got shape {tuple(lam_t.shape)}")
    lam_t = lam_t.reshape(-1)
    if lam_t.numel() == 0:
        raise ValueError("lam must hold at least one variance, got an empty list")
    ctau_t = as_tensor(ctau, "ctau", nonnegative=True, device=sch.alphas.device)
    try:
        lam_t, ctau_t = torch.broadcast_tensors(lam_t, ctau_t)
    except RuntimeError:
        raise ValueError(f"ctau must be a number or one budget per variance, got shape {tuple(ctau_t.shape)} "
                         f"for {lam_t.numel()} variances") from None
    sch, r, w, s0, _, _, _ = _inputs(sch, lam_t, ctau_t, init)
    n, d = sch.num_steps, lam_t.numel()
    T = composite(sch, lam_t)
    norms = vector_norms(sch, lam_t)[..., -1]
    least = interval_dp(sch, lam_t, ctau_t, "min", init).value
    largest = interval_dp(sch, lam_t, ctau_t, "max", init).value
    orient = torch.zeros(d, dtype=torch.long)
    orient[least >= T * (1 - TOLERANCE)] = 1
    orient[(largest <= T * (1 + TOLERANCE)) & (orient == 0)] = -1
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
                if s0 is None:
                    val = a[ia] * (w[t] + (1 - w[t]) * b[ib])
                else:
                    val = w[t] * s0[:, s, t] + (1 - w[t]) * prod
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
