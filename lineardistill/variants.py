"""Variants of the student model: what the phase transition depends on (theory R21, R22).

Chapter ``07b_what_the_transition_depends_on`` explains this module. The book's
model (R6, R7) trains a student that outputs the block's end latent ``z_s`` of the
VP process, on the squared error in that latent, by gradient flow, each student
with the same budget ``ctau``, and scores a tree by ``W2`` to the teacher's law.
Every one of these choices can be changed without changing the teacher's samples;
:class:`StudentModel` names the changes and :func:`tree_values` evaluates every
tree under them, in the VP latent ``z`` (so values are comparable across models).

A student for the block ``(s, t]`` is linear in its parameter ``theta``: its operator
on ``z_t`` is ``A + B theta`` with

- ``target="latent"``: ``theta`` maps the input to the latent ``c_s z_s``, where the
  latent is ``x_t = c_t z_t`` (``c_t = 1`` for VP, ``1 / alpha_t`` for the VE view);
- ``target="x0"``: ``theta`` predicts ``x_0`` and DDIM jumps from ``t`` to ``s``;
- ``target="eps"``: ``theta`` predicts the noise and DDIM jumps;
- ``target="v"``: ``theta`` predicts ``v = alpha eps - sigma x_0`` (VP) and DDIM jumps.

Gradient flow on the loss of its own target (unit weight) keeps the convex
combination ``S = w S(0) + (1 - w) C`` of R6, because the operator is affine in
``theta``; only the weight changes, ``w_t = exp(-ctau k_t^2 ||v_t||^2)``, with ``k_t``
the scale of the network's input (``c_t`` for the raw latent, ``1 / ||v_t||`` for a
standardized input, as EDM's ``c_in`` does). The warm start copies the first
child's parameters, which gives a start operator that depends on the target:

- latent: ``S(0) = a c_u / c_s``;
- x0 and v: ``S(0) = sigma_s / sigma_t + kappa(s, t) (a - sigma_u / sigma_t) / kappa(u, t)``,
  ``kappa(s, t) = alpha_s - sigma_s alpha_t / sigma_t``;
- eps: ``S(0) = alpha_s / alpha_t + ell(s, t) (a - alpha_u / alpha_t) / ell(u, t)``,
  ``ell(s, t) = sigma_s - alpha_s sigma_t / alpha_t``;

where ``a`` is the first child's operator over ``(u, t]``. The three DDIM starts are one
and the same operator (copying the weights copies the implied denoiser, and DDIM's jump
depends only on it), so x0, eps and v students differ only through the loss: with
``loss="own"`` they coincide; with ``loss="output"`` (the error measured on ``z_s``) the
curvature gains the factor ``B(s, t)^2`` of their parametrisation. Only the latent target
depends on ``c``; with a standardized input the weights do not either, so the
model ``(target="x0", inputs="standardized")`` gives the same trees in every latent.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from ._checks import as_int, as_tensor, broadcast, one_of
from .phase import BOOT, MIXED, ONE_SHOT, TIE, TOLERANCE
from .schedule import as_schedule
from .student import INITS
from .teacher import _multipliers, _norms, composite
from .trees import MAX_ENUMERATION_STEPS, MergeTree, all_trees, merge_value

LATENTS = ("vp", "ve")
TARGETS = ("latent", "x0", "eps", "v")
INPUTS = ("raw", "standardized")
BUDGETS = ("per-student", "total")
LOSSES = ("own", "output")
OBJECTIVES = ("teacher", "data")


@dataclass(frozen=True)
class StudentModel:
    """How students are parametrised, started and trained (see the module docstring).

    ``latent``: ``"vp"`` (``z_t``) or ``"ve"`` (``z_t / alpha_t``); ``target``: what the
    network outputs; ``inputs``: ``"raw"`` latent or ``"standardized"`` (unit variance);
    ``init``: one of :data:`~lineardistill.student.INITS` (other than ``"warm"`` only with
    the book's model: VP latent, latent target, raw input); ``loss``: ``"own"`` (squared
    error of the network's own target, unit weight) or ``"output"`` (squared error of the
    block's end latent ``z_s``, the distillation loss of R6, whatever the target); ``budget``: ``"per-student"``
    (each student trains for ``ctau``) or ``"total"`` (a tree with ``k`` students gives each
    ``ctau / k``).
    """

    latent: str = "vp"
    target: str = "latent"
    inputs: str = "raw"
    init: str = "warm"
    budget: str = "per-student"
    loss: str = "own"

    def __post_init__(self):
        one_of(self.latent, "latent", LATENTS)
        one_of(self.target, "target", TARGETS)
        one_of(self.inputs, "inputs", INPUTS)
        one_of(self.init, "init", INITS)
        one_of(self.budget, "budget", BUDGETS)
        one_of(self.loss, "loss", LOSSES)
        if self.init != "warm" and (self.latent, self.target, self.inputs) != ("vp", "latent", "raw"):
            raise ValueError(f"init={self.init!r} is defined for the book's model only (latent='vp', "
                             f"target='latent', inputs='raw'); got {self}")
        if self.target == "v" and self.latent != "vp":
            raise ValueError("target='v' is defined in the VP latent only (v = alpha eps - sigma x0)")


@functools.lru_cache(maxsize=4)
def _all_trees(n: int) -> list:
    """:func:`~lineardistill.trees.all_trees`, built once per ``n`` (trees are immutable)."""
    return all_trees(n)


def _check(schedule, model):
    s = as_schedule(schedule)
    if not isinstance(model, StudentModel):
        raise TypeError(f"model must be a StudentModel, got {type(model).__name__}")
    if not s.variance_preserving:
        raise ValueError("variants compare parametrisations of a VP schedule; got a non-VP schedule")
    needs_alpha = model.latent == "ve" or model.target == "eps"
    if needs_alpha and float(s.alphas[-1]) <= 0:
        raise ValueError(f"{model} divides by alpha_N, but this schedule ends at alpha_N = 0; "
                         "use one with alpha_N > 0 (for example Schedule.linear)")
    return s


def internal_nodes(tree) -> int:
    """The number of students (internal nodes) of a merge tree."""
    if not isinstance(tree, MergeTree):
        raise TypeError(f"tree must be a MergeTree, got {type(tree).__name__}")
    return sum(1 for node in tree.nodes() if not node.is_leaf)


def _weights(s, lam, ctau, model):
    """``w_t`` for t = 0..N, shape ``lam.shape + (N+1,)``."""
    norms2 = _norms(s, lam) ** 2
    if model.inputs == "standardized":  # unit-variance input: curvature 1 at every time
        return torch.exp(-ctau[..., None] * torch.ones_like(norms2))
    if model.latent == "ve":  # the input x_t = z_t / alpha_t has variance ||v_t||^2 / alpha_t^2
        return torch.exp(-ctau[..., None] * norms2 / s.alphas**2)
    return torch.exp(-ctau[..., None] * norms2)


def _start(model, s, a, lo, mid, hi, lam, r, al, sg):
    """``S(0)`` in z coordinates for a student over ``(lo, hi]`` whose first child covers ``(mid, hi]``.

    ``al``, ``sg``: the schedule as Python floats (the coefficients are scalars; only ``a`` is a tensor).
    """
    if model.init != "warm":
        if model.init == "zero":
            return torch.zeros_like(a)
        if model.init == "identity":
            return torch.ones_like(a)
        if model.init == "teacher":
            return r[..., hi - 1]
        return (al[lo] * al[hi] * lam + sg[lo] * sg[hi]) / (al[hi] ** 2 * lam + sg[hi] ** 2)
    if model.target == "latent":
        return a if model.latent == "vp" else a * (al[lo] / al[mid])
    if model.target in ("x0", "v"):
        k_lo, k_mid = al[lo] - sg[lo] * al[hi] / sg[hi], al[mid] - sg[mid] * al[hi] / sg[hi]
        return (k_lo / k_mid) * a + (sg[lo] / sg[hi] - k_lo * sg[mid] / (sg[hi] * k_mid))
    e_lo, e_mid = sg[lo] - al[lo] * sg[hi] / al[hi], sg[mid] - al[mid] * sg[hi] / al[hi]
    return (e_lo / e_mid) * a + (al[lo] / al[hi] - e_lo * al[mid] / (al[hi] * e_mid))


def _slope(model, s, lo, hi):
    """``B(s, t)``: the operator's derivative in the parameter for a unit-scale input (``S = A + B theta``)."""
    al, sg = s.alphas, s.sigmas
    if model.target == "latent":
        return 1.0 if model.latent == "vp" else float(al[lo])  # x_s = c_s z_s: z_s moves by 1 / c_s = alpha_s
    kappa = float(al[lo] - sg[lo] * al[hi] / sg[hi])
    if model.target == "x0":
        return kappa
    if model.target == "v":
        return -kappa * float(sg[hi])
    return float(sg[lo] - al[lo] * sg[hi] / al[hi])


def _evaluate(trees, s, lam, ctau, model):
    r = _multipliers(s, lam)
    w = _weights(s, lam, ctau, model)
    al, sg = s.alphas.tolist(), s.sigmas.tolist()
    memo: dict[int, torch.Tensor] = {}

    def value(node):  # each distinct subtree once (all_trees shares them)
        key = id(node)
        if key not in memo:
            if node.is_leaf:
                memo[key] = r[..., node.step - 1]
            else:
                kids = [value(c) for c in node.children]
                a, rest = kids[0], kids[1]
                for k in kids[2:]:
                    rest = rest * k
                start = _start(model, s, a, node.lo, node.children[0].lo, node.hi, lam, r, al, sg)
                wt = w[..., node.hi]
                if model.loss == "output":  # curvature times (dS/dtheta)^2 = B(s, t)^2
                    wt = wt ** (_slope(model, s, node.lo, node.hi) ** 2)
                memo[key] = wt * start + (1 - wt) * a * rest
        return memo[key]

    return torch.stack([value(tree) for tree in trees], dim=-1)


def tree_values(trees, schedule, lam, ctau, model: StudentModel = StudentModel()) -> torch.Tensor:
    """The one-step multiplier ``M`` (in the VP latent ``z``) of each tree under ``model``.

    ``trees``: a list of :class:`~lineardistill.trees.MergeTree` over ``N..1`` (subtrees
    may be shared: each distinct subtree is evaluated once). Returns shape
    ``broadcast(lam, ctau).shape + (len(trees),)``. The default model is the book's:
    the result equals :func:`~lineardistill.trees.merge_value`.
    """
    s = _check(schedule, model)
    trees = list(trees)
    if not trees or not all(isinstance(t, MergeTree) for t in trees):
        raise TypeError("trees must be a non-empty list of MergeTree")
    for t in trees:
        if t.lo != 0 or t.hi != s.num_steps:
            raise ValueError(f"every tree must cover steps {s.num_steps}..1, got {t}")
    lam = as_tensor(lam, "lam", positive=True, device=s.alphas.device)
    ctau = as_tensor(ctau, "ctau", nonnegative=True, device=s.alphas.device)
    lam, ctau = broadcast(lam=lam, ctau=ctau)
    if model.budget == "per-student":
        return _evaluate(trees, s, lam, ctau, model)
    counts = [internal_nodes(t) for t in trees]
    result = torch.empty(lam.shape + (len(trees),), dtype=lam.dtype, device=lam.device)
    for k in sorted(set(counts)):
        idx = [i for i, c in enumerate(counts) if c == k]
        share = ctau / max(k, 1)
        result[..., idx] = _evaluate([trees[i] for i in idx], s, lam, share, model)
    return result


def w2_distance(values, schedule, lam, objective: str = "teacher") -> torch.Tensor:
    """R22: per-coordinate ``W2`` of the one-step law ``N(0, M^2 ||v_N||^2)``.

    ``objective="teacher"``: to the teacher's output law, ``||v_N|| |M - T|`` (R9);
    ``objective="data"``: to the data law ``N(0, lam)``, ``| M ||v_N|| - sqrt(lam) |``.
    ``values`` and ``lam`` broadcast together (add a trailing axis to ``lam`` for a tree axis).
    """
    s = as_schedule(schedule)
    objective = one_of(objective, "objective", OBJECTIVES)
    m = as_tensor(values, "values", device=s.alphas.device)
    lam = as_tensor(lam, "lam", positive=True, device=s.alphas.device)
    m, lam = broadcast(values=m, lam=lam)
    norm = torch.sqrt(s.alphas[-1] ** 2 * lam + s.sigmas[-1] ** 2)
    if objective == "teacher":
        return norm * (m - composite(s, lam)).abs()
    return (m * norm - torch.sqrt(lam)).abs()


@dataclass(frozen=True, eq=False)
class VariantPhases:
    """Result of :func:`variant_phases`: the optimal tree over a grid under one model and objective.

    ``code`` indexes :data:`~lineardistill.phase.PHASES` (BOOT, mixed, one-shot, tie) with the tie
    rule of :func:`~lineardistill.phase.classify` (relative tolerance ``TOLERANCE`` of the
    teacher's or the data's scale); ``best``: index into ``trees`` of an optimal tree;
    ``distance``: every tree's ``W2``, shape ``grid + (num_trees,)``.
    """

    trees: list
    code: torch.Tensor
    best: torch.Tensor
    distance: torch.Tensor
    boot_index: int
    one_shot_index: int


def variant_phases(schedule, lam, ctau, model: StudentModel = StudentModel(),
                   objective: str = "teacher") -> VariantPhases:
    """The class of the ``W2``-optimal tree at every point of ``broadcast(lam, ctau)``, by enumeration.

    Every tree over ``N <= MAX_ENUMERATION_STEPS`` steps is evaluated (:func:`tree_values`),
    so the optimum is exact whatever the model. A named tree attains it when its distance
    is at most ``best + TOLERANCE * scale``, ``scale`` the teacher's (or the data's) standard
    deviation: both attaining it is a tie.
    """
    s = as_schedule(schedule)
    n = as_int(s.num_steps, "num_steps", minimum=1, maximum=MAX_ENUMERATION_STEPS)
    objective = one_of(objective, "objective", OBJECTIVES)
    trees = _all_trees(n)
    boot_i = trees.index(MergeTree.boot(n))
    one_i = trees.index(MergeTree.vanilla(n))
    lam_t = as_tensor(lam, "lam", positive=True, device=s.alphas.device)
    ctau_t = as_tensor(ctau, "ctau", nonnegative=True, device=s.alphas.device)
    lam_t, ctau_t = broadcast(lam=lam_t, ctau=ctau_t)
    values = tree_values(trees, s, lam_t, ctau_t, model)
    norm = torch.sqrt(s.alphas[-1] ** 2 * lam_t + s.sigmas[-1] ** 2)[..., None]
    if objective == "teacher":
        dist = norm * (values - composite(s, lam_t)[..., None]).abs()
        scale = (norm[..., 0] * composite(s, lam_t).abs())
    else:
        dist = (values * norm - torch.sqrt(lam_t)[..., None]).abs()
        scale = torch.sqrt(lam_t)
    best_d, best_i = dist.min(dim=-1)
    tol = TOLERANCE * scale
    boot_ok = dist[..., boot_i] <= best_d + tol
    one_ok = dist[..., one_i] <= best_d + tol
    code = torch.full(best_d.shape, MIXED, dtype=torch.long)
    code[boot_ok & ~one_ok] = BOOT
    code[one_ok & ~boot_ok] = ONE_SHOT
    code[boot_ok & one_ok] = TIE
    return VariantPhases(trees, code, best_i, dist, boot_i, one_i)


def check_latent_invariance(schedule, lam, ctau) -> float:
    """Largest relative difference between the x0 / standardized-input model run in the VP and VE latents.

    An independent computation in the VE coordinates ``x_t = z_t / alpha_t``: teacher steps
    ``rho_t = r_t alpha_t / alpha_{t-1}``, students that predict ``x_0`` from the standardized
    input and jump by the VE form of DDIM, ``x_s = x0 + (sigma_s / alpha_s)(x_t - x0) / (sigma_t / alpha_t)``;
    the final multiplier is mapped back to ``z`` (times ``1 / alpha_N``) and compared with
    :func:`tree_values` for ``StudentModel(target="x0", inputs="standardized")`` over every tree.
    """
    s = _check(schedule, StudentModel(latent="ve"))
    n = as_int(s.num_steps, "num_steps", minimum=1, maximum=MAX_ENUMERATION_STEPS)
    lam = as_tensor(lam, "lam", positive=True)
    ctau = as_tensor(ctau, "ctau", nonnegative=True)
    lam, ctau = broadcast(lam=lam, ctau=ctau)
    trees = all_trees(n)
    reference = tree_values(trees, s, lam, ctau, StudentModel(target="x0", inputs="standardized"))
    al, sg = s.alphas, s.sigmas
    ve_sigma = sg / al
    rho = _multipliers(s, lam) * al[1:] / al[:-1]
    w = torch.exp(-ctau)
    memo: dict[int, torch.Tensor] = {}
    out = []

    def jump(x0_coef, lo, hi):
        # x_s = x0 + (ve_sigma_s / ve_sigma_t)(x_t - x0), x0 = x0_coef * x_t: multiplier on x_t
        return x0_coef + (ve_sigma[lo] / ve_sigma[hi]) * (1 - x0_coef)

    for tree in trees:
        for node in tree.postorder():
            if id(node) in memo:
                continue
            if node.is_leaf:
                memo[id(node)] = rho[..., node.step - 1]
                continue
            kids = [memo[id(c)] for c in node.children]
            a, rest = kids[0], kids[1]
            for k in kids[2:]:
                rest = rest * k
            lo, mid, hi = node.lo, node.children[0].lo, node.hi
            # the first child's x0 prediction (as a multiplier on x_t), read off its operator a
            x0_coef = (a - ve_sigma[mid] / ve_sigma[hi]) / (1 - ve_sigma[mid] / ve_sigma[hi])
            memo[id(node)] = w * jump(x0_coef, lo, hi) + (1 - w) * a * rest
        out.append(memo[id(tree)])
    ve_values = torch.stack(out, dim=-1) / al[-1]
    return float(((ve_values - reference) / reference).abs().max())


def budget_for_root_weight(schedule, model: StudentModel, weight: float, lam: float = 1.0) -> float:
    """The budget ``ctau`` at which the one-shot root student (block ``(0, N]``) keeps ``weight`` on its start, at ``lam``.

    Budgets are not comparable across models (the loss's curvature differs: in the VE
    latent it is ``||v_N||^2 / alpha_N^2``, thousands of times the VP one for the linear
    schedule), so the chapter compares models at equal root weight ``w_N``.
    """
    s = _check(schedule, model)
    from ._checks import as_float
    wt = as_float(weight, "weight")
    if not 0 < wt < 1:
        raise ValueError(f"weight must lie in (0, 1), got {wt!r}")
    lam_t = as_tensor(lam, "lam", positive=True, device=s.alphas.device).reshape(())
    norm2 = float(_norms(s, lam_t)[-1] ** 2)
    if model.inputs == "standardized":
        curvature = 1.0
    elif model.latent == "ve":
        curvature = norm2 / float(s.alphas[-1]) ** 2
    else:
        curvature = norm2
    if model.loss == "output":  # the one-shot root (block (0, N]) has curvature B(0, N)^2 times more
        curvature *= _slope(model, s, 0, s.num_steps) ** 2
    return -math.log(wt) / curvature


def tree_budget_values(tree, schedule, lam, ctau, init: str = "warm") -> torch.Tensor:
    """R22: a tree's value when one total budget ``ctau`` is split equally among its students.

    Equals :func:`~lineardistill.trees.merge_value` at ``ctau / k``, ``k`` = :func:`internal_nodes`.
    """
    s = as_schedule(schedule)
    if isinstance(tree, str):
        tree = MergeTree.parse(tree, s.num_steps)
    k = max(internal_nodes(tree), 1)
    ctau = as_tensor(ctau, "ctau", nonnegative=True, device=s.alphas.device)
    return merge_value(tree, s, lam, ctau / k, init)


__all__ = ["BUDGETS", "INPUTS", "LATENTS", "LOSSES", "OBJECTIVES", "TARGETS", "StudentModel", "VariantPhases", "budget_for_root_weight",
           "check_latent_invariance", "internal_nodes", "tree_budget_values", "tree_values", "variant_phases",
           "w2_distance"]
