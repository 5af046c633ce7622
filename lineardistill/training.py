"""Real training of diagonal students in torch (theory R8).

Chapter 4 of the book (*Students and finite training*) explains this module
and shows trained students landing on the closed form of
:mod:`lineardistill.student`; the distillation setting is the one of Gao and Li
(2025, arXiv:2505.16024).

A student for the block from time ``t`` down to ``s`` is one trainable number
per coordinate, ``S``. Training draws latents ``z_t = ||v_t|| eps`` with an
explicit ``torch.Generator``, pushes them through the block's children (teacher
steps at the leaves, already-trained students above them) to get the targets
``C_m ... C_1 z_t``, and minimises the Monte Carlo loss
``1/2 mean (S z_t - C_m ... C_1 z_t)^2`` by autograd.

**How a run maps onto the closed form R6.** Plain gradient descent with learning
rate ``eta`` for ``steps`` steps is the Euler discretisation of the gradient flow
of R6 with ``ctau = eta * steps``; so we fix the budget ``ctau`` and the number of
steps, and use ``eta = ctau / steps`` (one learning rate per variance/budget
entry). With the exact gradient ``||v_t||^2 (S - C)`` one step multiplies
``S - C`` by ``1 - eta ||v_t||^2``, so the weight kept on the start is

    w_GD = (1 - eta ||v_t||^2)^steps   (see :func:`gd_weights`)

instead of ``w = exp(-ctau ||v_t||^2)``. The step-size error is
``log w_GD - log w = -steps (eta^2 ||v_t||^4 / 2 + ...)``, i.e. relative error
about ``ctau * eta * ||v_t||^4 / 2``, and vanishes as ``steps`` grows.

Two sampling modes:

- ``resample=True`` (default, online training): a fresh batch of ``batch_size``
  latents per step. The factor of step ``j`` is ``1 - eta q_j`` with
  ``q_j = mean(z^2)`` over the batch; the ``q_j`` are independent with mean
  ``||v_t||^2``, so ``E[w] = w_GD`` exactly and the relative spread of ``w`` is
  about ``ctau ||v_t||^2 sqrt(2 / (batch_size * steps))``.
- ``resample=False`` (fixed sample): one batch drawn once per student and reused.
  Then ``w = (1 - eta q)^steps`` exactly, with ``q`` that sample's ``mean(z^2)``:
  the closed form with ``||v_t||^2`` replaced by its empirical value.

``optimizer="adam"`` replaces the update by Adam (per-entry learning rate
``eta``): its steps have size about ``eta`` whatever the gradient, so the
student no longer follows the convex combination of R6; the book uses it to
show where the closed form stops holding.

Randomness: every draw comes from a ``torch.Generator`` seeded with ``seed``,
one standard normal per sample and student, shared by all coordinates and
budgets, so that an entry's result does not depend on what is batched with it.
By default the draws are made on the CPU and moved, so that a seed gives the
same numbers on the CPU and on CUDA; ``rng_device="device"`` draws on the
compute device instead (much faster for large GPU batches, different numbers).
``device`` is validated: a CUDA device asked for where CUDA is not available
is refused with a ValueError that says so.

>>> import torch
>>> from lineardistill import Schedule, gd_weights, training_weights
>>> sch = Schedule.cosine(4)
>>> w_gd = gd_weights(sch, 1.0, 1.0, steps=10**6)
>>> bool(torch.allclose(w_gd, training_weights(sch, 1.0, 1.0), rtol=1e-5))   # GD -> gradient flow
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ._checks import DTYPE, _show, as_bool, as_device, as_float, as_int, as_tensor, broadcast, one_of
from .problem import INITS, MergeProblem  # noqa: F401  (INITS re-exported: training.INITS)
from .trees import as_tree

OPTIMIZERS = ("gd", "adam")
"""Update rules :func:`train_tree` offers: plain gradient descent (R8) or Adam."""

MAX_CHUNK_ELEMENTS = 1 << 24
"""Latents drawn at once (per chunk of the batch); larger batches are accumulated in chunks."""

MAX_TRAINING_WORK = 10**11
"""Largest number of latent updates (steps x batch size x students x entries) a run may take before it refuses.

At roughly 10^8 updates per second on a CPU core this is about a quarter of an
hour; raise ``lineardistill.training.MAX_TRAINING_WORK`` to train longer.
"""


def _check_work(steps, batch_size, students, entries, dev):
    work = steps * batch_size * students * max(1, entries)
    if work > MAX_TRAINING_WORK:
        raise ValueError(f"steps = {steps:,} x batch_size = {batch_size:,} x {students} student(s) x {entries:,} "
                         f"variance/budget entries is {work:.3g} latent updates, more than MAX_TRAINING_WORK = "
                         f"{MAX_TRAINING_WORK:.0e} (about {work / 1e8 / 60:,.0f} min at 1e8 per second on {dev.type}); "
                         "use fewer steps or a smaller batch, or raise lineardistill.training.MAX_TRAINING_WORK")


@dataclass
class TrainingResult:
    """What :func:`train_tree` and :func:`train_block` return.

    Attributes
    ----------
    value:
        The trained root student's multiplier, shape ``broadcast(lam, ctau)`` (on the CPU).
    node_values:
        Every trained student's multiplier, keyed by its block ``(hi, lo)``.
    loss_curves:
        For each block ``(hi, lo)``, the Monte Carlo loss recorded every
        ``record_every`` steps, shape ``(records,) + broadcast(lam, ctau)``.
    recorded_steps:
        The step numbers at which the losses were recorded (0 = before training).
    device:
        The device the training ran on.
    """

    value: torch.Tensor
    node_values: dict = field(default_factory=dict)
    loss_curves: dict = field(default_factory=dict)
    recorded_steps: torch.Tensor | None = None
    device: torch.device | None = None


def gd_weights(schedule, lam=None, ctau=None, steps: int = 1) -> torch.Tensor:
    """R8: the weight plain GD with exact gradients keeps on the start, ``(1 - eta ||v_t||^2)^steps``.

    ``eta = ctau / steps``; shape ``broadcast(lam, ctau) + (N+1,)``, to compare
    with :func:`lineardistill.student.training_weights` (its ``steps -> inf``
    limit). Computed as ``exp(steps * log1p(-eta ||v_t||^2))``, so that huge
    ``steps`` (``10**17``) give ``exp(-ctau ||v_t||^2)`` and not ``1.0``. Where
    ``eta ||v_t||^2 > 1`` GD overshoots and the weight changes sign each step;
    where it is ``> 2`` GD diverges, and a weight too large for float64 raises
    a ValueError that says how many steps are needed.

    >>> from lineardistill import Schedule
    >>> round(float(gd_weights(Schedule.cosine(2), 1.0, 1.0, steps=10**17)[-1]), 4)   # exp(-1)
    0.3679
    """
    problem = MergeProblem.of(schedule, lam, ctau)
    n = as_int(steps, "steps", minimum=1)
    nf = float(n)                                                 # 10**30 steps: a float, not an int64
    x = (problem.ctau / nf)[..., None] * problem.norms**2         # eta ||v_t||^2
    with torch.no_grad():
        magnitude = torch.exp(nf * torch.log1p(-x.clamp(max=1.0)))  # the usual case, x <= 1
        over = x > 1
        if bool(over.any()):
            odd = n % 2 == 1
            grown = torch.exp(nf * torch.log(x[over] - 1))         # |1 - x|^n
            if not bool(torch.isfinite(grown).all()):
                raise ValueError(f"steps = {n} is too few for ctau up to {float(problem.ctau.max()):.4g}: "
                                 f"eta * ||v_t||^2 reaches {float(x.max()):.3g} > 2, so gradient descent diverges "
                                 f"and (1 - eta ||v||^2)^steps overflows; use steps >= "
                                 f"{float(x.max()) * n:.3g} (eta ||v_t||^2 <= 1)")
            magnitude[over] = -grown if odd else grown
    return magnitude


def _check_step_size(problem, steps, hi_times):
    norms2 = problem.norms**2
    worst = float(((problem.ctau / steps)[..., None] * norms2[..., hi_times]).max()) if len(hi_times) else 0.0
    if worst >= 1:
        need = math.ceil(worst * steps) + 1
        raise ValueError(f"steps = {steps} is too few for ctau up to {float(problem.ctau.max()):.4g}: the largest "
                         f"eta * ||v_t||^2 is {worst:.3g} >= 1, so gradient descent would overshoot; "
                         f"use steps >= {need} (ideally 10x more, the step-size error is ~ ctau*eta*||v||^4/2)")


def _draw(generator, shape, rng_device, device):
    eps = torch.randn(shape, generator=generator, dtype=DTYPE, device=rng_device)
    return eps.to(device)


def _train_students(start, ops, scale, eta, *, steps, batch_size, optimizer, resample, generator, gen_device,
                    dev, records, betas, bar):
    """The training loop shared by :func:`train_tree` and :func:`train_block`.

    ``start`` and ``scale`` have shape ``(K,) + shape`` (K students, each batched
    over ``shape``); ``ops`` has shape ``(width, K) + shape``: the operators each
    student's block applies, the first acting first (identity-padded); ``eta``
    has shape ``shape``. Returns the learned multipliers and the recorded losses.
    """
    k_shape = tuple(start.shape)
    numel = max(1, start.numel())
    chunk = max(1, min(batch_size, MAX_CHUNK_ELEMENTS // numel))
    sizes = [min(chunk, batch_size - i) for i in range(0, batch_size, chunk)]
    b1, b2 = betas
    student = start.clone().requires_grad_(True)
    adam_m = torch.zeros_like(start)
    adam_v = torch.zeros_like(start)
    curve = torch.empty((len(records),) + k_shape, dtype=DTYPE)
    # One draw per sample and student, shared by every coordinate and budget of the batch
    # (common random numbers): an entry's numbers then depend on the seed alone, not on
    # which other variances are trained beside it. The scalar problems are independent,
    # so sharing noise across them leaves each one's statistics unchanged.
    spread = (slice(None), slice(None)) + (None,) * (len(k_shape) - 1)

    def draw_batch():
        eps = _draw(generator, (batch_size, k_shape[0]), gen_device, dev)
        offsets = [sum(sizes[:i]) for i in range(len(sizes))]
        return [eps[o:o + n][spread] for o, n in zip(offsets, sizes)]

    fixed = draw_batch() if not resample else None
    rec = 0
    for step in range(steps + 1):
        student.grad = None
        loss_sum = torch.zeros(k_shape, dtype=DTYPE, device=dev)
        pieces = fixed if fixed is not None else draw_batch()
        for eps in pieces:
            z = scale * eps                                  # z_t ~ N(0, ||v_t||^2), per student
            target = z
            for op in ops:                                   # C_m ... C_1 z_t, C_1 acting first
                target = op * target
            piece = (0.5 * (student * z - target) ** 2).sum(dim=0)
            if step < steps:
                (piece.sum() / batch_size).backward()        # sum of independent losses: own gradient each
            loss_sum += piece.detach()
        if rec < len(records) and records[rec] == step:
            curve[rec] = (loss_sum / batch_size).cpu()
            rec += 1
        if step == steps:
            break
        with torch.no_grad():
            grad = student.grad
            if optimizer == "gd":
                student -= eta * grad
            else:
                adam_m.mul_(b1).add_((1 - b1) * grad)
                adam_v.mul_(b2).add_((1 - b2) * grad**2)
                m_hat = adam_m / (1 - b1 ** (step + 1))
                v_hat = adam_v / (1 - b2 ** (step + 1))
                student -= eta * m_hat / (v_hat.sqrt() + 1e-12)
        if bar is not None:
            bar.update(1)
    return student.detach(), curve


def _setup(steps, batch_size, optimizer, resample, seed, device, rng_device, record_every, progress, betas):
    steps = as_int(steps, "steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    optimizer = one_of(optimizer, "optimizer", OPTIMIZERS)
    seed = as_int(seed, "seed", minimum=0, maximum=2**64 - 1)
    resample = as_bool(resample, "resample")
    progress = as_bool(progress, "progress")
    record_every = max(1, steps // 100) if record_every is None else as_int(record_every, "record_every", minimum=1)
    rng_device = one_of(rng_device, "rng_device", ("cpu", "device"))
    dev = as_device(device, "device")
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair of floats, got {_show(betas)}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
    gen_device = torch.device("cpu") if rng_device == "cpu" else dev
    generator = torch.Generator(device=gen_device).manual_seed(seed)
    records = list(range(0, steps + 1, record_every))
    if records[-1] != steps:
        records.append(steps)
    return {"steps": steps, "batch_size": batch_size, "optimizer": optimizer, "resample": resample,
            "generator": generator, "gen_device": gen_device, "dev": dev, "records": records, "betas": (b1, b2)}


def train_tree(tree, schedule, lam=None, ctau=None, init: str = "warm", *, steps: int = 200, batch_size: int = 256,
               optimizer: str = "gd", resample: bool = True, seed: int = 0, device=None,
               rng_device: str = "cpu", record_every: int | None = None, progress: bool = True,
               betas=(0.9, 0.999)) -> TrainingResult:
    """R8: train every merge of ``tree`` in torch, bottom-up, and return the learned multipliers.

    Each node is one student trained for ``steps`` steps with learning rate
    ``eta = ctau / steps`` on ``batch_size`` latents per step (see the module
    docstring for the mapping to R6). Its children are the teacher steps
    (leaves) or the already-trained students, so training errors propagate up
    the tree as they would in practice. All nodes of one height are trained
    together in one tensor, batched over coordinates, variances and budgets
    (``lam`` and ``ctau`` broadcast). Runs on ``device`` (default: CUDA when
    present, else CPU); progress is shown with ``tqdm.auto``.

    ``schedule`` is a schedule given with ``lam``, ``ctau`` and ``init``, or a
    :class:`~lineardistill.problem.MergeProblem`. ``device`` is ``None``, a
    string or a ``torch.device``; asking for CUDA where it is not available
    raises a ValueError.

    Returns a :class:`TrainingResult`; ``result.value`` is to be compared with
    :func:`lineardistill.trees.merge_value` for the same arguments.
    """
    problem = MergeProblem.of(schedule, lam, ctau, init)
    tree = as_tree(tree, problem.num_steps)
    cfg = _setup(steps, batch_size, optimizer, resample, seed, device, rng_device, record_every, progress, betas)
    dev, steps = cfg["dev"], cfg["steps"]
    shape = torch.Size(problem.shape)
    levels = tree.levels()
    _check_work(steps, cfg["batch_size"], tree.num_merges, shape.numel(), dev)
    _check_step_size(problem, steps, sorted({node.hi for level in levels for node in level}))

    r, norms = problem.r, problem.norms
    eta = (problem.ctau / steps).to(dev)
    values = {(t, t - 1): r[..., t - 1].to(dev) for t in tree.leaves()}
    curves = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps * len(levels), leave=False,
                   desc=f"training {tree.num_merges} student(s) on {dev.type}")
    try:
        for level in levels:
            starts, scales, kids = [], [], []
            for node in level:
                first = values[node.children[0].hi, node.children[0].lo]
                starts.append(problem.start(node.lo, node.hi, first.cpu()).expand(shape))
                scales.append(norms[..., node.hi])
                kids.append([values[c.hi, c.lo] for c in node.children])
            width = max(len(c) for c in kids)
            ones = torch.ones(shape, dtype=DTYPE, device=dev)
            ops = torch.stack([torch.stack([c[j] if j < len(c) else ones for c in kids]) for j in range(width)])
            learned, curve = _train_students(torch.stack(starts).to(dev), ops, torch.stack(scales).to(dev), eta,
                                             bar=bar, **cfg)
            for i, node in enumerate(level):
                values[node.hi, node.lo] = learned[i]
                curves[node.hi, node.lo] = curve[:, i]
    finally:
        if bar is not None:
            bar.close()
    node_values = {key: v.cpu() for key, v in values.items() if key[0] - key[1] > 1}
    return TrainingResult(value=values[tree.hi, tree.lo].cpu(), node_values=node_values, loss_curves=curves,
                          recorded_steps=torch.tensor(cfg["records"]), device=dev)


def train_block(child_values, schedule, lam=None, ctau=None, s: int | None = None, t: int | None = None,
                init: str = "warm", *, steps: int = 200,
                batch_size: int = 256, optimizer: str = "gd", resample: bool = True, seed: int = 0, device=None,
                rng_device: str = "cpu", record_every: int | None = None, progress: bool = False,
                betas=(0.9, 0.999)) -> TrainingResult:
    """R8 for one block: the trained counterpart of :func:`lineardistill.student.merge_block`.

    ``child_values`` are the multipliers ``m(C_1), ..., m(C_m)`` (``C_1`` acting
    first, on ``z_t``) of any operators that together carry ``z_t`` to ``z_s``.
    Shapes broadcast with ``lam`` and ``ctau``. Returns a :class:`TrainingResult`
    whose ``value`` estimates ``merge_block(child_values, schedule, lam, ctau, s, t, init)``.
    """
    problem = MergeProblem.of(schedule, lam, ctau, init)
    t = as_int(t, "t", minimum=1, maximum=problem.num_steps)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    if isinstance(child_values, (str, bytes)) or not hasattr(child_values, "__len__") or len(child_values) < 1:
        raise ValueError(f"child_values must be a non-empty sequence of multipliers, got {_show(child_values)}")
    cfg = _setup(steps, batch_size, optimizer, resample, seed, device, rng_device, record_every, progress, betas)
    dev, steps = cfg["dev"], cfg["steps"]
    kids = [as_tensor(c, f"child_values[{i}]", device=problem.device) for i, c in enumerate(child_values)]
    lam_t, ctau_t, *kids = broadcast(lam=problem.lam, ctau=problem.ctau,
                                     **{f"child_values[{i}]": c for i, c in enumerate(kids)})
    _check_work(steps, cfg["batch_size"], 1, lam_t.numel(), dev)
    _check_step_size(problem, steps, [t])
    start = problem.start(s, t, kids[0])
    start = broadcast(start=start, lam=lam_t)[0]
    scale = broadcast(scale=problem.norms[..., t], lam=lam_t)[0]
    ops = torch.stack(kids)[:, None].to(dev)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=steps, leave=False, desc=f"training one student on {dev.type}")
    try:
        learned, curve = _train_students(start[None].to(dev), ops, scale[None].to(dev), (ctau_t / steps).to(dev),
                                         bar=bar, **cfg)
    finally:
        if bar is not None:
            bar.close()
    value = learned[0].cpu()
    return TrainingResult(value=value, node_values={(t, s): value}, loss_curves={(t, s): curve[:, 0]},
                          recorded_steps=torch.tensor(cfg["records"]), device=dev)


def training_tolerance(tree, schedule, lam=None, ctau=None, *, steps: int, batch_size: int, init: str = "warm",
                       num_sigmas: float = 5.0) -> torch.Tensor:
    """R8: a relative error bound for :func:`train_tree` (fresh batches, plain GD) against R6/R7.

    At each node the weight kept on the start is off by at most
    ``num_sigmas`` Monte Carlo standard deviations, ``w ctau q sqrt(2 / (B n))``,
    plus the step-size bias ``w ctau eta q^2 / 2`` (``q = ||v_t||^2``, ``eta =
    ctau / n``); that moves the node's value by ``|dw| |S_0 - C|``. A merge is
    multilinear in its children with elasticities at most 1 (for positive
    values), so to first order the relative errors of the nodes add up the
    tree: the bound is the sum over nodes of ``|dw| |S_0 - C| / m_node``.

    Parameters
    ----------
    tree : MergeTree or str
    schedule : Schedule or MergeProblem
        A schedule given with ``lam``, ``ctau`` (and ``init``), or a problem.
    steps, batch_size : int
        The run's number of GD steps and latents per step.
    num_sigmas : float, default 5.0
        Width of the Monte Carlo band, finite and ``>= 0``.

    Returns
    -------
    torch.Tensor
        Shape ``broadcast(lam, ctau)``. A node whose value is exactly 0 and does
        not move (``|S_0 - C| dw = 0``) adds 0; one whose value is 0 but moves has
        no relative error, and the call raises a ValueError.
    """
    problem = MergeProblem.of(schedule, lam, ctau, init)
    tree = as_tree(tree, problem.num_steps)
    n = as_int(steps, "steps", minimum=1)
    b = as_int(batch_size, "batch_size", minimum=1)
    sigmas = as_float(num_sigmas, "num_sigmas", nonnegative=True)
    ctau_t = problem.ctau[..., None]
    q = problem.norms**2
    spread = problem.w * ctau_t * q * (sigmas * math.sqrt(2 / (b * n)) + (ctau_t / n) * q / 2)
    r = problem.r
    values, total = {}, torch.zeros(problem.shape, dtype=DTYPE, device=problem.device)
    for sub in tree.postorder():
        if sub.is_leaf:
            values[sub.hi, sub.lo] = r[..., sub.step - 1]
            continue
        kids = [values[c.hi, c.lo] for c in sub.children]
        rest = torch.ones_like(kids[0])
        for k in kids[1:]:
            rest = rest * k
        start = problem.start(sub.lo, sub.hi, kids[0])
        value = problem.merge(kids[0], rest, sub.lo, sub.hi)
        values[sub.hi, sub.lo] = value
        moved = spread[..., sub.hi] * (start - kids[0] * rest).abs()
        if bool(((value == 0) & (moved > 0)).any()):
            raise ValueError(f"the node {sub} has the value 0 where training moves it, so it has no relative "
                             "error; compare absolute errors instead")
        total = total + torch.where(moved == 0, torch.zeros_like(moved), moved / value.abs())
    return total
