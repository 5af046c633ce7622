"""SymPy derivations of the book's identities (theory R1 to R3, R6, R14).

Chapters 1 to 4 of the book derive their formulas with these functions and then
show that the torch code of :mod:`lineardistill.teacher` and
:mod:`lineardistill.student` computes the same thing; chapter 7 uses the
threshold derivation. The identities are those of the linear-Gaussian reading
of DDIM in Gao and Li (2025, arXiv:2505.16024), derived here afresh.

Each ``derive_*`` function returns a SymPy expression obtained from first
principles (not typed in as the answer); each ``check_*`` function proves an
identity by simplification and returns ``True`` (or raises ``AssertionError``
with the residual); ``to_torch`` turns an expression into a callable on torch
tensors so the book can show that the library computes the same thing.

>>> check_warm_start(2)
True
"""

from __future__ import annotations

import sympy as sp
import torch

# Symbols shared by the derivations: data variance, schedule values at the
# current time t and the previous (less noisy) time t-1.
lam = sp.Symbol("lambda", positive=True)
alpha_t, sigma_t = sp.symbols("alpha_t sigma_t", positive=True)
# Named so that LaTeX shows \alpha_{t-1}, \sigma_{t-1} (SymPy splits the name at the first "_").
alpha_p, sigma_p = sp.symbols("alpha_t-1 sigma_t-1", positive=True)
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


# ------------------------------------------------------------- R14, R15
w_sym, a_sym, b_sym = sp.symbols("w a b", real=True)


def derive_merge_gap():
    """R14: merging two steps one at a time minus merging them at once, factored.

    ``(w + (1-w) a)(w + (1-w) b) - (w + (1-w) a b)``: the left product is two
    warm-started merges in sequence, the right one merge of the product.
    """
    sequential = (w_sym + (1 - w_sym) * a_sym) * (w_sym + (1 - w_sym) * b_sym)
    at_once = w_sym + (1 - w_sym) * a_sym * b_sym
    return sp.factor(sp.expand(sequential - at_once))


def check_merge_gap() -> bool:
    """R14 as printed: the gap equals ``-w (1-w)(1-a)(1-b)``."""
    target = -w_sym * (1 - w_sym) * (1 - a_sym) * (1 - b_sym)
    return _prove_zero(derive_merge_gap() - target, "R14 (merge lemma)")


def derive_step_threshold():
    """R15: the variance at which one teacher step has ``r_t = 1``, solved from R2.

    Returns the unique solution ``lam`` of ``r_t(lam) = 1`` (for ``alpha_{t-1} > alpha_t``).
    """
    r = derive_ddim_multiplier()
    solutions = sp.solve(sp.Eq(sp.numer(sp.together(r - 1)), 0), lam)
    if len(solutions) != 1:
        raise AssertionError(f"expected one threshold, got {solutions}")
    return sp.simplify(solutions[0])


def check_step_threshold() -> bool:
    """R15 as printed: ``lam = sigma_t (sigma_t - sigma_{t-1}) / (alpha_t (alpha_{t-1} - alpha_t))``."""
    target = sigma_t * (sigma_t - sigma_p) / (alpha_t * (alpha_p - alpha_t))
    return _prove_zero(derive_step_threshold() - target, "R15 (step threshold)")


# ---------------------------------------------------------------- R6, R7
# Student training as a gradient flow (section 3 of the theory). Symbols: the
# student's multiplier S(tau), the target product C, the start S0, the
# learning rate eta, the curvature q = ||v_t||^2 = E z_t^2, and the budget.
tau_sym, eta_sym = sp.symbols("tau eta", positive=True)
q_sym = sp.Symbol("q", positive=True)
s0_sym, c_sym = sp.symbols("S_0 C", real=True)
ctau_sym = sp.Symbol("c_tau", nonnegative=True)


def student_loss():
    """R6: ``L(S) = 1/2 E (S z - C z)^2`` with ``E z^2 = q``, as a SymPy expression in ``S``."""
    S = sp.Symbol("S", real=True)
    zz = sp.Symbol("z_t", real=True)
    integrand = sp.expand(sp.Rational(1, 2) * (S * zz - c_sym * zz) ** 2)
    # expectation over z_t ~ N(0, q): replace z^2 by q (the integrand is a multiple of z^2)
    return S, sp.simplify(integrand.subs(zz**2, q_sym))


def derive_gradient_flow():
    """R6: solve ``dS/dtau = -eta dL/dS``, ``S(0) = S_0``, with ``sympy.dsolve``; returns ``S(tau)``."""
    S_var, loss = student_loss()
    S = sp.Function("S")
    grad = sp.diff(loss, S_var).subs(S_var, S(tau_sym))
    ode = sp.Eq(S(tau_sym).diff(tau_sym), -eta_sym * grad)
    solution = sp.dsolve(ode, S(tau_sym), ics={S(0): s0_sym})
    return sp.simplify(solution.rhs)


def check_gradient_flow() -> bool:
    """R6 as printed: ``S(tau) = w S_0 + (1 - w) C`` with ``w = exp(-eta tau q)`` (budget ``c tau = eta tau``)."""
    w = sp.exp(-eta_sym * tau_sym * q_sym)
    _prove_zero(derive_gradient_flow() - (w * s0_sym + (1 - w) * c_sym), "R6 (gradient flow)")
    # in the budget variable: one parameter ctau = eta * tau
    in_budget = derive_gradient_flow().subs(tau_sym, ctau_sym / eta_sym)
    w_budget = sp.exp(-ctau_sym * q_sym)
    return _prove_zero(in_budget - (w_budget * s0_sym + (1 - w_budget) * c_sym), "R6 (budget form)")


def derive_warm_start(num_children: int = 3):
    """R7: the warm-started merge of ``m`` children ``c_1 .. c_m`` (``S_0 = c_1``), factored."""
    m = int(num_children)
    if m < 2:
        raise ValueError(f"num_children must be >= 2, got {num_children}")
    kids = sp.symbols(f"c_1:{m + 1}", positive=True)
    flow = derive_gradient_flow()
    w = sp.exp(-eta_sym * tau_sym * q_sym)
    merged = flow.subs({s0_sym: kids[0], c_sym: sp.Mul(*kids)})
    return kids, sp.factor(sp.simplify(merged.subs(w, w_sym)))


def check_warm_start(num_children: int = 3) -> bool:
    """R7 as printed: ``m = c_1 (w + (1 - w) c_2 ... c_m)``."""
    kids, merged = derive_warm_start(num_children)
    w = sp.exp(-eta_sym * tau_sym * q_sym)
    target = kids[0] * (w + (1 - w) * sp.Mul(*kids[1:]))
    return _prove_zero(merged.subs(w_sym, w) - target, "R7 (warm start)")
