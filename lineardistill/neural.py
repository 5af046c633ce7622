"""Neural denoisers distilled by the book's strategies (theory R23; chapter *The theory against trained networks*).

A small MLP denoiser with a time embedding is trained with the standard
diffusion objective on (a) a 2-D Gaussian mixture and (b) the 8x8 digits (in
the standardized PCA coordinates of :mod:`lineardistill.samples`). Its
deterministic DDIM sampler with ``N`` steps on an explicit
:class:`~lineardistill.Schedule` is the teacher. One-step students are
distilled along merge trees (BOOT chain, one-shot, progressive halving and the
shared tree that the Pareto DP of R13 picks for the data's covariance
spectrum), each student starting from the weights of the operator that already
acts at its top time (the warm start of R7; for a leaf, the teacher's weights).

Parametrisation (one place): the denoiser predicts ``x0_hat = alpha z +
sigma F(z, t)`` (VP with data variance about 1; ``F`` is trained on the
v-prediction target ``sigma x0 - alpha eps``, i.e. the x0 loss with EDM
weighting). An operator whose top time is ``t`` maps ``z_t`` to
``a_t x0_hat(z_t) + b_t z_t`` with the DDIM coefficients of the step
``t -> t-1``: ``a_t = alpha_{t-1} - sigma_{t-1} alpha_t / sigma_t``,
``b_t = sigma_{t-1} / sigma_t``. A teacher leaf is that step with the
teacher's weights; a student keeps the form of its first child and trains
the weights to reproduce its block's composite.

Measurements: the Frechet distance (``W2`` between Gaussian fits, not squared)
of each student's one-step samples to the data and to the teacher's samples,
and the per-PCA-direction variance ratio student / teacher against the linear
theory's ``(m_i / T_i)^2`` (R6/R7 via :func:`lineardistill.merge_value`) with a
budget ``ctau`` per gradient step fitted once, on the one-shot student.
"""

from __future__ import annotations

import copy
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch

from ._checks import DTYPE, _show, as_int, as_tensor, one_of
from .schedule import Schedule, as_schedule
from .teacher import composite
from .trees import MergeTree, merge_value

DATASETS = ("digits", "mixture2d")
"""Data sets :func:`load_dataset` offers."""

STRATEGY_NAMES = ("boot", "one-shot", "progressive", "theory")
"""The strategies of an experiment; ``theory`` is the shared tree of the Pareto DP (R13)."""

ACCOUNTINGS = ("total", "per-student")
"""Budget accountings (R22): one total number of gradient steps split over a tree's students,
or the same number of steps for every student."""


@dataclass(frozen=True)
class Setting:
    """Sizes of one experiment (see :data:`SETTINGS`)."""

    num_steps: int          # N, teacher steps
    hidden: int             # width of the MLP
    layers: int             # hidden layers
    teacher_steps: int      # gradient steps to train the denoiser
    teacher_lr: float
    distill_steps: int      # total gradient steps per strategy ("total" accounting)
    student_steps: int      # gradient steps per student ("per-student" accounting)
    distill_lr: float
    batch_size: int
    num_samples: int        # one-step samples drawn for the measurements


SETTINGS = {
    "tiny": Setting(num_steps=4, hidden=64, layers=2, teacher_steps=400, teacher_lr=2e-3, distill_steps=120,
                    student_steps=60, distill_lr=1e-4, batch_size=128, num_samples=1000),
    "cpu": Setting(num_steps=6, hidden=128, layers=3, teacher_steps=1000, teacher_lr=2e-3, distill_steps=300,
                   student_steps=100, distill_lr=1e-4, batch_size=256, num_samples=2000),
    "full": Setting(num_steps=8, hidden=128, layers=3, teacher_steps=3000, teacher_lr=2e-3, distill_steps=1200,
                    student_steps=300, distill_lr=1e-4, batch_size=256, num_samples=5000),
}
"""``tiny`` (tests, under a minute), ``cpu`` (what the chapter runs live), ``full`` (stored; CUDA when present)."""


# --------------------------------------------------------------------- checks
def resolve_device(device=None) -> torch.device:
    """``None`` or ``"auto"``: CUDA when present, else the CPU; ``"cpu"``, ``"cuda"``, ``"cuda:K"`` as asked.

    Asking for CUDA on a machine without it raises ``ValueError``.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:K', got {device!r}") from None
    else:
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', or a torch.device, got {_show(device)}")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:K', got {device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asks for CUDA, but no CUDA GPU is available here; use 'cpu' or 'auto'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    return dev


def _generator(generator):
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (seeded), got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError("generator must be a CPU generator: draws are made on the CPU, then moved")
    return generator


def _setting(setting) -> Setting:
    if isinstance(setting, Setting):
        return setting
    return SETTINGS[one_of(setting, "setting", tuple(SETTINGS))]


# ----------------------------------------------------------------------- data
def example_mixture_2d():
    """The 2-D mixture of the trained-networks chapter: four tight blobs on a tilted line (weights equal, variance 0.05 each).

    Its covariance has one eigenvalue above ``lambda_c`` (about 2.3) and one below 1 (about 0.25).
    """
    from .mixture import GaussianMixture

    means = [[-2.0, -0.5], [-0.7, 0.5], [0.7, -0.5], [2.0, 0.5]]
    return GaussianMixture([0.25] * 4, means, [[0.05, 0.05]] * 4)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training data in PCA coordinates (centered; coordinate ``i`` has sample variance ``lam[i]``, decreasing)."""

    name: str
    coords: torch.Tensor    # (n, d)
    lam: torch.Tensor       # (d,)
    basis: torch.Tensor     # (d_raw, d): raw = mean + basis @ coords (before any pixel rescaling)
    mean: torch.Tensor      # (d_raw,)

    @property
    def dim(self) -> int:
        """d, the number of coordinates."""
        return self.lam.numel()


def load_dataset(name: str, seed: int = 0, num_points: int = 4000) -> Dataset:
    """The data set ``name`` (one of :data:`DATASETS`) in its PCA coordinates; nothing is downloaded.

    ``digits``: the 1797 bundled digits in the coordinates of :func:`lineardistill.samples.digits_model`
    (``seed``, ``num_points`` unused). ``mixture2d``: ``num_points`` draws from :func:`example_mixture_2d`
    with a generator seeded by ``seed``, centered and rotated to its sample PCA basis.
    """
    which = one_of(name, "name", DATASETS)
    s = as_int(seed, "seed", minimum=0)
    count = as_int(num_points, "num_points", minimum=10)
    if which == "digits":
        from .samples import digits_model

        model = digits_model()
        return Dataset("digits", model.coords.clone(), model.lam.clone(), model.basis, torch.zeros(model.dim,
                                                                                                     dtype=DTYPE))
    from .mixture import sample_mixture

    x = sample_mixture(example_mixture_2d(), count, torch.Generator().manual_seed(s))
    mean = x.mean(dim=0)
    x = x - mean
    values, vectors = torch.linalg.eigh(x.T @ x / (count - 1))
    order = torch.argsort(values, descending=True)
    values, vectors = values[order], vectors[:, order]
    vectors = vectors * torch.sign(vectors[vectors.abs().argmax(dim=0), torch.arange(vectors.shape[1])])
    coords = x @ vectors
    return Dataset("mixture2d", coords, coords.var(dim=0), vectors, mean)


# -------------------------------------------------------------------- network
class Denoiser(torch.nn.Module):
    """MLP denoiser ``x0_hat(z, t) = alpha z + sigma F([z, emb(u)])`` with a sinusoidal time embedding.

    ``u = (2 / pi) atan2(sigma, alpha)`` in ``[0, 1]`` is the time of any VP
    schedule (``u = t / N`` on :meth:`Schedule.cosine`). Weights are drawn from
    ``generator`` so that a seed fixes the network.
    """

    def __init__(self, dim: int, hidden: int, layers: int, generator: torch.Generator, frequencies: int = 8):
        super().__init__()
        d = as_int(dim, "dim", minimum=1)
        h = as_int(hidden, "hidden", minimum=1)
        k = as_int(layers, "layers", minimum=1)
        self.frequencies = as_int(frequencies, "frequencies", minimum=1)
        gen = _generator(generator)
        sizes = [d + 2 * self.frequencies] + [h] * k + [d]
        self.linears = torch.nn.ModuleList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layer = torch.nn.Linear(fan_in, fan_out, dtype=DTYPE)
            bound = 1 / math.sqrt(fan_in)
            with torch.no_grad():
                layer.weight.copy_((torch.rand(fan_out, fan_in, generator=gen, dtype=DTYPE) * 2 - 1) * bound)
                layer.bias.copy_((torch.rand(fan_out, generator=gen, dtype=DTYPE) * 2 - 1) * bound)
            self.linears.append(layer)

    def features(self, z, u):
        k = torch.arange(1, self.frequencies + 1, dtype=z.dtype, device=z.device) * math.pi
        u = u.reshape(-1, 1).expand(z.shape[0], 1)
        return torch.cat([z, torch.sin(k * u), torch.cos(k * u)], dim=1)

    def forward(self, z, alpha, sigma):
        """``x0_hat`` for a batch ``z`` (n, d) at signal scale ``alpha`` and noise scale ``sigma`` (numbers or (n,))."""
        alpha = torch.as_tensor(alpha, dtype=z.dtype, device=z.device).reshape(-1, 1)
        sigma = torch.as_tensor(sigma, dtype=z.dtype, device=z.device).reshape(-1, 1)
        h = self.features(z, torch.atan2(sigma, alpha) * (2 / math.pi))
        for layer in self.linears[:-1]:
            h = torch.nn.functional.silu(layer(h))
        return alpha * z + sigma * self.linears[-1](h)


def _batches(data, steps, batch_size, generator):
    """Indices of the training batches, drawn up front on the CPU from ``generator``."""
    return torch.randint(0, data.shape[0], (steps, batch_size), generator=generator)


def train_denoiser(dataset: Dataset, setting="cpu", seed: int = 0, device=None, progress: bool = False) -> Denoiser:
    """Train the teacher's denoiser on ``dataset`` (v-prediction loss, times ``u ~ U(0, 1)``, Adam).

    Every random draw comes from a CPU generator seeded by ``seed``.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}")
    cfg = _setting(setting)
    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    net = Denoiser(dataset.dim, cfg.hidden, cfg.layers, gen).to(dev)
    data = dataset.coords.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.teacher_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.teacher_steps)
    index = _batches(data, cfg.teacher_steps, cfg.batch_size, gen)
    times = torch.rand(cfg.teacher_steps, cfg.batch_size, generator=gen, dtype=DTYPE)
    noise = torch.randn(cfg.teacher_steps, cfg.batch_size, dataset.dim, generator=gen, dtype=DTYPE)
    from tqdm.auto import tqdm

    for step in tqdm(range(cfg.teacher_steps), desc=f"teacher on {dataset.name}", disable=not progress, leave=False):
        x0 = data[index[step].to(dev)]
        u = times[step].to(dev)[:, None]
        eps = noise[step].to(dev)
        alpha, sigma = torch.cos(u * math.pi / 2), torch.sin(u * math.pi / 2)
        z = alpha * x0 + sigma * eps
        target = sigma * x0 - alpha * eps      # v-prediction: F's target
        pred = (net(z, alpha, sigma) - alpha * z) / sigma.clamp_min(1e-12)
        loss = ((pred - target) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


# ----------------------------------------------------------------- operators
class Operator:
    """A network acting as one operator from its top time ``t``: ``z -> a_t x0_hat(z, t) + b_t z``."""

    def __init__(self, net: Denoiser, schedule: Schedule, t: int):
        sch = as_schedule(schedule)
        self.t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
        if not isinstance(net, Denoiser):
            raise TypeError(f"net must be a Denoiser, got {type(net).__name__}")
        self.net = net
        a, s = sch.alphas.tolist(), sch.sigmas.tolist()
        self.alpha, self.sigma = a[self.t], s[self.t]
        self.b = s[self.t - 1] / s[self.t]
        self.a = a[self.t - 1] - self.b * a[self.t]

    def __call__(self, z):
        return self.a * self.net(z, self.alpha, self.sigma) + self.b * z


def ddim_sample(net: Denoiser, schedule, z_N) -> torch.Tensor:
    """The teacher: run the deterministic DDIM sampler with the schedule's ``N`` explicit steps from ``z_N``."""
    if not isinstance(net, Denoiser):
        raise TypeError(f"net must be a Denoiser, got {type(net).__name__}")
    sch = as_schedule(schedule)
    z = as_tensor(z_N, "z_N").to(next(net.parameters()).device)
    if z.ndim != 2:
        raise ValueError(f"z_N must have shape (n, d), got {tuple(z.shape)}")
    with torch.no_grad():
        for t in range(sch.num_steps, 0, -1):
            z = Operator(net, sch, t)(z)
    return z


def allocate_steps(tree: MergeTree, accounting: str, setting="cpu") -> list:
    """Gradient steps per internal node of ``tree`` (children before parents).

    ``"total"``: ``setting.distill_steps`` split as evenly as possible (earlier nodes take the remainder);
    ``"per-student"``: ``setting.student_steps`` for every node.
    """
    if not isinstance(tree, MergeTree):
        raise TypeError(f"tree must be a MergeTree, got {type(tree).__name__}")
    how = one_of(accounting, "accounting", ACCOUNTINGS)
    cfg = _setting(setting)
    k = tree.num_merges
    if how == "per-student":
        return [cfg.student_steps] * k
    base, extra = divmod(cfg.distill_steps, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def distil(teacher: Denoiser, tree, schedule, dataset: Dataset, accounting: str = "total", setting="cpu",
           seed: int = 0, device=None, progress: bool = False) -> Operator:
    """Distil the ``N``-step teacher into one operator along ``tree`` (R9), students warm-started (R7).

    Each internal node, children first, copies the weights of its first child
    (for a teacher step: the teacher's) and is trained with Adam to map ``z_t``
    (forward process at its top time ``t``) onto the composite of its children,
    ``C_m ... C_1 z_t``, for the number of steps :func:`allocate_steps` gives it.
    """
    if not isinstance(teacher, Denoiser):
        raise TypeError(f"teacher must be a Denoiser, got {type(teacher).__name__}")
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset, got {type(dataset).__name__}")
    sch = as_schedule(schedule)
    if isinstance(tree, str):
        tree = MergeTree.parse(tree, sch.num_steps)
    if not isinstance(tree, MergeTree) or tree.lo != 0 or tree.hi != sch.num_steps:
        raise ValueError(f"tree must be a MergeTree over steps {sch.num_steps}..1, got {_show(tree)}")
    cfg = _setting(setting)
    dev = resolve_device(device)
    steps = allocate_steps(tree, accounting, cfg)
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    data = dataset.coords.to(dev)
    ops = {}
    nodes = tree.nodes()
    from tqdm.auto import tqdm

    bar = tqdm(total=sum(steps), desc=f"distilling {tree}"[:60], disable=not progress, leave=False)
    for node, count in zip(nodes, steps):
        kids = [ops.pop(id(c)) if not c.is_leaf else Operator(teacher, sch, c.step) for c in node.children]
        net = copy.deepcopy(kids[0].net)
        for p in net.parameters():
            p.requires_grad_(True)
        student = Operator(net, sch, node.hi)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.distill_lr)
        index = _batches(data, count, cfg.batch_size, gen)
        noise = torch.randn(count, cfg.batch_size, dataset.dim, generator=gen, dtype=DTYPE)
        for step in range(count):
            z = student.alpha * data[index[step].to(dev)] + student.sigma * noise[step].to(dev)
            with torch.no_grad():
                target = z
                for kid in kids:
                    target = kid(target)
            loss = 0.5 * ((student(z) - target) ** 2).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.update(1)
        for p in net.parameters():
            p.requires_grad_(False)
        ops[id(node)] = student
    bar.close()
    return ops[id(tree)]


# ------------------------------------------------------------------ measures
def frechet_distance(a, b) -> float:
    """``W2`` between the Gaussian fits (mean, covariance) of two samples ``(n, d)`` (not squared)."""
    x = as_tensor(a, "a")
    y = as_tensor(b, "b", device=x.device)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError(f"a and b must be (n, d) samples with the same d and n >= 2, got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    ca, cb = torch.atleast_2d(torch.cov(x.T)), torch.atleast_2d(torch.cov(y.T))
    va, ua = torch.linalg.eigh(ca)
    root = (ua * va.clamp_min(0).sqrt()) @ ua.T
    cross = torch.linalg.eigvalsh(root @ cb @ root).clamp_min(0).sqrt().sum()
    value = ((x.mean(0) - y.mean(0)) ** 2).sum() + torch.trace(ca) + torch.trace(cb) - 2 * cross
    return float(value.clamp_min(0).sqrt())


def theory_ratio(tree, schedule, lam, ctau) -> torch.Tensor:
    """The linear model's variance ratio student / teacher per direction, ``(m_i / T_i)^2`` (R6/R7, warm start)."""
    sch = as_schedule(schedule)
    lam_t = as_tensor(lam, "lam", positive=True)
    return (merge_value(tree, sch, lam_t, ctau) / composite(sch, lam_t)) ** 2


def fit_ctau(measured_ratio, tree, schedule, lam, grid=None) -> float:
    """The budget ``ctau`` whose :func:`theory_ratio` best fits ``measured_ratio`` (least squares in log).

    Searched over ``grid`` (default: 601 values log-spaced from 1e-3 to 1e3).
    """
    meas = as_tensor(measured_ratio, "measured_ratio", positive=True)
    lam_t = as_tensor(lam, "lam", positive=True)
    if meas.shape != lam_t.shape or meas.ndim != 1:
        raise ValueError(f"measured_ratio and lam must be 1-D of the same length, got {tuple(meas.shape)} and "
                         f"{tuple(lam_t.shape)}")
    ctaus = torch.logspace(-3, 3, 601, dtype=DTYPE) if grid is None else as_tensor(grid, "grid", positive=True)
    pred = theory_ratio(tree, schedule, lam_t[None, :], ctaus[:, None])
    err = ((pred.log() - meas.log()) ** 2).sum(dim=1)
    return float(ctaus[int(err.argmin())])


# ---------------------------------------------------------------- experiment
def _commit():
    """The git commit of the library's checkout, with ``+dirty`` when its sources have uncommitted changes."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=here).stdout.strip() or "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", here], capture_output=True, text=True,
                               timeout=10, cwd=here).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty and commit != "unknown" else "")


def _provenance(command, seconds, dev, commit):
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu ({platform.processor() or 'unknown'}, " \
                                                                         f"{os.cpu_count()} cores)"
    return {"command": command, "commit": commit, "device": name, "seconds": round(seconds, 1),
            "versions": {"python": platform.python_version(), "torch": torch.__version__},
            "threads": torch.get_num_threads()}


def _measure(samples, teacher_samples, data):
    ratio = samples.var(dim=0) / teacher_samples.var(dim=0)
    return {"fd_data": frechet_distance(samples, data), "fd_teacher": frechet_distance(samples, teacher_samples),
            "variance_ratio": ratio.tolist()}


def _preview(dataset, x, count):
    if dataset.name == "digits":
        from .samples import digits_model

        return [[round(v, 3) for v in img.reshape(-1).tolist()] for img in digits_model().to_pixels(x[:count])]
    return [[round(v, 4) for v in p] for p in x[:count].tolist()]


def run_experiment(data: str = "digits", setting="cpu", seed: int = 0, device=None, progress: bool = False,
                   accountings=ACCOUNTINGS, command: str | None = None, threads: int | None = 1) -> dict:
    """Train the teacher on ``data``, distil it by every strategy of :data:`STRATEGY_NAMES`, measure; a JSON-able dict.

    Returns ``{"data", "setting", "config", "lam", "lambda_c", "ctau_per_step", "teacher", "strategies",
    "per_student", "curve_lam", "preview", "provenance"}``: ``strategies`` (the ``"total"`` accounting) and
    ``per_student`` map each strategy to ``fd_data``, ``fd_teacher``, ``variance_ratio`` (per direction),
    ``predicted_ratio`` (linear theory), ``curve`` (theory on ``curve_lam``), ``tree``, ``merges``, ``steps``.

    ``threads`` sets torch's CPU threads for the run (restored afterwards; ``None`` leaves them): one thread is
    the default because small networks run several times slower with two threads on a shared 2-core machine.
    """
    if threads is None:
        return _run(data, setting, seed, device, progress, accountings, command)
    count = as_int(threads, "threads", minimum=1)
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        return _run(data, setting, seed, device, progress, accountings, command)
    finally:
        torch.set_num_threads(before)


def _run(data, setting, seed, device, progress, accountings, command):
    name = one_of(data, "data", DATASETS)
    setting_name = setting if isinstance(setting, str) else "custom"
    cfg = _setting(setting)
    s = as_int(seed, "seed", minimum=0)
    dev = resolve_device(device)
    if isinstance(accountings, str) or not set(accountings) <= set(ACCOUNTINGS) or "total" not in accountings:
        raise ValueError(f"accountings must be a list out of {ACCOUNTINGS} that holds 'total', got {_show(accountings)}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {_show(progress)}")
    start, cpu_start, commit = time.perf_counter(), time.process_time(), _commit()  # the code that runs
    from .dp import pareto_tree
    from .phase import lambda_c

    dataset = load_dataset(name, seed=s)
    sch = Schedule.cosine(cfg.num_steps)
    n = cfg.num_steps
    teacher = train_denoiser(dataset, cfg, seed=s, device=dev, progress=progress)
    gen = torch.Generator().manual_seed(s + 1)
    count = cfg.num_samples
    pick = torch.randint(0, dataset.coords.shape[0], (count,), generator=gen)
    z_N = float(sch.alphas[-1]) * dataset.coords[pick] + float(sch.sigmas[-1]) * torch.randn(
        count, dataset.dim, generator=gen, dtype=DTYPE)
    z_dev = z_N.to(dev)
    teacher_x = ddim_sample(teacher, sch, z_dev).cpu()
    data_x = dataset.coords
    lam = dataset.lam
    T = composite(sch, lam)
    result = {"data": name, "setting": setting_name, "config": asdict(cfg), "seed": s, "lam": lam.tolist(),
              "lambda_c": lambda_c(sch),
              "teacher": {"fd_data": frechet_distance(teacher_x, data_x),
                          "variance_ratio_data": (teacher_x.var(0) / data_x.var(0)).tolist(),
                          "predicted_ratio_data": (T**2 / lam).tolist()}}
    curve_lam = torch.logspace(math.log10(float(lam.min()) / 1.5), math.log10(float(lam.max()) * 1.5), 120,
                               dtype=DTYPE)
    result["curve_lam"] = curve_lam.tolist()
    trees = {"boot": MergeTree.boot(n), "one-shot": MergeTree.vanilla(n), "progressive": MergeTree.progressive(n)}
    outputs = {}
    # one-shot first: its single student (all distill_steps) calibrates the budget per gradient step
    one = distil(teacher, trees["one-shot"], sch, dataset, "total", cfg, seed=s, device=dev, progress=progress)
    with torch.no_grad():
        outputs[("total", "one-shot")] = one(z_dev).cpu()
    ratio_one = outputs[("total", "one-shot")].var(0) / teacher_x.var(0)
    ctau_one = fit_ctau(ratio_one.clamp_min(1e-12), trees["one-shot"], sch, lam)
    per_step = ctau_one / cfg.distill_steps
    result["ctau_per_step"] = per_step
    result["ctau_fit_one_shot"] = ctau_one
    trees["theory"] = pareto_tree(sch, lam, per_step * cfg.student_steps).tree
    for how in accountings:
        block = {}
        for key in STRATEGY_NAMES:
            tree = trees[key]
            steps = allocate_steps(tree, how, cfg)
            same = [k for (h, k) in outputs if h == how and str(trees[k]) == str(tree)]
            if same:        # the same tree, budget and seed give the same student: reuse it
                outputs[(how, key)] = outputs[(how, same[0])]
            else:
                op = distil(teacher, tree, sch, dataset, how, cfg, seed=s, device=dev, progress=progress)
                with torch.no_grad():
                    outputs[(how, key)] = op(z_dev).cpu()
            x = outputs[(how, key)]
            ctau_node = per_step * sum(steps) / len(steps)
            entry = _measure(x, teacher_x, data_x)
            entry.update({"tree": str(tree), "merges": tree.num_merges, "steps": steps,
                          "ctau_node": ctau_node,
                          "predicted_ratio": theory_ratio(tree, sch, lam, ctau_node).tolist(),
                          "curve": theory_ratio(tree, sch, curve_lam, ctau_node).tolist(),
                          "w2_theory_teacher": float(torch.sqrt(((merge_value(tree, sch, lam, ctau_node) - T) ** 2)
                                                                .sum()))})
            block[key] = entry
        result["strategies" if how == "total" else "per_student"] = block
    preview = 10 if name == "digits" else 600
    result["preview"] = {"data": _preview(dataset, data_x[torch.randperm(data_x.shape[0], generator=gen)], preview),
                         "teacher": _preview(dataset, teacher_x, preview)}
    for key in STRATEGY_NAMES:
        result["preview"][key] = _preview(dataset, outputs[("total", key)], preview)
    seconds = time.perf_counter() - start
    cmd = command or f"lineardistill.neural.run_experiment(data={name!r}, setting={setting_name!r}, seed={s})"
    result["provenance"] = _provenance(cmd, seconds, dev, commit)
    result["provenance"]["cpu_seconds"] = round(time.process_time() - cpu_start, 1)
    return result


def write_experiment(result: dict, out: str) -> list:
    """Write ``out/results.json`` and the figures ``out/samples.png``, ``out/directions.png``; return the paths."""
    if not isinstance(result, dict) or "strategies" not in result:
        raise TypeError("result must be the dict returned by run_experiment")
    if not isinstance(out, str) or not out:
        raise ValueError(f"out must be a folder path, got {_show(out)}")
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, "samples.png"), os.path.join(out, "directions.png")]
    result = dict(result, figures=[os.path.basename(p) for p in paths])
    path = os.path.join(out, "results.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
    for fn, p in zip((plot_samples, plot_directions), paths):
        fig = fn(result)
        fig.savefig(p, dpi=100)
        plt.close(fig)
    return [path] + paths


# ------------------------------------------------------------------- figures
TITLES = {"data": "data", "teacher": "N-step teacher", "boot": "BOOT", "one-shot": "one-shot",
          "progressive": "progressive", "theory": "DP tree"}


def _check_result(result):
    if not isinstance(result, dict) or "strategies" not in result or "preview" not in result:
        raise TypeError("result must be a dict from run_experiment (or its stored JSON)")
    return result


def plot_samples(result: dict, fig=None):
    """Samples of the data, the teacher and every strategy's one-step student (same noise), FD in the titles.

    Digits: one row of images each; the 2-D mixture: one scatter panel each.
    """
    import matplotlib.pyplot as plt

    res = _check_result(result)
    rows = ["data", "teacher"] + list(STRATEGY_NAMES)
    fd = {"teacher": res["teacher"]["fd_data"], **{k: v["fd_data"] for k, v in res["strategies"].items()}}
    fdt = {k: v["fd_teacher"] for k, v in res["strategies"].items()}
    if res["data"] == "digits":
        count = min(len(res["preview"]["data"]), 10)
        fig = fig or plt.figure(figsize=(count * 0.8 + 3.2, 0.9 * len(rows) + 0.5))
        axes = fig.subplots(len(rows), count, squeeze=False)
        for i, row in enumerate(rows):
            for j in range(count):
                img = torch.tensor(res["preview"][row][j]).reshape(8, 8).clamp(0, 16)
                axes[i, j].imshow(img.numpy(), cmap="gray_r", vmin=0, vmax=16)
                axes[i, j].set_xticks([]); axes[i, j].set_yticks([])
            axes[i, 0].set_ylabel(TITLES[row], rotation=0, ha="right", va="center", fontsize=9)
            if row in fd:
                text = f"FD data {fd[row]:.2f}" + (f"\nFD teacher {fdt[row]:.2f}" if row in fdt else "")
                axes[i, -1].text(1.1, 0.5, text, transform=axes[i, -1].transAxes, va="center", fontsize=8)
        fig.subplots_adjust(left=0.16, right=0.8, wspace=0.05, hspace=0.08)
    else:
        fig = fig or plt.figure(figsize=(12, 2.4))
        axes = fig.subplots(1, len(rows), squeeze=False)[0]
        for ax, row in zip(axes, rows):
            p = torch.tensor(res["preview"][row])
            ax.scatter(p[:, 0].numpy(), p[:, 1].numpy(), s=2, alpha=0.5)
            ax.set_xlim(-3.2, 3.2); ax.set_ylim(-1.6, 1.6)
            ax.set_title(TITLES[row] + (f"\nFD data {fd[row]:.2f}" if row in fd else "\n"), fontsize=9)
            ax.set_xticks([]); ax.set_yticks([])
        fig.subplots_adjust(top=0.78, wspace=0.08)
    fig.suptitle(f"{res['data']}, setting {res['setting']}: one-step samples from the same noise "
                 f"(teacher: N = {res['config']['num_steps']} DDIM steps)", fontsize=10)
    return fig


def plot_directions(result: dict, ax=None, accounting: str = "total"):
    """Measured variance ratio student / teacher per PCA direction against ``lam_i`` (markers), linear theory (lines)."""
    import matplotlib.pyplot as plt

    res = _check_result(result)
    how = one_of(accounting, "accounting", ACCOUNTINGS)
    block = res["strategies" if how == "total" else "per_student"]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    else:
        fig = ax.figure
    lam = res["lam"]
    colors = dict(zip(STRATEGY_NAMES, ("C0", "C1", "C2", "C3")))
    markers = dict(zip(STRATEGY_NAMES, ("o", "s", "^", "D")))
    for key in STRATEGY_NAMES:
        entry = block[key]
        ax.plot(res["curve_lam"], entry["curve"], color=colors[key], lw=1.3)
        hollow = key == "theory"      # the DP's tree is often one of the named ones: keep those visible
        ax.scatter(lam, entry["variance_ratio"], marker=markers[key], s=30 if hollow else 16, alpha=0.8,
                   facecolors="none" if hollow else colors[key], edgecolors=colors[key],
                   label=f"{TITLES[key]} {entry['tree'] if len(entry['tree']) < 26 else ''}")
    ax.axhline(1.0, color="k", lw=0.6)
    ax.axvline(1.0, color="gray", ls=":", lw=0.8)
    ax.axvline(res["lambda_c"], color="gray", ls="--", lw=0.8)
    ax.set_xscale("log"); ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter()); ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("variance lambda_i of the PCA direction")
    ax.set_ylabel("Var(student) / Var(teacher)")
    ax.set_title(f"{res['data']} ({res['setting']}, {how} budget): markers measured, lines linear theory "
                 f"(c tau per step {res['ctau_per_step']:.3g})", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return fig
