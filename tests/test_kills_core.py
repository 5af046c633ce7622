"""Checks of the numeric core against independent derivations (issue 16).

Each test compares a public function with something computed another way (brute force over
every tree, a closed form integrated numerically, bisection on the teacher's multipliers), so
that a plausible bug in the library changes the answer. They are the library's side of the
mutation tests (``make mutation``, benchmarks/mutation.md).
"""

import math

import pytest
import torch

import lineardistill as ld

F64 = torch.float64


# ------------------------------------------------------------------ shared tree (R13)
def _brute_shared_optimum(sch, lam, ctau, init):
    """Least summed W2 over every tree, and the tree values (trees, d), by enumeration."""
    lam_t = torch.tensor(lam, dtype=F64)
    trees = ld.all_trees(sch.num_steps)
    values = torch.stack([ld.merge_value(t, sch, lam_t, ctau, init) for t in trees])
    return ld.w2(values, sch, lam_t), values, trees


@pytest.mark.parametrize("sch, lam, ctau, init", [
    (ld.Schedule.cosine(6), [1.4, 1.45], 1.0, "warm"),      # both coordinates straddle T
    (ld.Schedule.cosine(6), [1.4, 1.45, 0.5], 1.0, "warm"),
    (ld.Schedule.cosine(6), [1.3, 1.45], 0.7, "teacher"),
    (ld.Schedule.linear(5), [1.2, 3.0, 1.35], 0.5, "warm"),
])
def test_shared_tree_is_the_brute_force_optimum(sch, lam, ctau, init):
    """R13: the Pareto DP's tree attains the least summed W2 over all trees, also for coordinates
    whose tree values fall on both sides of T (neither smaller nor larger is better there)."""
    totals, values, trees = _brute_shared_optimum(sch, lam, ctau, init)
    best = float(totals.min())
    result = ld.pareto_tree(sch, lam, ctau, init)
    lam_t = torch.tensor(lam, dtype=F64)
    # the returned tree's own W2, recomputed from scratch, is the brute-force optimum
    own = float(ld.w2(ld.merge_value(result.tree, sch, lam_t, ctau, init), sch, lam_t))
    assert own == pytest.approx(best, rel=1e-12)
    assert result.w2 == pytest.approx(best, rel=1e-12)


def test_the_mixed_orientation_case_is_what_the_issue_describes():
    """The planted-bug case of issue 16: cosine N = 6, lam = [1.4, 1.45], ctau = 1 (197 trees)."""
    sch, lam = ld.Schedule.cosine(6), [1.4, 1.45]
    totals, values, trees = _brute_shared_optimum(sch, lam, 1.0, "warm")
    assert len(trees) == 197
    T = ld.composite(sch, torch.tensor(lam, dtype=F64))
    # every coordinate has tree values on both sides of T: the case the Pareto test never reached
    assert bool(((values < T).any(0) & (values > T).any(0)).all())
    assert float(totals.min()) == pytest.approx(4.2059e-3, rel=1e-4)
    assert ld.pareto_tree(sch, lam, 1.0).w2 == pytest.approx(float(totals.min()), rel=1e-12)


# ------------------------------------------------------------------ linear schedule
@pytest.mark.parametrize("n", [1, 2, 5, 17, 100])
@pytest.mark.parametrize("bmin, bmax", [(0.1, 20.0), (0.5, 5.0), (0.0, 3.0), (2.0, 2.0)])
def test_linear_schedule_is_the_vp_sde_integrated_numerically(n, bmin, bmax):
    """alpha(s) = exp(-1/2 int_0^s beta(u) du), beta linear from beta_min to beta_max on s in [0, 1].

    The integral is done by the trapezoid rule on a fine grid (exact for a linear integrand up to
    rounding), not by the library's closed form."""
    sch = ld.Schedule.linear(n, bmin, bmax)
    fine = 64
    u = torch.linspace(0, 1, n * fine + 1, dtype=F64)
    beta = bmin + (bmax - bmin) * u
    integral = torch.cat([torch.zeros(1, dtype=F64), torch.cumulative_trapezoid(beta, u)])[::fine]
    alphas = torch.exp(-0.5 * integral)
    torch.testing.assert_close(sch.alphas, alphas, rtol=1e-12, atol=0)
    torch.testing.assert_close(sch.alphas**2 + sch.sigmas**2, torch.ones(n + 1, dtype=F64), rtol=0, atol=4e-16)
    assert float(sch.sigmas[0]) == 0.0 and bool((sch.sigmas[1:] > 0).all())


# ------------------------------------------------------------------ lam > 0 everywhere
_SCH = ld.Schedule.cosine(4)
_TREE = ld.MergeTree.boot(4)
LAM_FUNCTIONS = {
    "denoiser_gain": lambda lam: ld.denoiser_gain(_SCH, lam),
    "denoise": lambda lam: ld.denoise(torch.ones(2), 2, _SCH, lam),
    "teacher_multipliers": lambda lam: ld.teacher_multipliers(_SCH, lam),
    "vector_norms": lambda lam: ld.vector_norms(_SCH, lam),
    "signal_noise_vectors": lambda lam: ld.signal_noise_vectors(_SCH, lam),
    "step_angles": lambda lam: ld.step_angles(_SCH, lam),
    "composite": lambda lam: ld.composite(_SCH, lam),
    "teacher_output_variance": lambda lam: ld.teacher_output_variance(_SCH, lam),
    "run_ddim": lambda lam: ld.run_ddim(torch.ones(2), _SCH, lam),
    "coarse_multipliers": lambda lam: ld.coarse_multipliers(_SCH, lam),
    "training_weights": lambda lam: ld.training_weights(_SCH, lam, 1.0),
    "MergeProblem": lambda lam: ld.MergeProblem(_SCH, lam, 1.0),
    "merge_value": lambda lam: ld.merge_value(_TREE, _SCH, lam, 1.0),
    "merge_block": lambda lam: ld.merge_block([0.9, 0.9], _SCH, lam, 1.0, 2, 4),
    "w2": lambda lam: ld.w2(torch.ones(2), _SCH, lam),
    "interval_dp": lambda lam: ld.interval_dp(_SCH, lam, 1.0),
    "optimal_tree": lambda lam: ld.optimal_tree(_SCH, min(lam) if isinstance(lam, list) else lam, 1.0),
    "pareto_tree": lambda lam: ld.pareto_tree(_SCH, lam if isinstance(lam, list) else [lam], 1.0),
    "classify": lambda lam: ld.classify(_SCH, lam, 1.0),
    "boot_value": lambda lam: ld.boot_value(_SCH, lam, 1.0),
    "one_shot_value": lambda lam: ld.one_shot_value(_SCH, lam, 1.0),
    "gd_weights": lambda lam: ld.gd_weights(_SCH, lam, 1.0, 50),
    "train_tree": lambda lam: ld.train_tree(_TREE, _SCH, lam, 1.0, steps=20, batch_size=4, progress=False),
    "training_tolerance": lambda lam: ld.training_tolerance(_TREE, _SCH, lam, 1.0, steps=20, batch_size=4),
}


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), [1.0, 0.0], [-2.0, 1.0]],
                         ids=["zero", "negative", "nan", "inf", "list-zero", "list-negative"])
@pytest.mark.parametrize("name", sorted(LAM_FUNCTIONS))
def test_every_public_function_refuses_a_variance_that_is_not_positive(name, bad):
    with pytest.raises(ValueError, match="lam"):
        LAM_FUNCTIONS[name](bad)


@pytest.mark.parametrize("name", sorted(LAM_FUNCTIONS))
def test_the_same_functions_accept_a_tiny_positive_variance(name):
    """The refusal above is about the sign, not the size: 1e-6 is a valid variance."""
    out = LAM_FUNCTIONS[name](1e-6)
    assert out is not None


# ------------------------------------------------------------------ lambda_c (R15)
def _step_threshold(sch, j, lo=1e-9, hi=1e9):
    """The variance at which the teacher step j (time j+1 -> j) has r = 1, by bisection in log lam.

    r_t(lam) - 1 changes sign once: it is a ratio of two affine functions of lam."""
    def f(lam):
        return float(ld.teacher_multipliers(sch, lam)[j]) - 1.0
    f_lo, f_hi = f(lo), f(hi)
    assert f_lo < 0 < f_hi, (j, f_lo, f_hi)
    a, b = math.log(lo), math.log(hi)
    for _ in range(200):
        mid = 0.5 * (a + b)
        if f(math.exp(mid)) < 0:
            a = mid
        else:
            b = mid
    return math.exp(0.5 * (a + b))


def _skewed_schedule():
    """A VP schedule whose noise angle moves slowly at first and fast later: the largest
    per-step threshold is not at t = 1."""
    steps = torch.tensor([0.1, 0.1, 0.6, 0.1, 0.1, 0.3], dtype=F64)
    angle = torch.cat([torch.zeros(1, dtype=F64), torch.cumsum(steps, 0)])
    angle = angle / angle[-1] * (math.pi / 2 - 0.05)
    return ld.Schedule(torch.cos(angle), torch.sin(angle), name="skewed")


SCHEDULES = [ld.Schedule.cosine(2), ld.Schedule.cosine(3), ld.Schedule.cosine(9), ld.Schedule.linear(2),
             ld.Schedule.linear(6), ld.Schedule.linear(11, 0.5, 5.0), _skewed_schedule()]


@pytest.mark.parametrize("sch", SCHEDULES, ids=lambda s: f"{s.name}{s.num_steps}")
def test_lambda_c_is_the_largest_threshold_of_the_inner_steps(sch):
    """R15: lambda_c = max over t = 1..N-1 of the variance at which r_t = 1 (the last step
    t = N is excluded); lambda_boot is the least of the same thresholds."""
    n = sch.num_steps
    thresholds = [_step_threshold(sch, j) for j in range(n - 1)]   # steps t = j + 1 = 1..N-1
    assert ld.lambda_c(sch) == pytest.approx(max(thresholds), rel=1e-9)
    assert ld.lambda_boot(sch) == pytest.approx(min(thresholds), rel=1e-9)
    # the defining property, checked on the multipliers themselves
    above = ld.teacher_multipliers(sch, ld.lambda_c(sch) * (1 + 1e-6))[: n - 1]
    below = ld.teacher_multipliers(sch, ld.lambda_c(sch) * (1 - 1e-6))[: n - 1]
    assert bool((above >= 1).all()) and bool((below < 1).any())


def test_the_skewed_schedule_has_its_largest_threshold_inside():
    """Guards the test above: it includes a schedule where the maximum is at neither end."""
    sch = _skewed_schedule()
    thresholds = [_step_threshold(sch, j) for j in range(sch.num_steps - 1)]
    k = max(range(len(thresholds)), key=thresholds.__getitem__)
    assert 0 < k < len(thresholds) - 1


def test_lambda_c_edge_cases():
    assert ld.lambda_c(ld.Schedule.cosine(1)) == 0.0          # no inner step
    assert ld.lambda_c(ld.Schedule.variance_exploding(5)) == math.inf
