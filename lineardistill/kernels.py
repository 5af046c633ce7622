"""Compiled mirror of the interval DP's recurrence (chapter 6 of the book).

The interval DP of theory R11 has one recurrence, written once in torch in
:mod:`lineardistill.dp` with the merge rule :func:`lineardistill.problem.combine`.
This module holds its one mirror for the CPU: :func:`point_tables`, a
numba-compiled function (in the way QuantEcon keeps its kernels: a top-level
function with its own docstring, compiled when numba is importable and run as
plain Python otherwise), and two drivers that run it over a batch in parallel,
:func:`extreme_tables` (all tables kept) and :func:`extreme_roots` (root values
only). The model is the book's own reading of Gao and Li
(2025, arXiv:2505.16024).

Why a mirror at all: torch issues a few tensor operations per interval length
and cannot fuse the reduction over split points with the merge rule; compiled,
the inner loop over split points runs in SIMD registers and both tables stay
in cache. Why the arithmetic is repeated instead of calling ``combine``: numba
cannot call torch. The mirror performs the same IEEE operations in the same
order as ``combine`` (``(1 - w) * b``, then ``w + ...``, then ``a * ...``;
no fused multiply-add: the compile flags below exclude contraction), so its
tables agree with the torch path bit for bit, which the tests check, and
:meth:`lineardistill.dp.IntervalDP.tree` can find a table's split by exact
equality. Only ``min``/``max`` are reassociated by the vectoriser, which does
not change their result.

Importing this module imports numba; :mod:`lineardistill.dp` imports it only
when a DP runs, so that ``import lineardistill`` stays quick.
"""

from __future__ import annotations

import numpy as np

try:  # numba is optional: without it the same functions run as plain Python (slow, for tiny sizes)
    import numba
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    NUMBA = False

if NUMBA:
    # no-NaN / no-inf / no-signed-zero only: lets LLVM vectorise the min/max reductions,
    # while "contract" (fused multiply-add) and "reassoc" of + and * stay off, so rounding matches torch.
    _FLAGS = {"nnan", "ninf", "nsz"}

    def _binary(name):
        @intrinsic
        def op(typingctx, x, y):
            sig = types.float64(types.float64, types.float64)

            def codegen(context, builder, signature, args):
                d = ir.DoubleType()
                fn = builder.module.declare_intrinsic(name, [d], ir.FunctionType(d, [d, d]))
                return builder.call(fn, args)

            return sig, codegen

        return op

    # llvm.minnum/maxnum vectorise; Python's min/max as numba compiles them (NaN-aware branches) do not
    _minnum = _binary("llvm.minnum")
    _maxnum = _binary("llvm.maxnum")


def _fmin(x, y):
    """``min`` of two numbers without NaN (plain Python; compiled code uses ``llvm.minnum``)."""
    return x if x < y else y


def _fmax(x, y):
    """``max`` of two numbers without NaN (plain Python; compiled code uses ``llvm.maxnum``)."""
    return x if x > y else y


if NUMBA:
    @numba.extending.overload(_fmin)
    def _fmin_compiled(x, y):
        return lambda x, y: _minnum(x, y)

    @numba.extending.overload(_fmax)
    def _fmax_compiled(x, y):
        return lambda x, y: _maxnum(x, y)

    def _jit(**kw):
        return numba.njit(fastmath=_FLAGS, **kw)

    _prange = numba.prange
else:  # pragma: no cover

    def _jit(**kw):
        return lambda fn: fn

    _prange = range


@_jit(cache=True)
def point_tables(r, w, s0, warm, which, V, G, W, H):
    """The recurrence of R11 for one point: the mirror of :func:`lineardistill.dp._torch_tables`.

    Same arguments as :func:`extreme_tables` without the batch axis (``r`` of shape ``(N,)``, the
    tables ``(N+1, N+1)``). Called directly for a single point: a parallel region costs a thread
    wake-up, which on a busy machine can exceed the whole DP.
    """
    n = r.shape[0]
    for t in range(1, n + 1):
        if which != 2:
            V[t, t - 1] = r[t - 1]
            G[t - 1, t] = r[t - 1]
        if which != 1:
            W[t, t - 1] = r[t - 1]
            H[t - 1, t] = r[t - 1]
        wt = w[t]
        omw = 1.0 - wt
        # the order t ascending, s descending computes every V(u, t), u > s, and every G(s, u), u < t, first
        for s in range(t - 2, -1, -1):
            start = 0.0 if warm else wt * s0[s, t]
            lo = np.inf
            lop = np.inf
            hi = -np.inf
            hip = -np.inf
            if which != 2:  # the least values
                ar = V[t, s + 1:t]
                br = G[s, s + 1:t]
                if warm:
                    for k in range(t - s - 1):
                        a = ar[k]
                        b = br[k]
                        lo = _fmin(lo, a * (wt + omw * b))
                        lop = _fmin(lop, a * b)
                else:
                    for k in range(t - s - 1):
                        p = ar[k] * br[k]
                        lo = _fmin(lo, start + omw * p)
                        lop = _fmin(lop, p)
                V[t, s] = lo
                G[s, t] = _fmin(lo, lop)
            if which != 1:  # the largest values
                ar = W[t, s + 1:t]
                br = H[s, s + 1:t]
                if warm:
                    for k in range(t - s - 1):
                        a = ar[k]
                        b = br[k]
                        hi = _fmax(hi, a * (wt + omw * b))
                        hip = _fmax(hip, a * b)
                else:
                    for k in range(t - s - 1):
                        p = ar[k] * br[k]
                        hi = _fmax(hi, start + omw * p)
                        hip = _fmax(hip, p)
                W[t, s] = hi
                H[s, t] = _fmax(hi, hip)


@_jit(cache=True, parallel=True)
def extreme_tables(r, w, s0, warm, which, V, G, W, H):
    """R11 by compiled loops: the least and/or largest value tables for a batch of points.

    Parameters
    ----------
    r : ndarray, shape (B, N)
        Teacher multipliers, entry ``j`` the step from time ``j + 1`` to ``j``.
    w : ndarray, shape (B, N+1)
        Training weights, entry ``t`` for time ``t``.
    s0 : ndarray, shape (B, N+1, N+1)
        Start values ``S0(s, t)`` at ``[b, s, t]``; ignored when ``warm`` (then shape ``(B, 1, 1)`` will do).
    warm : bool
        The warm start ``a (w + (1 - w) b)``; else ``w S0 + (1 - w) a b``.
    which : int
        0 both extremes, 1 the least only, 2 the largest only.
    V, G, W, H : ndarray, shape (B, N+1, N+1)
        Output tables, written in place: ``V[b, t, u] = V(u, t)`` and ``G[b, s, u] = G(s, u)`` for the
        least values, ``W`` and ``H`` the same for the largest. Only entries with ``s < u`` (resp.
        ``u < t``) are written.

    Notes
    -----
    One point per thread (``prange`` over the batch); within a point the order of the loops makes
    both inner reads contiguous (a row of ``V`` and a row of ``G``), so the reduction over split
    points is vectorised. Same operations and rounding as the torch path
    (:func:`lineardistill.dp.interval_dp`).
    """
    for i in _prange(r.shape[0]):
        point_tables(r[i], w[i], s0[i], warm, which, V[i], G[i], W[i], H[i])


@_jit(cache=True, parallel=True)
def extreme_roots(r, w, s0, warm, which, out):
    """:func:`extreme_tables` keeping only the root values: ``out[0, b]`` least, ``out[1, b]`` largest.

    Each thread works in its own ``(N+1, N+1)`` scratch tables, so memory does not grow with the batch.
    """
    n = r.shape[1]
    for i in _prange(r.shape[0]):
        V = np.empty((n + 1, n + 1))
        G = np.empty((n + 1, n + 1))
        W = np.empty((n + 1, n + 1))
        H = np.empty((n + 1, n + 1))
        point_tables(r[i], w[i], s0[i], warm, which, V, G, W, H)
        out[0, i] = V[n, 0]
        out[1, i] = W[n, 0]
