"""Beyond the linear regime: Gaussian-mixture data (theory R18, this book's own analysis).

Data ``x_0 ~ sum_k pi_k N(mu_k, Sigma_k)`` in ``R^d``. At time ``t`` the latent
``z_t = alpha_t x_0 + sigma_t eps`` is again a mixture, with components
``N(alpha_t mu_k, C_k)``, ``C_k = alpha_t^2 Sigma_k + sigma_t^2 I``, and the
optimal denoiser is a responsibility-weighted sum of affine maps,

    E[x_0 | z_t] = sum_k gamma_k(z) (mu_k + A_k (z - alpha_t mu_k)),   A_k = alpha_t Sigma_k C_k^{-1},

with ``gamma_k`` the softmax of the quadratic scores
``log pi_k - 1/2 log det C_k - 1/2 |z - alpha_t mu_k|^2_{C_k^{-1}}`` (log space,
so far-away points never give 0/0). The DDIM step is affine in the denoiser,
so one teacher step is a *gated mixture of K affine maps* with softmax gates
quadratic in ``z`` (:class:`GatedAffine`); a composite of ``k`` steps is not
(its hard-gate skeleton has up to ``K^k`` affine pieces).

This module holds the exact teacher (denoiser, step, composites, sampling),
the one-step student class and its torch training, the affine-piece count of
composites on a line, and Lipschitz estimates used to bound how per-merge
errors grow through later operators. ``K = 1`` with ``mu = 0`` and diagonal
``Sigma`` is the linear model of the rest of the book (R1, R2).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch

from ._checks import DTYPE, as_float, as_int, as_tensor, one_of
from ._checks import device as default_device
from .schedule import as_schedule

WEIGHT_TOLERANCE = 1e-9
SYMMETRY_TOLERANCE = 1e-10
STUDENT_INITS = ("warm", "random")
"""Starting maps of a student (see :func:`error_floors`)."""
GATES = ("teacher", "free")
"""Which gates a student may use (see :func:`error_floors`)."""


# ------------------------------------------------------------------ the data
@dataclass(frozen=True, eq=False)
class GaussianMixture:
    """Mixture ``sum_k weights[k] N(means[k], covariances[k])`` in ``R^d``.

    ``weights``: shape ``(K,)``, positive, summing to 1. ``means``: ``(K, d)``.
    ``covariances``: ``(K, d, d)`` symmetric positive definite, or ``(K, d)``
    positive entries meaning diagonal covariances. Use :meth:`scalar` for the
    one-dimensional case.
    """

    weights: torch.Tensor
    means: torch.Tensor
    covariances: torch.Tensor

    def __post_init__(self):
        w = as_tensor(self.weights, "weights", positive=True)
        mu = as_tensor(self.means, "means")
        cov = as_tensor(self.covariances, "covariances")
        if w.ndim != 1 or w.numel() == 0:
            raise ValueError(f"weights must be a non-empty 1-D array, got shape {tuple(w.shape)}")
        if abs(float(w.sum()) - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"weights must sum to 1, got sum {float(w.sum())!r} for weights {w.tolist()}")
        k = w.numel()
        if mu.ndim != 2 or mu.shape[0] != k or mu.shape[1] == 0:
            raise ValueError(f"means must have shape (K, d) = ({k}, d) to match {k} weights, got {tuple(mu.shape)}")
        d = mu.shape[1]
        if cov.ndim == 2:
            if tuple(cov.shape) != (k, d):
                raise ValueError(f"diagonal covariances must have shape (K, d) = ({k}, {d}), got {tuple(cov.shape)}")
            if not bool((cov > 0).all()):
                raise ValueError(f"diagonal covariances must be > 0 (positive definite), got {cov.tolist()}")
            cov = torch.diag_embed(cov)
        elif cov.ndim == 3:
            if tuple(cov.shape) != (k, d, d):
                raise ValueError(f"covariances must have shape (K, d, d) = ({k}, {d}, {d}), got {tuple(cov.shape)}")
            scale = cov.abs().amax().clamp_min(1.0)
            if float((cov - cov.transpose(-1, -2)).abs().max()) > SYMMETRY_TOLERANCE * float(scale):
                raise ValueError("covariances must be symmetric")
            smallest = torch.linalg.eigvalsh(cov).min(dim=-1).values
            if not bool((smallest > 0).all()):
                bad = int(torch.nonzero(smallest <= 0)[0])
                raise ValueError(f"covariances must be positive definite; component {bad} has smallest "
                                 f"eigenvalue {float(smallest[bad])!r}")
        else:
            raise ValueError(f"covariances must have shape (K, d, d) or (K, d), got {tuple(cov.shape)}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "covariances", cov)

    @classmethod
    def scalar(cls, weights, means, variances) -> GaussianMixture:
        """One-dimensional mixture from lists of weights, means and variances (each of length K)."""
        mu = as_tensor(means, "means")
        var = as_tensor(variances, "variances", positive=True)
        if mu.ndim != 1 or var.ndim != 1:
            raise ValueError(f"means and variances must be 1-D lists, got shapes {tuple(mu.shape)} and {tuple(var.shape)}")
        if mu.shape != var.shape:
            raise ValueError(f"means and variances must have the same length, got {mu.numel()} and {var.numel()}")
        return cls(weights, mu[:, None], var[:, None])

    @property
    def num_components(self) -> int:
        """K, the number of components."""
        return self.weights.numel()

    @property
    def dim(self) -> int:
        """d, the dimension of the data."""
        return self.means.shape[1]

    def to(self, device) -> GaussianMixture:
        """The same mixture with its tensors on ``device``."""
        return GaussianMixture(self.weights.to(device), self.means.to(device), self.covariances.to(device))

    def mean(self) -> torch.Tensor:
        """The mean of the data, ``sum_k pi_k mu_k``."""
        return self.weights @ self.means

    def covariance(self) -> torch.Tensor:
        """The covariance of the data (law of total variance)."""
        m = self.mean()
        centred = self.means - m
        return (torch.einsum("k,kij->ij", self.weights, self.covariances)
                + torch.einsum("k,ki,kj->ij", self.weights, centred, centred))

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.num_components}, d={self.dim})"


def example_mixture() -> GaussianMixture:
    """The running example of the chapter *Gaussian mixtures*: three unequal 1-D components,
    weights (0.6, 0.3, 0.1), means (-1.5, 0.5, 2), variances (0.1, 0.05, 0.02)."""
    return GaussianMixture.scalar([0.6, 0.3, 0.1], [-1.5, 0.5, 2.0], [0.1, 0.05, 0.02])


def as_mixture(mixture, name: str = "mixture") -> GaussianMixture:
    """Check that ``mixture`` is a :class:`GaussianMixture`."""
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"{name} must be a lineardistill.GaussianMixture, got {type(mixture).__name__}")
    return mixture


def _generator(generator):
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (seeded, for reproducible draws), got {type(generator).__name__}")
    if generator.device.type != "cpu":
        raise ValueError("generator must be a CPU generator: draws are made on the CPU, then moved")
    return generator


def sample_mixture(mixture, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Exact draws ``x_0`` from the mixture, shape ``(num_samples, d)`` (drawn on the CPU)."""
    mix = as_mixture(mixture).to("cpu")
    n = as_int(num_samples, "num_samples", minimum=1)
    gen = _generator(generator)
    labels = torch.multinomial(mix.weights, n, replacement=True, generator=gen)
    noise = torch.randn(n, mix.dim, generator=gen, dtype=DTYPE)
    chol = torch.linalg.cholesky(mix.covariances)
    return mix.means[labels] + (chol[labels] @ noise[..., None])[..., 0]


def sample_latents(mixture, schedule, t: int, num_samples: int, generator: torch.Generator) -> torch.Tensor:
    """Exact draws of ``z_t = alpha_t x_0 + sigma_t eps``, shape ``(num_samples, d)`` (CPU)."""
    sch = as_schedule(schedule).to("cpu")
    t = as_int(t, "t", minimum=0, maximum=sch.num_steps)
    x0 = sample_mixture(mixture, num_samples, generator)
    eps = torch.randn(x0.shape, generator=generator, dtype=DTYPE)
    return sch.alphas[t] * x0 + sch.sigmas[t] * eps


# ------------------------------------------------------------- the teacher
def _latent_z(z, mixture):
    z = as_tensor(z, "z", device=mixture.means.device)
    if z.ndim == 0 or z.shape[-1] != mixture.dim:
        raise ValueError(f"z must have the mixture's dimension d = {mixture.dim} on its last axis, got shape {tuple(z.shape)}")
    return z


def _terms(schedule, mixture, t):
    """Per-component quantities at time t: C_k, its Cholesky factor, log det, A_k."""
    a, s = schedule.alphas[t], schedule.sigmas[t]
    eye = torch.eye(mixture.dim, dtype=DTYPE, device=mixture.means.device)
    cov_t = a**2 * mixture.covariances + s**2 * eye
    chol = torch.linalg.cholesky(cov_t)
    logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
    gain = a * torch.linalg.solve(cov_t, mixture.covariances).transpose(-1, -2)  # alpha Sigma C^{-1}
    return cov_t, chol, logdet, gain


def _prepare(z, t, schedule, mixture, minimum_t=0):
    sch = as_schedule(schedule)
    mix = as_mixture(mixture)
    t = as_int(t, "t", minimum=minimum_t, maximum=sch.num_steps)
    sch = sch.to(mix.means.device)
    return _latent_z(z, mix), t, sch, mix


def log_responsibilities(z, t: int, schedule, mixture) -> torch.Tensor:
    """R18: ``log gamma_k(z_t)``, the log posterior probability of each component, shape ``z.shape[:-1] + (K,)``.

    A log-softmax of the quadratic scores, so it stays finite far from every component.
    """
    z, t, sch, mix = _prepare(z, t, schedule, mixture)
    _, chol, logdet, _ = _terms(sch, mix, t)
    diff = z[..., None, :] - sch.alphas[t] * mix.means  # (..., K, d)
    white = torch.linalg.solve_triangular(chol, diff[..., None], upper=False)[..., 0]
    if not bool(torch.isfinite(white).all()):
        raise ValueError(f"z is too large for this mixture at t = {t}: its whitened distance to a component "
                         f"overflows float64 (largest |z| {float(z.abs().max()):.3g})")
    # |white|^2 overflows for |z| above ~1e154 (NaN gates). There, and only there, use the differences of the
    # squared distances against the nearest component m, |w_k|^2 - |w_m|^2 = (w_k - w_m).(w_k + w_m), with one
    # factor divided by a per-point scale that is multiplied back last: no inf - inf. Those gates are saturated
    # (derivative ~ exp(-1e300)), so they count as constants for autograd, whose chain rule would overflow.
    base = torch.log(mix.weights) - 0.5 * logdet
    scale = white.detach().abs().amax(dim=(-2, -1)).clamp(min=1.0)[..., None]           # (..., 1)
    plain = base - 0.5 * (white**2).sum(-1)
    far = scale > 1e150
    if bool(far.any()):
        nearest = ((white.detach() / scale[..., None]) ** 2).sum(-1).argmin(-1)
        w_m = torch.gather(white.detach(), -2,
                           nearest[..., None, None].expand(*white.shape[:-2], 1, white.shape[-1]))
        wd = white.detach()
        excess = (((wd - w_m) / scale[..., None]) * (wd + w_m)).sum(-1)                # (..., K), >= 0
        score = torch.where(far, base.detach() - 0.5 * scale * excess, plain)
    else:
        score = plain
    return torch.log_softmax(score, dim=-1)


def responsibilities(z, t: int, schedule, mixture) -> torch.Tensor:
    """R18: ``gamma_k(z_t)``, the posterior probability of each component (sums to 1 over the last axis)."""
    return torch.exp(log_responsibilities(z, t, schedule, mixture))


def mixture_denoise(z, t: int, schedule, mixture) -> torch.Tensor:
    """R18: the optimal denoiser ``E[x_0 | z_t]``, a responsibility-weighted sum of affine maps.

    ``z`` has the coordinates on its last axis; the result has the shape of ``z``.
    """
    z, t, sch, mix = _prepare(z, t, schedule, mixture)
    _, _, _, gain = _terms(sch, mix, t)
    gamma = responsibilities(z, t, sch, mix)
    diff = z[..., None, :] - sch.alphas[t] * mix.means
    per_component = mix.means + (gain @ diff[..., None])[..., 0]  # (..., K, d)
    return (gamma[..., None] * per_component).sum(-2)


def mixture_step(z, t: int, schedule, mixture) -> torch.Tensor:
    """R18: one deterministic DDIM step from time ``t`` to ``t - 1`` through the mixture denoiser."""
    z, t, sch, mix = _prepare(z, t, schedule, mixture, minimum_t=1)
    x0 = mixture_denoise(z, t, sch, mix)
    eps = (z - sch.alphas[t] * x0) / sch.sigmas[t]
    return sch.alphas[t - 1] * x0 + sch.sigmas[t - 1] * eps


def mixture_composite(z, schedule, mixture, s: int = 0, t: int | None = None) -> torch.Tensor:
    """R18: the composite teacher: DDIM steps from time ``t`` (default N) down to ``s`` (default 0)."""
    sch = as_schedule(schedule)
    t = sch.num_steps if t is None else as_int(t, "t", minimum=0, maximum=sch.num_steps)
    s = as_int(s, "s", minimum=0, maximum=sch.num_steps)
    if s > t:
        raise ValueError(f"s must be <= t, got s={s}, t={t}")
    out = _latent_z(z, as_mixture(mixture))
    for time in range(t, s, -1):
        out = mixture_step(out, time, sch, mixture)
    return out


# ------------------------------------------------- the one-step student class
class GatedAffine(torch.nn.Module):
    """A batch of ``B`` independent gated mixtures of ``K`` affine maps on ``R^d`` (the one-step class).

    ``f(z) = sum_k softmax_k(-1/2 z^T P_k z + b_k . z + c_k) (F_k z + f_k)``.

    Why this class: it is exactly the set of maps a single DDIM step of *some*
    K-component Gaussian mixture can take (see :func:`teacher_step_student`),
    so a student that replaces one teacher step can be exact (error floor 0),
    and what it cannot do for a block of several steps measures the price of
    merging itself, not of a too small network. A generic MLP would mix that
    price with its own approximation error. ``P_k`` is used through its
    symmetric part. Input ``z``: ``(B, n, d)`` or ``(n, d)`` (shared by all).
    """

    def __init__(self, quad, lin, const, slopes, offsets):
        super().__init__()
        quad, lin, const = as_tensor(quad, "quad"), as_tensor(lin, "lin"), as_tensor(const, "const")
        slopes, offsets = as_tensor(slopes, "slopes"), as_tensor(offsets, "offsets")
        if const.ndim != 2:
            raise ValueError(f"const must have shape (B, K), got {tuple(const.shape)}")
        b, k = const.shape
        d = lin.shape[-1] if lin.ndim == 3 else -1
        for name, value, shape in (("lin", lin, (b, k, d)), ("quad", quad, (b, k, d, d)),
                                   ("slopes", slopes, (b, k, d, d)), ("offsets", offsets, (b, k, d))):
            if tuple(value.shape) != shape or d < 1:
                raise ValueError(f"{name} must have shape {shape} (B = {b}, K = {k}, d = lin.shape[-1]), "
                                 f"got {tuple(value.shape)}")
        self.quad = torch.nn.Parameter(quad.clone())
        self.lin = torch.nn.Parameter(lin.clone())
        self.const = torch.nn.Parameter(const.clone())
        self.slopes = torch.nn.Parameter(slopes.clone())
        self.offsets = torch.nn.Parameter(offsets.clone())

    @property
    def batch(self) -> int:
        """B, the number of independent students."""
        return self.const.shape[0]

    def log_gates(self, z):
        """Log gate weights ``(B, n, K)``."""
        z = self._shape(z)
        sym = 0.5 * (self.quad + self.quad.transpose(-1, -2))
        zz = z[:, :, None, :]  # (B, n, 1, d); plain broadcasting is much faster than einsum for small d, K
        quad = ((sym[:, None] * zz[..., None, :]).sum(-1) * zz).sum(-1)
        score = -0.5 * quad + (self.lin[:, None] * zz).sum(-1) + self.const[:, None, :]
        return torch.log_softmax(score, dim=-1)

    def _maps(self, z):
        zz = z[:, :, None, None, :]  # (B, n, 1, 1, d)
        return (self.slopes[:, None] * zz).sum(-1) + self.offsets[:, None]  # (B, n, K, d)

    def forward(self, z):
        z = self._shape(z)
        gates = torch.exp(self.log_gates(z))
        return (gates[..., None] * self._maps(z)).sum(-2)

    def hard(self, z):
        """The hard-gate skeleton: the affine map of the highest gate only (piecewise affine)."""
        z = self._shape(z)
        best = self.log_gates(z).argmax(-1)  # (B, n)
        maps = self._maps(z)
        return torch.gather(maps, 2, best[..., None, None].expand(-1, -1, 1, maps.shape[-1]))[:, :, 0]

    def _shape(self, z):
        if z.ndim == 2:
            z = z.expand(self.batch, *z.shape)
        if z.ndim != 3 or z.shape[0] != self.batch or z.shape[-1] != self.slopes.shape[-1]:
            raise ValueError(f"z must have shape (n, d) or (B, n, d) with B = {self.batch}, "
                             f"d = {self.slopes.shape[-1]}, got {tuple(z.shape)}")
        return z.to(self.const.dtype)

    def select(self, index: int) -> GatedAffine:
        """Student ``index`` of the batch as a batch of one (a detached copy)."""
        i = as_int(index, "index", minimum=0, maximum=self.batch - 1)
        return GatedAffine(*(p.detach()[i:i + 1] for p in self._params()))

    def _params(self):
        return self.quad, self.lin, self.const, self.slopes, self.offsets

    @staticmethod
    def stack(students) -> GatedAffine:
        """Concatenate batches of students (detached copies)."""
        students = list(students)
        if not students or not all(isinstance(s, GatedAffine) for s in students):
            raise TypeError("students must be a non-empty list of GatedAffine")
        return GatedAffine(*(torch.cat([s._params()[j].detach() for s in students]) for j in range(5)))


def teacher_step_student(schedule, mixture, t: int) -> GatedAffine:
    """R18: the teacher's DDIM step from ``t`` to ``t - 1`` written exactly as a :class:`GatedAffine` (B = 1).

    Gates: ``P_k = C_k^{-1}``, ``b_k = C_k^{-1} alpha_t mu_k``,
    ``c_k = log pi_k - 1/2 log det C_k - 1/2 alpha_t^2 mu_k^T C_k^{-1} mu_k``.
    Maps: ``F_k = (sigma_{t-1}/sigma_t) I + kappa A_k``, ``f_k = kappa (I - alpha_t A_k) mu_k``
    with ``kappa = alpha_{t-1} - sigma_{t-1} alpha_t / sigma_t``.
    """
    sch = as_schedule(schedule)
    mix = as_mixture(mixture)
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    sch = sch.to(mix.means.device)
    cov_t, _, logdet, gain = _terms(sch, mix, t)
    a, s, a_prev, s_prev = sch.alphas[t], sch.sigmas[t], sch.alphas[t - 1], sch.sigmas[t - 1]
    prec = torch.linalg.inv(cov_t)
    prec = 0.5 * (prec + prec.transpose(-1, -2))
    lin = a * (prec @ mix.means[..., None])[..., 0]
    const = torch.log(mix.weights) - 0.5 * logdet - 0.5 * a * (mix.means * lin).sum(-1)
    kappa = a_prev - s_prev * a / s
    eye = torch.eye(mix.dim, dtype=DTYPE, device=mix.means.device)
    slopes = (s_prev / s) * eye + kappa * gain
    offsets = kappa * (mix.means - a * (gain @ mix.means[..., None])[..., 0])
    return GatedAffine(prec[None], lin[None], const[None], slopes[None], offsets[None])


# ---------------------------------------------------------------- training
@dataclass
class FitResult:
    """Students trained together and their errors on a held-out sample (one entry per student).

    ``mse``: held-out mean squared error ``E |S(z) - target(z)|^2``; ``relative``:
    ``mse / E |target - E target|^2``; ``train_mse``: the same on the training sample.
    """

    students: GatedAffine
    mse: torch.Tensor
    relative: torch.Tensor
    train_mse: torch.Tensor


def _lbfgs(model, x, y, iters, train_gates):
    for p in (model.quad, model.lin, model.const):
        p.requires_grad_(train_gates)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.LBFGS(params, lr=1.0, max_iter=iters, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).sum(-1).mean()
        loss.backward()
        return loss

    if iters:
        opt.step(closure)
    return model


def fit_students(inputs, targets, init, *, train_gates: bool = True, test_inputs=None, test_targets=None,
                 num_iters: int = 300, device=None) -> FitResult:
    """Train a batch of :class:`GatedAffine` students on the squared error ``|S(z) - target|^2``.

    ``inputs``, ``targets``: ``(B, n, d)``; ``init``: a :class:`GatedAffine` with
    batch ``B`` (copied, not changed). Each student is trained on its own by
    full-batch L-BFGS (at most ``num_iters`` iterations, strong Wolfe line
    search, float64): the models are tiny and first-order methods stop far
    above the floor. With ``train_gates=False`` the gates stay as in ``init``
    and only the affine maps learn: the loss is then a convex quadratic and
    training reaches :func:`least_squares_maps`. Runs on ``device`` (default :func:`lineardistill.device`):
    the GPU when present, else the CPU. Errors are measured on
    ``test_inputs``/``test_targets`` (default: the training data).
    """
    dev = default_device() if device is None else torch.device(device)
    if not isinstance(init, GatedAffine):
        raise TypeError(f"init must be a GatedAffine, got {type(init).__name__}")
    x = as_tensor(inputs, "inputs", device=dev)
    y = as_tensor(targets, "targets", device=dev)
    if x.ndim != 3 or x.shape != y.shape or x.shape[0] != init.batch or x.shape[-1] != init.slopes.shape[-1]:
        raise ValueError(f"inputs and targets must have the same shape (B, n, d) with B = {init.batch}, "
                         f"d = {init.slopes.shape[-1]}, got {tuple(x.shape)} and {tuple(y.shape)}")
    xt = x if test_inputs is None else as_tensor(test_inputs, "test_inputs", device=dev)
    yt = y if test_targets is None else as_tensor(test_targets, "test_targets", device=dev)
    if xt.ndim != 3 or xt.shape[0] != x.shape[0] or xt.shape != yt.shape or xt.shape[-1] != x.shape[-1]:
        raise ValueError(f"test_inputs and test_targets must have shape (B, m, d) matching the training data, "
                         f"got {tuple(xt.shape)} and {tuple(yt.shape)}")
    iters = as_int(num_iters, "num_iters", minimum=0)
    if not isinstance(train_gates, bool):
        raise TypeError(f"train_gates must be a bool, got {train_gates!r}")
    trained = []
    for b in range(init.batch):
        model = GatedAffine(*(p.detach()[b:b + 1].to(dev) for p in init._params()))
        trained.append(_lbfgs(model, x[b:b + 1], y[b:b + 1], iters, train_gates))
    model = GatedAffine.stack(trained).to(dev)
    with torch.no_grad():
        train = ((model(x) - y) ** 2).sum(-1).mean(-1)
        mse = ((model(xt) - yt) ** 2).sum(-1).mean(-1)
        spread = ((yt - yt.mean(-2, keepdim=True)) ** 2).sum(-1).mean(-1)
    if not (bool(torch.isfinite(mse).all()) and bool(torch.isfinite(train).all())):
        raise FloatingPointError("training diverged (non-finite error)")
    model.requires_grad_(False)
    return FitResult(model.cpu(), mse.cpu(), (mse / spread).cpu(), train.cpu())


def _blocks(blocks, n):
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, (tuple, list)) or len(block) != 2:
            raise ValueError(f"blocks[{i}] must be a pair (s, t) with 0 <= s < t <= {n}, got {block!r}")
        s = as_int(block[0], f"blocks[{i}][0]", minimum=0, maximum=n)
        t = as_int(block[1], f"blocks[{i}][1]", minimum=0, maximum=n)
        if s >= t:
            raise ValueError(f"blocks[{i}] must have s < t, got {block!r}")
        out.append((s, t))
    if not out:
        raise ValueError("blocks must hold at least one (s, t) pair")
    return out


def _stack_warm(schedule, mixture, tops):
    return GatedAffine.stack(teacher_step_student(schedule, mixture, t) for t in tops)


def least_squares_maps(inputs, targets, gates) -> GatedAffine:
    """The best affine maps for fixed gates, in closed form (a linear least-squares problem per student).

    With the gates ``g_k(z)`` of ``gates`` (a :class:`GatedAffine`, batch ``B``)
    held fixed, ``S(z) = sum_k g_k(z) (F_k z + f_k)`` is linear in ``(F, f)``;
    this solves ``min E |S(z) - target|^2`` over the sample. Returns a copy of
    ``gates`` with the optimal maps.
    """
    if not isinstance(gates, GatedAffine):
        raise TypeError(f"gates must be a GatedAffine, got {type(gates).__name__}")
    x = as_tensor(inputs, "inputs", device="cpu")
    y = as_tensor(targets, "targets", device="cpu")
    d = gates.slopes.shape[-1]
    if x.ndim != 3 or x.shape != y.shape or x.shape[0] != gates.batch or x.shape[-1] != d:
        raise ValueError(f"inputs and targets must have the same shape (B, n, d) with B = {gates.batch}, d = {d}, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    gates = GatedAffine(*(p.detach().cpu() for p in gates._params()))  # a CPU copy; the argument is not moved
    with torch.no_grad():
        g = torch.exp(gates.log_gates(x))  # (B, n, K)
        ones = torch.ones_like(x[..., :1])
        design = (g[..., None] * torch.cat([x, ones], -1)[:, :, None, :]).flatten(-2)  # (B, n, K (d+1))
        solution = torch.linalg.lstsq(design, y, driver="gelsd").solution  # (B, K (d+1), d)
    k = g.shape[-1]
    coef = solution.reshape(gates.batch, k, d + 1, d)
    slopes = coef[:, :, :d, :].transpose(-1, -2)  # slopes[b, k, out, in]
    offsets = coef[:, :, d, :]
    return GatedAffine(gates.quad, gates.lin, gates.const, slopes, offsets)


def _floor_data(schedule, mixture, pairs, n, seed):
    gen = torch.Generator().manual_seed(seed)
    xs, ys, xt, yt = [], [], [], []
    for s, t in pairs:
        z = sample_latents(mixture, schedule, t, 2 * n, gen)
        target = mixture_composite(z, schedule, mixture, s, t)
        xs.append(z[:n]), ys.append(target[:n]), xt.append(z[n:]), yt.append(target[n:])
    return torch.stack(xs), torch.stack(ys), torch.stack(xt), torch.stack(yt), gen


def error_floors(schedule, mixture, blocks, *, gates: str = "teacher", init: str = "warm", num_samples: int = 1024,
                 num_iters: int = 300, seed: int = 0, device=None) -> FitResult:
    """R18: train one student per block ``(s, t)`` on the teacher composite from ``t`` to ``s``; report its error.

    Inputs are exact draws of ``z_t`` (``num_samples`` to train on, as many
    again held out, from ``torch.Generator().manual_seed(seed)``); targets are
    :func:`mixture_composite`. The student is a :class:`GatedAffine` with K
    components whose gates start as the teacher's gates at time ``t``:

    - ``gates="teacher"``: the gates stay the teacher's; only the K affine
      maps are trained. Convex, so training reaches the class's true minimum
      (:func:`least_squares_maps` gives it in closed form): the error floor of
      the class "one teacher step at time t, with other affine maps";
    - ``gates="free"``: after that, every parameter (gates too) is trained
      further; the error can only go down, and is an upper estimate of the
      floor of the whole one-step class (non-convex).

    ``init``: the maps start at the teacher step at ``t`` (``"warm"``, R7's
    analogue) or at seeded random values (``"random"``). One step
    (``t = s + 1``) is exactly representable: floor 0.
    """
    sch = as_schedule(schedule).to("cpu")
    mix = as_mixture(mixture).to("cpu")
    pairs = _blocks(blocks, sch.num_steps)
    gates = one_of(gates, "gates", GATES)
    init = one_of(init, "init", STUDENT_INITS)
    n = as_int(num_samples, "num_samples", minimum=2)
    seed = as_int(seed, "seed", minimum=0)
    x, y, xt, yt, gen = _floor_data(sch, mix, pairs, n, seed)
    start = _stack_warm(sch, mix, [t for _, t in pairs])
    if init == "random":
        params = [p.detach() for p in start._params()]
        params[3] = torch.randn(params[3].shape, generator=gen, dtype=DTYPE)
        params[4] = torch.randn(params[4].shape, generator=gen, dtype=DTYPE)
        start = GatedAffine(*params)
    fit = fit_students(x, y, start, train_gates=False, test_inputs=xt, test_targets=yt, num_iters=num_iters,
                       device=device)
    if gates == "free":
        fit = fit_students(x, y, fit.students, train_gates=True, test_inputs=xt, test_targets=yt,
                           num_iters=num_iters, device=device)
    return fit


# --------------------------------------------------- Lipschitz constants
def lipschitz_estimate(fn, points) -> float:
    """The largest operator norm of the Jacobian of ``fn`` over ``points`` (shape ``(n, d)``).

    On a dense grid covering where the inputs live this estimates the Lipschitz
    constant ``sup |fn(a) - fn(b)| / |a - b|`` there (from below; the grid's
    spacing decides how closely).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    z = as_tensor(points, "points")
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"points must have shape (n, d), got {tuple(z.shape)}")
    z = z.clone().requires_grad_(True)
    out = fn(z)
    if out.shape != z.shape:
        raise ValueError(f"fn must map (n, d) to (n, d), got {tuple(out.shape)} from {tuple(z.shape)}")
    rows = [torch.autograd.grad(out[:, i].sum(), z, retain_graph=True)[0] for i in range(z.shape[1])]
    jac = torch.stack(rows, dim=-2)  # (n, d, d): rows are outputs (the map acts pointwise)
    norms = torch.linalg.matrix_norm(jac, ord=2)
    value = float(norms.max())
    if not math.isfinite(value):
        raise FloatingPointError("the Jacobian is not finite on the given points")
    return value


def step_lipschitz(schedule, mixture, lo: float, hi: float, num_points: int = 4001) -> torch.Tensor:
    """``L_t`` for every teacher step t = 1..N of a one-dimensional mixture: the largest ``|d z_{t-1} / d z_t|``.

    Measured on ``num_points`` equally spaced points of ``[lo, hi]`` in the
    ``z_t`` coordinate; entry ``t - 1`` belongs to step ``t``.
    """
    sch = as_schedule(schedule)
    mix, a, b = _check_line(mixture, lo, hi, "step_lipschitz needs")
    m = as_int(num_points, "num_points", minimum=2)
    grid = torch.linspace(a, b, m, dtype=DTYPE)[:, None]
    return torch.tensor([lipschitz_estimate(lambda z, t=t: mixture_step(z, t, sch, mix), grid)
                         for t in range(1, sch.num_steps + 1)], dtype=DTYPE)


@dataclass
class SequentialResult:
    """A BOOT-style chain of merges from the noise end, and how its errors add up (R18).

    Entry ``j`` belongs to the student after ``j + 2`` teacher steps are merged
    (``j = 0``: steps N and N-1). ``merge_rms``: RMS of the student's own fitting
    error against its target ``step(previous student)``; ``total_rms``: RMS of
    the student against the true teacher composite; ``bound``: the Lipschitz
    bound on ``total_rms``, ``bound_j = L_j bound_{j-1} + merge_rms_j``.
    ``one_shot_rms``: a single student trained on the whole N-step composite.
    """

    merge_rms: torch.Tensor
    total_rms: torch.Tensor
    bound: torch.Tensor
    lipschitz: torch.Tensor
    one_shot_rms: float


def sequential_merge(schedule, mixture, *, lo: float, hi: float, num_samples: int = 1024, num_iters: int = 300,
                     seed: int = 0, device=None) -> SequentialResult:
    """R18: merge a one-dimensional mixture teacher sequentially from the noise end (BOOT-style) and bound the error growth.

    Merge ``j`` trains a student acting on ``z_N`` on the target
    ``step_{N-j}(S_{j-1}(z_N))``, warm-started at ``S_{j-1}`` (R7). Its error
    against the teacher composite obeys, point by point,
    ``|D_j| <= L |D_{j-1}| + |e_j|`` with ``L`` the Lipschitz constant of the
    step just added, hence (Minkowski) ``RMS D_j <= L RMS D_{j-1} + RMS e_j``.
    ``L`` is measured on ``[lo, hi]`` (:func:`step_lipschitz`), which must
    cover where the students' outputs fall. The one-shot student (all N steps
    at once, warm-started at the teacher step at N) is trained for comparison
    with the same data and iterations. The gates are trained too, so the
    problem is not convex: the numbers depend on the optimizer's path (and
    so, slightly, on device and thread count); the bound holds regardless.
    For reproducible numbers use :func:`block_errors`.
    """
    sch = as_schedule(schedule).to("cpu")
    mix = as_mixture(mixture).to("cpu")
    n = as_int(num_samples, "num_samples", minimum=2)
    steps = sch.num_steps
    if steps < 2:
        raise ValueError(f"sequential_merge needs a schedule with at least 2 steps, got {steps}")
    lips = step_lipschitz(sch, mix, lo, hi)
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    z = sample_latents(mix, sch, steps, 2 * n, gen)
    train, test = z[:n][None], z[n:][None]
    student = teacher_step_student(sch, mix, steps)
    exact_train, exact_test = mixture_step(train[0], steps, sch, mix), mixture_step(test[0], steps, sch, mix)
    merge, total, bound = [], [], []
    previous_bound = 0.0
    for t in range(steps - 1, 0, -1):
        with torch.no_grad():
            target_train = mixture_step(student(train)[0], t, sch, mix)[None]
            target_test = mixture_step(student(test)[0], t, sch, mix)[None]
        exact_train, exact_test = mixture_step(exact_train, t, sch, mix), mixture_step(exact_test, t, sch, mix)
        fit = fit_students(train, target_train, student, train_gates=True, test_inputs=test, test_targets=target_test,
                           num_iters=num_iters, device=device)
        student = fit.students
        with torch.no_grad():
            out = student(test)[0]
        merge.append(float(fit.mse[0].sqrt()))
        total.append(float(((out - exact_test) ** 2).sum(-1).mean().sqrt()))
        previous_bound = float(lips[t - 1]) * previous_bound + merge[-1]
        bound.append(previous_bound)
    one = fit_students(train, exact_train[None], teacher_step_student(sch, mix, steps), train_gates=True, test_inputs=test,
                       test_targets=exact_test[None], num_iters=num_iters, device=device)
    as_t = lambda v: torch.tensor(v, dtype=DTYPE)
    return SequentialResult(as_t(merge), as_t(total), as_t(bound), lips, float(one.mse[0].sqrt()))


@dataclass
class BlockErrors:
    """Students that each replace one block of a partition of the steps, and how their errors reach the output (R18).

    Entry ``j`` belongs to ``blocks[j]`` (ordered from the noise end).
    ``merge_rms``: RMS error of student ``j`` against its block's teacher
    composite, on the teacher's own trajectory; ``output_rms``: RMS change of
    the sampler's output when only block ``j`` is replaced by its student;
    ``lipschitz_after``: product of the Lipschitz constants of the teacher
    steps after block ``j``, so ``output_rms <= lipschitz_after * merge_rms``;
    ``total_rms``: output error with every block replaced; ``total_bound``: its
    bound ``sum_j lipschitz_after_j * e_j`` with ``e_j`` measured along the
    students' own trajectory (a telescoping sum, each term bounded as above).
    """

    blocks: list
    merge_rms: torch.Tensor
    output_rms: torch.Tensor
    lipschitz_after: torch.Tensor
    total_rms: float
    total_bound: float


def block_errors(schedule, mixture, blocks, *, lo: float, hi: float, num_samples: int = 1024, num_iters: int = 50,
                 seed: int = 0, device=None) -> BlockErrors:
    """R18: replace each block of a partition of the steps by a trained student and follow its error to the output.

    ``blocks``: consecutive ``(s, t)`` pairs from ``(., N)`` down to ``(0, .)``.
    Each student has the teacher's gates at its block's top time (the convex
    class of :func:`error_floors`), so training reaches its floor and the
    numbers do not depend on the optimizer's path. Errors are measured on
    ``num_samples`` held-out draws of ``z_N``; Lipschitz constants of the
    teacher steps on ``[lo, hi]`` (:func:`step_lipschitz`, d = 1).
    """
    sch = as_schedule(schedule).to("cpu")
    mix = as_mixture(mixture).to("cpu")
    pairs = _blocks(blocks, sch.num_steps)
    ordered = sorted(pairs, key=lambda p: -p[1])
    if ordered != pairs or pairs[0][1] != sch.num_steps or pairs[-1][0] != 0 or any(
            a[0] != b[1] for a, b in itertools.pairwise(pairs)):
        raise ValueError(f"blocks must partition the steps from N = {sch.num_steps} down to 0 in order, "
                         f"e.g. [(4, 8), (0, 4)]; got {blocks!r}")
    n = as_int(num_samples, "num_samples", minimum=2)
    seed = as_int(seed, "seed", minimum=0)
    fit = error_floors(sch, mix, pairs, gates="teacher", num_samples=n, num_iters=num_iters, seed=seed, device=device)
    students = [fit.students.select(j) for j in range(len(pairs))]
    lips = step_lipschitz(sch, mix, lo, hi)
    z = sample_latents(mix, sch, sch.num_steps, n, torch.Generator().manual_seed(seed + 1))

    def run(replaced):
        out = z
        with torch.no_grad():
            for j, (s, t) in enumerate(pairs):
                out = students[j](out)[0] if j in replaced else mixture_composite(out, sch, mix, s, t)
        return out

    def rms(a):
        return float((a**2).sum(-1).mean().sqrt())

    teacher_out = run(set())
    merge, output, after = [], [], []
    inputs_t, inputs_s = z, z
    bound = 0.0
    for j, (s, t) in enumerate(pairs):
        with torch.no_grad():
            merge.append(rms(students[j](inputs_t)[0] - mixture_composite(inputs_t, sch, mix, s, t)))
            along = rms(students[j](inputs_s)[0] - mixture_composite(inputs_s, sch, mix, s, t))
            inputs_t = mixture_composite(inputs_t, sch, mix, s, t)
            inputs_s = students[j](inputs_s)[0]
        output.append(rms(run({j}) - teacher_out))
        after.append(float(torch.prod(lips[:s])))
        bound += after[-1] * along
    total = rms(run(set(range(len(pairs)))) - teacher_out)
    as_t = torch.tensor
    return BlockErrors(pairs, as_t(merge, dtype=DTYPE), as_t(output, dtype=DTYPE), as_t(after, dtype=DTYPE), total,
                       bound)


# ------------------------------------------- affine pieces on a line (d = 1)
def _check_line(mixture, lo, hi, what: str = "piece counts need"):
    """Validate a one-dimensional mixture and an interval ``lo < hi`` of the line."""
    mix = as_mixture(mixture)
    if mix.dim != 1:
        raise ValueError(f"{what} a one-dimensional mixture, got d = {mix.dim}")
    a, b = as_float(lo, "lo"), as_float(hi, "hi")
    if b <= a:
        raise ValueError(f"hi must be > lo, got lo={a!r}, hi={b!r}")
    return mix, a, b


def step_regions(schedule, mixture, t: int, lo: float, hi: float):
    """Where each component wins the gate of the step at time ``t``, on ``[lo, hi]`` (d = 1).

    Returns a list of ``(left, right, k)``: on ``(left, right)`` component ``k``
    has the largest responsibility. Boundaries are roots of the quadratic
    differences of the scores, found in closed form.
    """
    sch = as_schedule(schedule)
    mix, a, b = _check_line(mixture, lo, hi)
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    teacher = teacher_step_student(sch.to("cpu"), mix.to("cpu"), t)
    q = 0.5 * teacher.quad.detach()[0, :, 0, 0]
    p = teacher.lin.detach()[0, :, 0]
    c = teacher.const.detach()[0]
    cuts = [a, b]
    k = mix.num_components
    for i in range(k):
        for j in range(i + 1, k):
            # score_i - score_j = -(q_i - q_j) z^2 + (p_i - p_j) z + (c_i - c_j)
            qa, pb, cc = -(float(q[i]) - float(q[j])), float(p[i]) - float(p[j]), float(c[i]) - float(c[j])
            if abs(qa) < 1e-14 * max(1.0, abs(pb)):
                roots = [-cc / pb] if pb != 0 else []
            else:
                disc = pb * pb - 4 * qa * cc
                if disc < 0:
                    roots = []
                else:
                    sq = math.sqrt(disc)
                    den = -pb - math.copysign(sq, pb) if pb != 0 else -sq
                    roots = [den / (2 * qa), (2 * cc) / den] if den != 0 else [0.0]
            cuts += [r for r in roots if a < r < b]
    cuts = sorted(set(cuts))
    mids = torch.tensor([(u + v) / 2 for u, v in itertools.pairwise(cuts)], dtype=DTYPE)[:, None]
    winners = teacher.log_gates(mids)[0].argmax(-1).tolist()
    regions = []
    for (u, v), w in zip(itertools.pairwise(cuts), winners):
        if regions and regions[-1][2] == w:
            regions[-1] = (regions[-1][0], v, w)
        else:
            regions.append((u, v, w))
    return regions


def composite_pieces(schedule, mixture, s: int, t: int, lo: float, hi: float):
    """The affine pieces of the hard-gate composite from time ``t`` down to ``s`` on ``[lo, hi]`` (d = 1).

    In the hard-gate skeleton each step applies the affine map of its winning
    component, so the composite is piecewise affine. Pieces are found exactly
    by pulling each step's region boundaries back through the pieces so far.
    Returns a list of ``(left, right, slope, intercept, components)`` with
    ``components`` the winning component at steps ``t, t-1, ..., s+1``. At most
    ``K^(t-s)`` pieces when each step has K regions.
    """
    sch = as_schedule(schedule).to("cpu")
    mix, a, b = _check_line(mixture, lo, hi)
    mix = mix.to("cpu")
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    pieces = [(a, b, 1.0, 0.0, ())]
    for time in range(t, s, -1):
        teacher = teacher_step_student(sch, mix, time)
        slope_k, offset_k = teacher.slopes.detach()[0, :, 0, 0].tolist(), teacher.offsets.detach()[0, :, 0].tolist()
        new = []
        for left, right, slope, icpt, comps in pieces:
            ya, yb = slope * left + icpt, slope * right + icpt
            for u, v, k in step_regions(sch, mix, time, min(ya, yb), max(ya, yb)) if yb != ya else \
                    [(ya, yb, _winner(teacher, ya))]:
                zl, zr = sorted(((u - icpt) / slope, (v - icpt) / slope)) if slope != 0 else (left, right)
                new.append((max(zl, left), min(zr, right), slope_k[k] * slope, slope_k[k] * icpt + offset_k[k],
                            comps + (k,)))
        new.sort(key=lambda piece: piece[0])
        pieces = new
    return pieces


def _winner(teacher, y):
    return int(teacher.log_gates(torch.tensor([[y]], dtype=DTYPE))[0, 0].argmax())


def count_pieces(schedule, mixture, s: int, t: int, lo: float, hi: float) -> int:
    """The number of affine pieces of the hard-gate composite from ``t`` to ``s`` on ``[lo, hi]`` (d = 1)."""
    return len(composite_pieces(schedule, mixture, s, t, lo, hi))


def hard_composite(z, schedule, mixture, s: int, t: int) -> torch.Tensor:
    """The hard-gate skeleton of the composite from ``t`` to ``s``: each step uses its winning component's map."""
    sch = as_schedule(schedule)
    mix = as_mixture(mixture)
    t = as_int(t, "t", minimum=1, maximum=sch.num_steps)
    s = as_int(s, "s", minimum=0, maximum=t - 1)
    out = _latent_z(z, mix)
    with torch.no_grad():
        for time in range(t, s, -1):
            out = teacher_step_student(sch, mix, time).hard(out.reshape(-1, mix.dim))[0].reshape(out.shape)
    return out


def locate_breakpoints(grid, values, tol: float = 1e-7) -> torch.Tensor:
    """Positions where a sampled function of one variable stops being affine (kinks or jumps).

    ``grid``: increasing, equally spaced points; ``values``: the function there.
    A second difference above ``tol`` (relative to the values' scale) flags a
    breakpoint; neighbouring flags merge into one, located at their centre.
    """
    x = as_tensor(grid, "grid")
    y = as_tensor(values, "values")
    if x.ndim != 1 or y.shape != x.shape or x.numel() < 3:
        raise ValueError(f"grid and values must be 1-D of the same length >= 3, got {tuple(x.shape)} and {tuple(y.shape)}")
    h = torch.diff(x)
    if not bool((h > 0).all()) or float((h - h.mean()).abs().max()) > 1e-9 * float(h.mean()):
        raise ValueError("grid must be increasing and equally spaced")
    cutoff = as_float(tol, "tol", positive=True) * max(1.0, float(y.abs().max()))
    flags = (torch.diff(y, n=2).abs() > cutoff).nonzero()[:, 0].tolist()
    groups: list[list[int]] = []
    for i in flags:
        if groups and i - groups[-1][-1] <= 2:
            groups[-1].append(i)
        else:
            groups.append([i])
    return torch.tensor([float(x[1 + (g[0] + g[-1]) // 2]) for g in groups], dtype=DTYPE)


# ------------------------------------- whole strategies at equal evaluations
@dataclass
class TreeDistillation:
    """A merge tree distilled on mixture data into one student acting on ``z_N`` (one network evaluation).

    ``rms``: held-out RMS error of the final student against the teacher's N-step
    composite; ``relative``: ``rms^2`` over the variance of the teacher's output
    (comparable with :func:`error_floors`); ``num_students``: training runs (internal
    nodes); ``node_rms``: each student's held-out RMS error against its own training
    target (its children applied in turn), in post-order.
    """

    tree: object
    student: GatedAffine
    rms: float
    relative: float
    num_students: int
    node_rms: list


def distill_tree(schedule, mixture, tree, *, num_samples: int = 1024, num_iters: int = 100, seed: int = 0,
                 device=None) -> TreeDistillation:
    """R18: distill the mixture teacher along a merge tree, every student a :class:`GatedAffine` with trained gates.

    Each internal node over ``(s, t]`` is one student acting on ``z_t``, trained on exact
    draws of ``z_t`` to reproduce its children applied in turn (teacher steps for leaves,
    the already trained students otherwise), warm-started at its first child (the teacher
    step at ``t`` for a leaf, a copy of the student otherwise). Training as in
    :func:`error_floors` with ``gates="free"``: the affine maps first (convex, to their
    optimum for the starting gates), then every parameter by L-BFGS (``num_iters`` each).
    Non-convex: the result is one run's error, an upper estimate of what the class allows.
    The final student needs one network evaluation whatever the tree; its error is measured
    on ``num_samples`` held-out draws of ``z_N``.
    """
    from .trees import as_tree

    sch = as_schedule(schedule).to("cpu")
    mix = as_mixture(mixture).to("cpu")
    tree = as_tree(tree, sch.num_steps)
    n = as_int(num_samples, "num_samples", minimum=2)
    iters = as_int(num_iters, "num_iters", minimum=0)
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    students: dict[int, GatedAffine] = {}
    node_rms = []

    def apply(children, z):
        out = z
        with torch.no_grad():
            for c in children:
                out = mixture_step(out, c.step, sch, mix) if c.step is not None else students[id(c)](out[None])[0]
        return out

    for node in tree.postorder():
        if node.step is not None:
            continue
        z = sample_latents(mix, sch, node.hi, 2 * n, gen)
        target = apply(node.children, z)
        first = node.children[0]
        start = teacher_step_student(sch, mix, node.hi) if first.step is not None else students[id(first)]
        x, y, xt, yt = z[:n][None], target[:n][None], z[n:][None], target[n:][None]
        fit = fit_students(x, y, start, train_gates=False, test_inputs=xt, test_targets=yt, num_iters=iters,
                           device=device)
        fit = fit_students(x, y, fit.students, train_gates=True, test_inputs=xt, test_targets=yt, num_iters=iters,
                           device=device)
        students[id(node)] = fit.students
        node_rms.append(float(fit.mse[0].sqrt()))
    z = sample_latents(mix, sch, sch.num_steps, n, gen)
    exact = mixture_composite(z, sch, mix, 0, sch.num_steps)
    final = students[id(tree)] if tree.step is None else teacher_step_student(sch, mix, sch.num_steps)
    with torch.no_grad():
        out = final(z[None])[0]
    mse = float(((out - exact) ** 2).sum(-1).mean())
    spread = float(((exact - exact.mean(0)) ** 2).sum(-1).mean())
    return TreeDistillation(tree, final, math.sqrt(mse), mse / spread, len(node_rms), node_rms)
