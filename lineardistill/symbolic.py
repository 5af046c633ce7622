"""SymPy derivations of the book's identities.

Each ``derive_*`` function returns a SymPy expression obtained from first
principles (not typed in as the answer); each ``check_*`` function proves an
identity by simplification and returns ``True`` (or raises ``AssertionError``
with the residual); ``to_torch`` turns an expression into a callable on torch
tensors so the book can show that the library computes the same thing.
"""

from __future__ import annotations

import sympy as sp
import torch

# Symbols shared by the derivations: data variance, schedule values at the
# current time t and the previous (less noisy) time t-1.
lam = sp.Symbol("lambda", positive=True)
alpha_t, sigma_t = sp.symbols("alpha_t sigma_t", positive=True)
alpha_p, sigma_p = sp.symbols("alpha_{t-1} sigma_{t-1}", positive=True)
z = sp.Symbol("z", real=True)

_TORCH_FUNCTIONS = {
    "sqrt": torch.sqrt, "exp": torch.exp, "log": torch.log, "cos": torch.cos,
    "sin": torch.sin, "atan2": torch.atan2, "Abs": torch.abs,
}


def _prove_zero(residual, what: str) -> bool:
    residual = sp.simplify(residual)
    if residual != 0:
        raise AssertionError(f"{what} does not hold: residual {residual}")
    return True


def to_torch(expr, symbols):
    """Compile ``expr`` into a function of torch tensors with arguments ``symbols`` (in order)."""
    return sp.lambdify(list(symbols), expr, modules=[_TORCH_FUNCTIONS, "math"])


# --------------------------------------------------------------------- R1
def derive_denoiser():
    """R1 by Gaussian conditioning: ``E[x_0 | z_t] = Cov(x_0, z_t) / Var(z_t) * z_t``.

    ``z_t = alpha_t x_0 + sigma_t eps`` with independent ``x_0 ~ N(0, lam)`` and
    ``eps ~ N(0, 1)``; the covariances are computed from that definition by
    expanding expectations of products of independent zero-mean variables.
    """
    x0, eps = sp.symbols("x_0 epsilon")
    # E[x0^i eps^j] = E[x0^i] E[eps^j] by independence; zero-mean Gaussian moments up to order 2.
    moment_x0, moment_eps = {0: 1, 1: 0, 2: lam}, {0: 1, 1: 0, 2: 1}

    def expect(expr):
        poly = sp.Poly(sp.expand(expr), x0, eps)
        return sum((coeff * moment_x0[i] * moment_eps[j] for (i, j), coeff in poly.terms()), sp.Integer(0))

    z_t = alpha_t * x0 + sigma_t * eps
    return sp.simplify(expect(x0 * z_t) / expect(z_t**2)) * z


def check_denoiser() -> bool:
    """R1 as printed in the theory: ``alpha_t lam / (alpha_t^2 lam + sigma_t^2) z``."""
    target = alpha_t * lam / (alpha_t**2 * lam + sigma_t**2) * z
    return _prove_zero(derive_denoiser() - target, "R1 (optimal denoiser)")


# --------------------------------------------------------------------- R2
def derive_ddim_multiplier():
    """R2: plug R1 into the DDIM update and read off ``r_t = z_{t-1} / z_t``.

    ``x0_hat = D(z)``, ``eps_hat = (z - alpha_t x0_hat) / sigma_t``,
    ``z_{t-1} = alpha_{t-1} x0_hat + sigma_{t-1} eps_hat``.
    """
    x0_hat = derive_denoiser()
    eps_hat = (z - alpha_t * x0_hat) / sigma_t
    z_prev = alpha_p * x0_hat + sigma_p * eps_hat
    return sp.factor(sp.simplify(z_prev / z))


def check_ddim_multiplier() -> bool:
    """R2 as printed: ``(alpha_{t-1} alpha_t lam + sigma_{t-1} sigma_t) / (alpha_t^2 lam + sigma_t^2)``."""
    target = (alpha_p * alpha_t * lam + sigma_p * sigma_t) / (alpha_t**2 * lam + sigma_t**2)
    return _prove_zero(derive_ddim_multiplier() - target, "R2 (DDIM multiplier)")


# --------------------------------------------------------------------- R3
def signal_noise_vector(alpha, sigma):
    """R3: ``v = (alpha sqrt(lam), sigma)`` as a SymPy column vector."""
    return sp.Matrix([alpha * sp.sqrt(lam), sigma])


def check_projection_identity() -> bool:
    """R3: ``r_t = <v_{t-1}, v_t> / ||v_t||^2 = (||v_{t-1}|| / ||v_t||) cos(theta_t)``.

    Also proves ``||v_t||^2 = Var(z_t)`` and, under VP, ``||v_t||^2 = 1 + alpha_t^2 (lam - 1)``.
    """
    v_prev, v_now = signal_noise_vector(alpha_p, sigma_p), signal_noise_vector(alpha_t, sigma_t)
    norm_prev, norm_now = sp.sqrt(v_prev.dot(v_prev)), sp.sqrt(v_now.dot(v_now))
    cos_theta = v_prev.dot(v_now) / (norm_prev * norm_now)
    r_t = derive_ddim_multiplier()
    _prove_zero(r_t - v_prev.dot(v_now) / v_now.dot(v_now), "R3 (projection form)")
    _prove_zero(r_t - norm_prev / norm_now * cos_theta, "R3 (rescaling times cosine)")
    _prove_zero(v_now.dot(v_now) - (alpha_t**2 * lam + sigma_t**2), "R3 (norm is the variance of z_t)")
    vp_norm = v_now.dot(v_now).subs(sigma_t, sp.sqrt(1 - alpha_t**2))
    return _prove_zero(vp_norm - (1 + alpha_t**2 * (lam - 1)), "R3 (VP norm)")


def angle_cosine():
    """``cos(theta_t)`` between ``v_{t-1}`` and ``v_t`` as an expression."""
    v_prev, v_now = signal_noise_vector(alpha_p, sigma_p), signal_noise_vector(alpha_t, sigma_t)
    return v_prev.dot(v_now) / sp.sqrt(v_prev.dot(v_prev) * v_now.dot(v_now))


# --------------------------------------------------------------------- R5
def derive_teacher_variance(num_steps: int):
    """R5 for a symbolic schedule of ``num_steps`` steps: ``T^2 ||v_N||^2 / lam``.

    Returns ``(ratio, cosines)`` where ``ratio`` is the teacher's output variance
    divided by ``lam`` written through the multipliers, and ``cosines`` the list
    of ``cos(theta_t)`` expressions for ``t = 1..N``.
    """
    if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    a = sp.symbols(f"a_0:{num_steps + 1}", positive=True)
    s = sp.symbols(f"s_0:{num_steps + 1}", positive=True)
    vs = [signal_noise_vector(a[t], s[t]) for t in range(num_steps + 1)]
    multipliers = [vs[t - 1].dot(vs[t]) / vs[t].dot(vs[t]) for t in range(1, num_steps + 1)]
    cosines = [vs[t - 1].dot(vs[t]) / sp.sqrt(vs[t - 1].dot(vs[t - 1]) * vs[t].dot(vs[t]))
               for t in range(1, num_steps + 1)]
    total = sp.Mul(*multipliers)
    ratio = total**2 * vs[-1].dot(vs[-1]) / vs[0].dot(vs[0])
    return ratio, cosines, (a, s)


def check_teacher_variance(num_steps: int = 3) -> bool:
    """R5: the teacher's output variance is ``lam prod cos^2(theta_t)`` (proved for ``num_steps``).

    ``a_0 = 1, s_0 = 0`` (data at t = 0) is substituted so that ``||v_0||^2 = lam``.
    """
    ratio, cosines, (a, s) = derive_teacher_variance(num_steps)
    at_data = {a[0]: 1, s[0]: 0}
    product = sp.Mul(*[c**2 for c in cosines])
    return _prove_zero(sp.simplify(ratio.subs(at_data) - product.subs(at_data)), "R5 (teacher variance)")
