"""The phase transition of the optimal merge tree (theory R14 to R17, R19, R20; chapter 7).

``lambda_c`` (R15) is the variance above which every teacher step but the last
one enlarges the signal (``r_t >= 1``); :func:`step_thresholds` gives each step's
threshold (closed forms in R20). With the warm start, BOOT's sequential chain is
optimal up to ``lambda_b`` (:func:`lambda_boot`) and one-shot merging from
``lambda_c`` on (R16); both ends are sharp at every budget. Inside the band the
optimum is a mixed tree except on the exact lines of :func:`exact_variances`
(R19), where a named tree reproduces the teacher. The classification below is
computed, not assumed: it compares the BOOT and one-shot values with the optimum
found by the DP of :mod:`lineardistill.dp`, batched over a grid of variances and
budgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._checks import as_tensor, broadcast, one_of
from .dp import ENUMERATION_MAX_STEPS, enumerate_values, interval_dp
from .schedule import as_schedule
from .problem import TOLERANCE
from .student import INITS, training_weights
from .teacher import composite, teacher_multipliers
from .trees import MergeTree, merge_value

PHASES = ("BOOT", "mixed", "one-shot", "tie", "unresolved")
"""Phase names; :func:`classify` returns their indices.

- ``BOOT``: the BOOT chain attains the optimum and one-shot does not;
- ``one-shot``: one-shot attains it and BOOT does not;
- ``mixed``: a tree that is neither is strictly better than both;
- ``tie``: both attain it (e.g. ``N <= 2``, ``ctau = 0``, or every tree within rounding of ``T``);
- ``unresolved``: tree values fall on both sides of ``T``, ``N`` is too large to
  enumerate, and no tree better than both named ones was found (never seen in our sweeps).
"""
BOOT, MIXED, ONE_SHOT, TIE, UNRESOLVED = range(5)

# TOLERANCE (problem.py, 1e-12): relative tolerance (times ``T``) below which two distances count as equal.
# Tie rule of classify: a named tree *attains the optimum* when its ``|m - T|`` is at most
# ``best + TOLERANCE * T``; BOOT and one-shot both attaining it is a ``tie``. A named tree with
# ``|m - T| <= TOLERANCE * T`` reproduces the teacher and is optimal whatever the other trees do
# (no distance is below 0), so such a point is exact even when ``N`` is too large to enumerate
# (on the lines of exact_variances).


def _threshold(schedule, reduce) -> float:
    """``reduce`` over t = 1..N-1 of the variance at which ``r_t = 1`` (R15, derived in symbolic.py).

    0.0 when N = 1 (no inner step). A step that keeps alpha fixed has threshold inf (its r_t < 1 at
    every variance): the maximum is then inf, while the minimum is that of the other steps (inf
    only when no inner step lowers alpha, as under VE).
    """
    s = as_schedule(schedule)
    if s.num_steps == 1:
        return 0.0
    return float(reduce(step_thresholds(s)))

def lambda_c(schedule) -> float:
    """R15: ``max_{1<=t<=N-1} sigma_t (sigma_t - sigma_{t-1}) / (alpha_t (alpha_{t-1} - alpha_t))``.

    For ``lam >= lambda_c`` every teacher step ``r_t`` with ``t <= N-1`` is ``>= 1``.
    ``0.0`` when ``N = 1`` (no such step); ``inf`` when some step keeps
    ``alpha`` fixed (a VE schedule: then ``r_t < 1`` for every ``lam``).
    """
    return _threshold(schedule, torch.max)


def step_thresholds(schedule) -> torch.Tensor:
    """R15/R20: the variance at which ``r_t = 1``, for each inner step ``t = 1..N-1`` (entry ``t - 1``).

    ``sigma_t (sigma_t - sigma_{t-1}) / (alpha_t (alpha_{t-1} - alpha_t))``; ``r_t`` increases
    with the variance (R19), so ``r_t < 1`` below it and ``r_t > 1`` above it. Under VP, with
    angles ``phi_t = atan2(sigma_t, alpha_t)``, it equals ``tan(phi_t) / tan((phi_{t-1} + phi_t) / 2)
    = (1 + q_t) / (1 - q_t)``, ``q_t = sin((phi_t - phi_{t-1}) / 2) / sin((3 phi_t + phi_{t-1}) / 2)``;
    for ``t = 1`` it is ``1 + 1 / alpha_1``. Entries are ``inf`` where ``alpha`` does not drop (VE). Empty when N = 1.
    """
    s = as_schedule(schedule)
    n = s.num_steps
    a0, a1 = s.alphas[:n - 1], s.alphas[1:n]
    s0, s1 = s.sigmas[:n - 1], s.sigmas[1:n]
    gap = a0 - a1
    safe = torch.where(gap > 0, gap, torch.ones_like(gap))
    return torch.where(gap > 0, s1 * (s1 - s0) / (a1 * safe), torch.full_like(gap, math.inf))


def lambda_boot(schedule) -> float:
    """The least of the per-step thresholds of R15: ``min_{1<=t<=N-1} sigma_t (sigma_t - sigma_{t-1}) / (alpha_t (alpha_{t-1} - alpha_t))``.

    For ``lam <= lambda_boot`` every step ``r_t`` with ``t <= N-1`` is ``<= 1``,
    which is all the BOOT half of R16 uses; under VP it is ``>= 1``. It is also where
    BOOT stops being optimal: for ``N >= 3``, ``0 < ctau < inf`` and a non-empty band,
    BOOT is not optimal just above it, at every budget (chapter 7, theorem "Sharp ends"). ``0.0``
    when ``N = 1``; ``inf`` when no inner step lowers ``alpha`` (a VE schedule); steps that keep
    ``alpha`` fixed (threshold ``inf``) do not count.
    """
    return _threshold(schedule, torch.min)


def boot_value(schedule, lam, ctau) -> torch.Tensor:
    """R16 (warm start): the BOOT chain's value ``r_N prod_{j<N} (w_N + (1 - w_N) r_j)``, in log space."""
    s = as_schedule(schedule)
    lam, ctau = _grid(s, lam, ctau)
    r = teacher_multipliers(s, lam)
    w = training_weights(s, lam, ctau)[..., -1:]
    return torch.exp(torch.log(r[..., -1]) + torch.log(w + (1 - w) * r[..., :-1]).sum(dim=-1))


def one_shot_value(schedule, lam, ctau) -> torch.Tensor:
    """R16 (warm start): the one-shot tree's value ``w_N r_N + (1 - w_N) T``."""
    s = as_schedule(schedule)
    lam, ctau = _grid(s, lam, ctau)
    r = teacher_multipliers(s, lam)
    w = training_weights(s, lam, ctau)[..., -1]
    return w * r[..., -1] + (1 - w) * composite(s, lam)


def _grid(s, lam, ctau):
    lam = as_tensor(lam, "lam", positive=True, device=s.alphas.device)
    ctau = as_tensor(ctau, "ctau", nonnegative=True, device=s.alphas.device)
    return broadcast(lam=lam, ctau=ctau)


# ------------------------------------------------- the exact lines (R19)
BISECTION_STEPS = 200
"""Bisection steps of :func:`exact_variances` (each halves a bracket; it stops once the bracket is a few ulps)."""

SCAN_POINTS = 4097
"""Grid points on which :func:`exact_variances` looks for sign changes of BOOT minus T when
``alpha_N > 0`` (then the root is not proved unique)."""


@dataclass(frozen=True)
class ExactVariances:
    """Result of :func:`exact_variances` for one schedule and one budget.

    ``one_shot``: the variance where the one-shot tree reproduces ``T`` exactly
    (``prod_{j<N} r_j = 1``); it does not depend on the budget. ``None`` when
    ``N = 1`` (one tree, always exact) or when no step enlarges the signal at
    any variance (a VE schedule). ``boot``: the variances where BOOT's value
    equals ``T`` at this budget, increasing (empty when there are none).
    ``boot_unique``: whether ``boot`` is proved to hold the only such variance
    (true when ``alpha_N = 0``: then ``w_N`` does not depend on the variance
    and BOOT minus T changes sign once); otherwise the roots were found from sign
    changes on :data:`SCAN_POINTS` log-spaced points of ``[lambda_b, lambda_c]``.
    ``lambda_b``, ``lambda_c``: the ends of the band (:func:`lambda_boot`, :func:`lambda_c`).
    """

    one_shot: float | None
    boot: tuple
    boot_unique: bool
    lambda_b: float
    lambda_c: float
    ctau: float


def _step_gaps(s, lam):
    """``u_j = 1 / r_j - 1`` for the inner steps j = 1..N-1, computed without cancellation."""
    n = s.num_steps
    a0, a1, s0, s1 = s.alphas[:n - 1], s.alphas[1:n], s.sigmas[:n - 1], s.sigmas[1:n]
    lam = lam[..., None]
    return (a1 * (a1 - a0) * lam + s1 * (s1 - s0)) / (a0 * a1 * lam + s0 * s1)


def _one_shot_gap(s, lam, ctau):
    """``log prod_{j<N} r_j`` with the sign flipped: positive below ``lambda*``, negative above."""
    return torch.log1p(_step_gaps(s, lam)).sum(dim=-1)


def _boot_gap(s, lam, ctau):
    """``log(prod_j g(r_j) / prod_j r_j) / w_N``: the sign of BOOT minus T (R19), scaled by ``1 / w_N``.

    ``g(r) / r = 1 + w u`` with ``u = 1 / r - 1``; dividing by ``w_N`` keeps the
    function finite (and its root) as ``w_N -> 0`` (the limit is ``sum_j u_j``).
    """
    u = _step_gaps(s, lam)
    w = training_weights(s, lam, ctau)[..., -1:]
    scaled = torch.where(w > 0, torch.log1p(w * u) / torch.where(w > 0, w, torch.ones_like(w)), u)
    return scaled.sum(dim=-1)


def _bisect(fn, s, lo, hi, ctau):
    """Roots of decreasing ``fn`` on the brackets ``[lo, hi]`` (tensors; ``fn(lo) >= 0 >= fn(hi)``), in log space."""
    lo, hi = torch.log(lo), torch.log(hi)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        if bool(((mid == lo) | (mid == hi)).all()):
            break
        positive = fn(s, torch.exp(mid), ctau) > 0
        lo = torch.where(positive, mid, lo)
        hi = torch.where(positive, hi, mid)
    f_lo, f_hi = fn(s, torch.exp(lo), ctau).abs(), fn(s, torch.exp(hi), ctau).abs()
    return torch.exp(torch.where(f_lo <= f_hi, lo, hi))


def exact_variances(schedule, ctau) -> ExactVariances:
    """R19: the variances where a named tree reproduces the teacher exactly, to float64 precision.

    One-shot minus ``T`` is ``w_N r_N (1 - P)`` with ``P = prod_{j<N} r_j``; each ``r_j``
    increases with the variance, so ``P`` does and it crosses 1 once, at ``one_shot``
    (inside ``[lambda_b, lambda_c]``; under VP inside ``(1, lambda_c]``). BOOT minus ``T`` is
    ``r_N (prod_{j<N} (w_N + (1 - w_N) r_j) - P)``; it is positive up to ``lambda_b`` and
    negative from ``lambda_c`` on, and its zeros are ``boot``. Roots are bracketed and
    bisected in ``log lam`` until the bracket is a few ulps wide (relative error well
    below 1e-10). ``ctau`` is one budget ``>= 0``; ``ctau = 0`` gives ``boot == (one_shot,)``
    (every tree is the start ``r_N`` then).
    """
    s = as_schedule(schedule)
    ctau_t = as_tensor(ctau, "ctau", nonnegative=True, device=s.alphas.device)
    if ctau_t.numel() != 1:
        raise ValueError(f"ctau must be a single budget, got shape {tuple(ctau_t.shape)}; call once per budget")
    ctau_t = ctau_t.reshape(())
    lb, lc = lambda_boot(s), lambda_c(s)
    if s.num_steps == 1 or not math.isfinite(lc):
        return ExactVariances(None, (), True, lb, lc, float(ctau_t))
    # below lambda_b every inner r_j < 1, above lambda_c every r_j > 1 (R15, R19): a bracket
    lo = torch.tensor(0.5 * lb, dtype=s.alphas.dtype, device=s.alphas.device)
    hi = torch.tensor(2.0 * lc, dtype=s.alphas.dtype, device=s.alphas.device)
    one = float(_bisect(_one_shot_gap, s, lo, hi, ctau_t))
    unique = float(s.alphas[-1]) == 0.0
    if unique:
        roots = _bisect(_boot_gap, s, lo, hi, ctau_t).reshape(1)
    else:
        grid = torch.logspace(math.log10(0.5 * lb), math.log10(2.0 * lc), SCAN_POINTS, dtype=s.alphas.dtype,
                              device=s.alphas.device)
        vals = _boot_gap(s, grid, ctau_t)
        exact = torch.nonzero(vals == 0).reshape(-1)
        down = torch.nonzero((vals[:-1] > 0) & (vals[1:] < 0)).reshape(-1)
        up = torch.nonzero((vals[:-1] < 0) & (vals[1:] > 0)).reshape(-1)
        found = [grid[exact]]
        if down.numel():
            found.append(_bisect(_boot_gap, s, grid[down], grid[down + 1], ctau_t))
        if up.numel():  # an increasing crossing: bisect -f
            flipped = lambda sch, lam, c: -_boot_gap(sch, lam, c)
            found.append(_bisect(flipped, s, grid[up], grid[up + 1], ctau_t))
        roots = torch.cat(found).sort().values
    return ExactVariances(one, tuple(float(x) for x in roots), unique, lb, lc, float(ctau_t))


@dataclass(frozen=True, eq=False)
class Phases:
    """Result of :func:`classify`: one entry per (variance, budget) point.

    ``code`` indexes :data:`PHASES`; ``window`` marks points whose tree values
    lie on both sides of ``T``; ``exact`` marks points whose optimum is known
    exactly (outside the window, or enumerated); ``best`` is the optimal (or
    best found) ``|m - T|``; ``boot`` and ``one_shot`` are those trees' ``|m - T|``.
    """

    code: torch.Tensor
    window: torch.Tensor
    exact: torch.Tensor
    best: torch.Tensor
    boot: torch.Tensor
    one_shot: torch.Tensor
    teacher: torch.Tensor

    def names(self):
        """The phase names, as a nested list shaped like ``code``."""
        return _names(self.code.tolist())


def _names(x):
    return [_names(v) for v in x] if isinstance(x, list) else PHASES[x]


def classify(schedule, lam, ctau, init: str = "warm") -> Phases:
    """R16/R17: the class of the W2-optimal tree at every point of ``broadcast(lam, ctau)``.

    One batched computation: the min- and max-DP (R11) give the optimum
    wherever all tree values lie on one side of ``T``; inside that window the
    optimum is enumerated when ``N <= ENUMERATION_MAX_STEPS``, and otherwise a
    point is called mixed only when a DP tree (min, max or target rule) is
    strictly better than both BOOT and one-shot (a certificate), else
    ``unresolved``.
    """
    s = as_schedule(schedule)
    init = one_of(init, "init", INITS)
    lam, ctau = _grid(s, lam, ctau)
    shape = lam.shape
    lam, ctau = lam.reshape(-1), ctau.reshape(-1)
    n = s.num_steps
    T = composite(s, lam)
    tol = TOLERANCE * T
    d_boot = (merge_value(MergeTree.boot(n), s, lam, ctau, init) - T).abs()
    d_one = (merge_value(MergeTree.vanilla(n), s, lam, ctau, init) - T).abs()
    least = interval_dp(s, lam, ctau, "min", init, pointers=False).value
    above = least >= T - tol
    best = torch.where(above, (least - T).abs(), torch.full_like(T, math.nan))
    rest = torch.nonzero(~above).reshape(-1)
    window = torch.zeros_like(above)
    exact = above.clone()
    if rest.numel():
        largest = interval_dp(s, lam[rest], ctau[rest], "max", init, pointers=False).value
        below = largest <= T[rest] + tol[rest]
        best[rest[below]] = (T[rest] - largest).abs()[below]
        exact[rest[below]] = True
        inside = rest[~below]
        window[inside] = True
        if inside.numel():
            if n <= ENUMERATION_MAX_STEPS:
                vals = enumerate_values(s, lam[inside], ctau[inside], init).values
                best[inside] = (vals - T[inside, None]).abs().amin(dim=-1)
                exact[inside] = True
            else:
                tg = interval_dp(s, lam[inside], ctau[inside], "target", init, pointers=False).value
                found = torch.stack([(tg - T[inside]).abs(), (T[inside] - least[inside]).abs(),
                                     (largest[~below] - T[inside]).abs(), d_boot[inside], d_one[inside]]).amin(0)
                best[inside] = found
    # a named tree that reproduces T (within the tolerance) is optimal: no distance is below 0
    zero = torch.minimum(d_boot, d_one) <= tol
    best = torch.where(zero & ~exact, torch.minimum(best, torch.minimum(d_boot, d_one)), best)
    exact = exact | zero
    boot_ok = d_boot <= best + tol
    one_ok = d_one <= best + tol
    code = torch.full(T.shape, MIXED, dtype=torch.long)
    code[boot_ok & ~one_ok] = BOOT
    code[one_ok & ~boot_ok] = ONE_SHOT
    code[boot_ok & one_ok] = TIE
    code[~exact & ~(best < torch.minimum(d_boot, d_one) - tol)] = UNRESOLVED
    return Phases(code.reshape(shape), window.reshape(shape), exact.reshape(shape), best.reshape(shape),
                  d_boot.reshape(shape), d_one.reshape(shape), T.reshape(shape))


@dataclass(frozen=True, eq=False)
class PhaseDiagram:
    """R17: phases over a grid, ``code[i, j]`` at ``lams[i]``, ``ctaus[j]``."""

    schedule: object
    init: str
    lams: torch.Tensor
    ctaus: torch.Tensor
    phases: Phases
    lambda_c: float

    @property
    def code(self) -> torch.Tensor:
        return self.phases.code

    def fractions(self) -> dict:
        """Share of grid points in each phase."""
        total = self.code.numel()
        return {name: int((self.code == k).sum()) / total for k, name in enumerate(PHASES)}


def phase_diagram(schedule, lams, ctaus, init: str = "warm") -> PhaseDiagram:
    """R17: :func:`classify` over the grid ``lams x ctaus`` (1-D lists), as one batched computation."""
    s = as_schedule(schedule)
    lams = as_tensor(lams, "lams", positive=True, device=s.alphas.device).reshape(-1)
    ctaus = as_tensor(ctaus, "ctaus", nonnegative=True, device=s.alphas.device).reshape(-1)
    if lams.numel() == 0 or ctaus.numel() == 0:
        raise ValueError(f"lams and ctaus must be non-empty, got {lams.numel()} and {ctaus.numel()} values")
    phases = classify(s, lams[:, None], ctaus[None, :], init)
    return PhaseDiagram(s, init, lams, ctaus, phases, lambda_c(s))
