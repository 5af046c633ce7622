"""The input boundary of issue 10: hostile and extreme inputs, one table per kind.

Each row is an input that the library accepted silently, answered with a raw
error (OverflowError, NotImplementedError, AssertionError, allocation errors),
or turned into NaN/inf before issue 10. Now each must either raise ValueError
or TypeError naming the parameter (``BAD``), or return finite, correct numbers
(``FINITE``, each checked against a second route). The command-line rows live
in ``tests/test_cli.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lineardistill as ld
from lineardistill import _checks, mixture, spectra, training, trees
from lineardistill.problem import MergeProblem
from lineardistill.schedule import Schedule

S4 = Schedule.cosine(4)
TREE = "(((4,3),2),1)"
HUGE = 10**400


def _case(call, exc, name, id_):
    return pytest.param(call, exc, name, id=id_)


def _meta():
    return torch.empty(2, device="meta")


def _sparse():
    return torch.tensor([1.0, 2.0]).to_sparse()


BAD = [
    # accepted silently before: booleans and complex values
    _case(lambda: ld.teacher_multipliers(S4, np.array([True, False])), TypeError, "lam", "numpy-bool-array"),
    _case(lambda: ld.teacher_multipliers(S4, [True, True]), TypeError, "lam", "list-of-bools"),
    _case(lambda: ld.teacher_multipliers(S4, [[1.0, True]]), TypeError, "lam", "nested-list-with-bool"),
    _case(lambda: ld.teacher_multipliers(S4, np.bool_(True)), TypeError, "lam", "numpy-bool-scalar"),
    _case(lambda: ld.teacher_multipliers(S4, torch.tensor([True])), TypeError, "lam", "torch-bool"),
    _case(lambda: ld.teacher_multipliers(S4, np.array([1 + 1j])), TypeError, "lam", "numpy-complex-array"),
    _case(lambda: ld.teacher_multipliers(S4, [1 + 0j]), TypeError, "lam", "list-of-complex"),
    _case(lambda: ld.teacher_multipliers(S4, np.complex128(2.0)), TypeError, "lam", "numpy-complex-scalar"),
    _case(lambda: ld.teacher_multipliers(S4, 2 + 0j), TypeError, "lam", "python-complex"),
    _case(lambda: ld.training_weights(S4, 1.0, np.array(["1"])), TypeError, "ctau", "numpy-strings"),
    _case(lambda: ld.training_weights(S4, 1.0, np.array([1.0], dtype=object)), TypeError, "ctau", "numpy-object"),
    _case(lambda: ld.merge_value(TREE, S4, 1.0, [1.0, None]), TypeError, "ctau", "list-with-none"),
    # raw errors before: huge ints, sparse and meta tensors
    _case(lambda: ld.teacher_multipliers(S4, HUGE), ValueError, "lam", "huge-int"),
    _case(lambda: ld.teacher_multipliers(S4, [1.0, HUGE]), ValueError, "lam", "huge-int-in-list"),
    _case(lambda: ld.training_weights(S4, 1.0, -HUGE), ValueError, "ctau", "huge-negative-int"),
    _case(lambda: Schedule.cosine(10**30), ValueError, "num_steps", "schedule-huge-int"),
    _case(lambda: ld.teacher_multipliers(S4, _sparse()), TypeError, "lam", "sparse-tensor"),
    _case(lambda: ld.teacher_multipliers(S4, _meta()), TypeError, "lam", "meta-tensor"),
    _case(lambda: ld.merge_value(TREE, S4, 1.0, _meta()), TypeError, "ctau", "meta-ctau"),
    _case(lambda: _checks.as_float(10**400, "x"), ValueError, "x", "as-float-huge-int"),
    _case(lambda: _checks.as_int(np.bool_(True), "n"), TypeError, "n", "as-int-numpy-bool"),
    # devices
    _case(lambda: training.train_tree(TREE, S4, 1.0, 1.0, device="gpu0", progress=False), ValueError, "device",
          "device-unknown-string"),
    _case(lambda: training.train_tree(TREE, S4, 1.0, 1.0, device=3.5, progress=False), TypeError, "device",
          "device-float"),
    _case(lambda: training.train_tree(TREE, S4, 1.0, 1.0, device="meta", progress=False), ValueError, "device",
          "device-meta"),
    _case(lambda: training.train_block([1.0], S4, 1.0, 1.0, 0, 1, device="tpu"), ValueError, "device",
          "train-block-device"),
    # not validated before
    _case(lambda: trees.w2(1.0, S4, 1.0, dim=5), ValueError, "dim", "w2-dim-out-of-range"),
    _case(lambda: trees.w2([1.0, 2.0], S4, [1.0, 2.0], dim=-2), ValueError, "dim", "w2-dim-negative-range"),
    _case(lambda: trees.MergeTree.parse("(4,3)", allow_subtree="yes"), TypeError, "allow_subtree",
          "parse-allow-subtree-string"),
    _case(lambda: trees.MergeTree.parse("(4,3)", allow_subtree=1), TypeError, "allow_subtree",
          "parse-allow-subtree-int"),
    _case(lambda: trees.MergeTree.named("boot", 4, segments=2), TypeError, "segments", "named-extra-kwarg"),
    _case(lambda: mixture.GatedAffine("a", "b", "c", "d", "e"), TypeError, "quad", "gated-affine-strings"),
    _case(lambda: mixture.GatedAffine(torch.zeros(1, 2, 1, 1), torch.zeros(1, 2, 1), torch.zeros(1, 3),
                                      torch.zeros(1, 2, 1, 1), torch.zeros(1, 2, 1)), ValueError, "lin",
          "gated-affine-shapes"),
    _case(lambda: mixture.GatedAffine(torch.zeros(1, 2, 1, 1), torch.zeros(1, 2, 1), torch.zeros(1, 2),
                                      torch.full((1, 2, 1, 1), float("nan")), torch.zeros(1, 2, 1)), ValueError,
          "slopes", "gated-affine-nan"),
    _case(lambda: training.training_tolerance(TREE, S4, [1.0, 2.0], [1.0, 2.0, 3.0], steps=10, batch_size=10),
          ValueError, "ctau", "tolerance-broadcast"),
    _case(lambda: training.training_tolerance(TREE, S4, 1.0, 1.0, steps=10, batch_size=10, num_sigmas=-1.0),
          ValueError, "num_sigmas", "tolerance-num-sigmas-negative"),
    _case(lambda: training.training_tolerance(TREE, S4, 1.0, 1.0, steps=10, batch_size=10, num_sigmas=math.nan),
          ValueError, "num_sigmas", "tolerance-num-sigmas-nan"),
    _case(lambda: training.training_tolerance(TREE, S4, 1.0, 1.0, steps=10, batch_size=10, num_sigmas="5"),
          TypeError, "num_sigmas", "tolerance-num-sigmas-string"),
    _case(lambda: training.train_tree(TREE, S4, 1.0, 1.0, resample=1, progress=False), TypeError, "resample",
          "train-resample-int"),
    _case(lambda: training.train_tree(TREE, S4, 1.0, 1.0, seed=2**70, progress=False), ValueError, "seed",
          "train-seed-huge"),
    _case(lambda: ld.merge_block([0.9], S4, 1.0, 1.0, 3, 2), ValueError, "s", "merge-block-s-above-t"),
    _case(lambda: ld.merge_block([0.9], S4, 1.0, 1.0), TypeError, "t", "merge-block-no-t"),
    _case(lambda: MergeProblem.of(MergeProblem(S4, 1.0, 1.0), lam=2.0), ValueError, "lam", "problem-twice"),
    _case(lambda: MergeProblem.of(S4, 1.0), TypeError, "ctau", "problem-missing-ctau"),
    _case(lambda: MergeProblem(S4, 1.0, 1.0, init="hot"), ValueError, "init", "problem-init"),
    _case(lambda: Schedule.named("quadratic", 4), ValueError, "name", "schedule-name-unknown"),
    _case(lambda: Schedule.named(3, 4), ValueError, "name", "schedule-name-int"),
    # NaN / inf that escaped before
    _case(lambda: trees.shrinkage(1.0, 1e-320), ValueError, "T", "shrinkage-subnormal-T"),
    _case(lambda: trees.shrinkage(1e300, 1e-300), ValueError, "T", "shrinkage-overflow"),
    _case(lambda: training.gd_weights(S4, 1.0, 1e300, 2), ValueError, "steps", "gd-weights-diverges"),
    _case(lambda: spectra.power_law_spectrum(4, exponent=1000.0), ValueError, "exponent", "power-law-underflow"),
    _case(lambda: spectra.power_law_spectrum(4, scale=1e308, exponent=-1.0), ValueError, "exponent",
          "power-law-overflow"),
    _case(lambda: spectra.log_uniform_spectrum(4, low=1e-320, high=1e-310), ValueError, "low", "log-uniform-subnormal"),
    _case(lambda: spectra.covariance_spectrum(np.random.default_rng(0).random((5, 3)) * 1e200), ValueError, "data",
          "covariance-overflow"),
    _case(lambda: spectra.covariance_spectrum(np.eye(3) * 1e-200), ValueError, "data", "covariance-underflow"),
    _case(lambda: mixture.mixture_denoise(torch.tensor([[1e300]], dtype=torch.float64), 0, S4,
                                          mixture.GaussianMixture.scalar([0.5, 0.5], [0.0, 1.0], [1e-30, 1e-30])),
          ValueError, "z", "mixture-z-too-large"),
    # size and time guards instead of minutes of work or raw allocation errors
    _case(lambda: trees.count_trees(10**6), ValueError, "MAX_COUNT_STEPS", "count-trees-million"),
    _case(lambda: Schedule.cosine(10**12), ValueError, "MAX_NUM_STEPS", "schedule-trillion-steps"),
    _case(lambda: Schedule.linear(10**9), ValueError, "num_steps", "linear-billion-steps"),
    _case(lambda: Schedule.named("ve", 10**8), ValueError, "num_steps", "ve-hundred-million-steps"),
    _case(lambda: ld.teacher_multipliers(Schedule.cosine(10**6), torch.ones(10**3)), ValueError, "MAX_ELEMENTS",
          "teacher-table-too-large"),
    _case(lambda: MergeProblem(Schedule.cosine(10**5), torch.ones(10**4), 1.0), ValueError, "MAX_ELEMENTS",
          "problem-too-large"),
    _case(lambda: ld.log_composites(Schedule.cosine(10**5), 1.0), ValueError, "MAX_ELEMENTS",
          "log-composites-too-large"),
    _case(lambda: ld.coarse_multipliers(Schedule.cosine(10**5), 1.0), ValueError, "MAX_ELEMENTS",
          "coarse-table-too-large"),
    _case(lambda: spectra.power_law_spectrum(10**12), ValueError, "MAX_ELEMENTS", "spectrum-too-large"),
]


@pytest.mark.parametrize("call, exc, name", BAD)
def test_bad_input_is_refused_naming_the_parameter(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert type(info.value) is exc
    message = str(info.value)
    assert name in message, f"the message does not name {name!r}: {message}"
    assert len(message) < 600 and "\n" not in message


def test_long_inputs_give_short_messages():
    text = "(" * 10**7  # a 10 MB tree string
    with pytest.raises(ValueError) as info:
        trees.MergeTree.parse(text + "x")
    assert len(str(info.value)) < 300
    with pytest.raises(ValueError) as info:
        trees.MergeTree.parse("(4,3,2,1" + "9" * 100_000)
    assert len(str(info.value)) < 300
    with pytest.raises(TypeError) as info:
        ld.teacher_multipliers(S4, "1" * 10**7)
    assert len(str(info.value)) < 300
    deep = trees.MergeTree.boot(5000)
    with pytest.raises(ValueError) as info:
        trees.MergeTree.node([deep, trees.MergeTree.leaf(7)])
    assert len(str(info.value)) < 400


def test_cuda_request_without_a_gpu_is_a_clear_value_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the request is valid here")
    for call in (lambda: training.train_tree(TREE, S4, 1.0, 1.0, device="cuda", progress=False),
                 lambda: training.train_block([1.0], S4, 1.0, 1.0, 0, 1, device=torch.device("cuda:0"))):
        with pytest.raises(ValueError, match="CUDA is not available"):
            call()


# ---------------------------------------------------------------- finite where NaN/inf escaped
def test_log_composites_has_no_nan_when_a_step_erases_the_signal():
    table = ld.log_composites(Schedule.cosine(1), [1.0, 2.0])
    assert not bool(torch.isnan(table).any())
    assert torch.equal(table[:, 0, 1], torch.full((2,), -math.inf, dtype=torch.float64))  # T(0, 1) = r_1 = 0
    assert bool((table[:, 1, 1] == 0).all()) and bool((table[:, 0, 0] == 0).all())
    big = ld.log_composites(Schedule.cosine(6), 0.7)
    torch.testing.assert_close(big[..., 0, 6], torch.log(ld.composite(Schedule.cosine(6), 0.7)))


def test_training_tolerance_is_zero_not_nan_without_training():
    for init in ("zero", "identity", "warm", "teacher", "coarse"):
        tol = training.training_tolerance(TREE, S4, [0.5, 2.0], 0.0, steps=10, batch_size=10, init=init)
        assert torch.equal(tol, torch.zeros(2, dtype=torch.float64)), init
    # with training, the zero start gives a positive finite bound
    tol = training.training_tolerance(TREE, S4, [0.5, 2.0], 1.0, steps=100, batch_size=64, init="zero")
    assert bool(torch.isfinite(tol).all() and (tol > 0).all())


@pytest.mark.parametrize("steps", [10**6, 10**12, 10**17, 10**30])
def test_gd_weights_for_huge_step_counts_reach_the_gradient_flow(steps):
    w_gd = training.gd_weights(S4, [0.5, 3.0], 1.0, steps)
    w = ld.training_weights(S4, [0.5, 3.0], 1.0)
    torch.testing.assert_close(w_gd, w, rtol=1e-5, atol=0)  # exp(-1) = 0.368 at lam = 1, not 1.0
    assert abs(float(training.gd_weights(Schedule.cosine(2), 1.0, 1.0, 10**17)[-1]) - math.exp(-1)) < 1e-9


def test_gd_weights_small_steps_match_the_power_and_the_overshoot_sign():
    lam, ctau, n = 2.0, 3.0, 4
    q = ld.vector_norms(S4, lam) ** 2
    torch.testing.assert_close(training.gd_weights(S4, lam, ctau, n), (1 - ctau / n * q) ** n, rtol=1e-12, atol=1e-15)
    w = training.gd_weights(S4, 4.0, 3.0, 1)    # eta ||v||^2 > 1: one overshooting step, a negative weight
    torch.testing.assert_close(w, 1 - 3.0 * ld.vector_norms(S4, 4.0) ** 2, rtol=1e-12, atol=0)


@pytest.mark.parametrize("z", [1e150, 1e155, 1e200, 1e300])
def test_mixture_teacher_stays_finite_for_huge_latents(z):
    mix = mixture.example_mixture()
    zt = torch.tensor([[z], [-z]], dtype=torch.float64)
    gamma = mixture.responsibilities(zt, 2, S4, mix)
    assert bool(torch.isfinite(gamma).all()) and torch.allclose(gamma.sum(-1), torch.ones(2, dtype=torch.float64))
    step = mixture.mixture_step(zt, 2, S4, mix)
    # far out one component wins, so the step is that component's affine map: compare at 1e150 (no overflow)
    ref = mixture.mixture_step(torch.tensor([[1e150], [-1e150]], dtype=torch.float64), 2, S4, mix)
    torch.testing.assert_close(step / z, ref / 1e150, rtol=1e-9, atol=0)


def test_mixture_gates_unchanged_for_ordinary_latents():
    """The overflow-free form gives the softmax of the plain quadratic scores (checked by hand here)."""
    mix = mixture.example_mixture()
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)[:, None]
    t = 2
    a, s = S4.alphas[t], S4.sigmas[t]
    var = a**2 * mix.covariances[:, 0, 0] + s**2
    score = torch.log(mix.weights) - 0.5 * torch.log(var) - 0.5 * (z - a * mix.means[:, 0]) ** 2 / var
    torch.testing.assert_close(mixture.responsibilities(z, t, S4, mix), torch.softmax(score, -1), rtol=1e-12,
                               atol=1e-15)


def test_step_lipschitz_is_finite_far_out():
    mix = mixture.example_mixture()
    far = mixture.step_lipschitz(S4, mix, -1e160, 1e160, num_points=401)
    assert bool(torch.isfinite(far).all() and (far > 0).all())


def test_teacher_and_problem_agree_on_large_but_allowed_sizes():
    sch = Schedule.cosine(10_000)
    p = MergeProblem(sch, [1e-6, 1.0, 1e6], 1e6)
    assert bool(torch.isfinite(p.T).all() and torch.isfinite(p.w).all())
    torch.testing.assert_close(p.T, ld.composite(sch, [1e-6, 1.0, 1e6]))


def test_count_trees_below_the_guard_is_exact_and_fast():
    import time

    start = time.perf_counter()
    value = trees.count_trees(trees.MAX_COUNT_STEPS)
    assert time.perf_counter() - start < 30   # about 0.3 s alone; generous for a loaded machine
    assert value > 0 and value.bit_length() > trees.MAX_COUNT_STEPS * 2


def test_the_bad_input_tables_are_counted():
    """The note of issue 10 reports this number; it must not shrink unnoticed."""
    assert len(BAD) >= 60


def test_twin_constants_are_one_value():
    from lineardistill import dp, phase, problem

    import inspect
    import re

    assert trees.MAX_ENUMERATION_STEPS == dp.ENUMERATION_MAX_STEPS
    assert problem.TOLERANCE == phase.TOLERANCE
    # each constant is written as a number in one module only; the others import or alias it
    literal = {name: [m.__name__ for m in (trees, dp, phase, problem)
                      if re.search(rf"^{name}\s*=\s*[0-9]", inspect.getsource(m), re.M)]
               for name in ("TOLERANCE", "MAX_ENUMERATION_STEPS", "ENUMERATION_MAX_STEPS")}
    assert literal == {"TOLERANCE": ["lineardistill.problem"], "MAX_ENUMERATION_STEPS": ["lineardistill.trees"],
                       "ENUMERATION_MAX_STEPS": []}


@pytest.mark.parametrize("call, name", [
    (lambda: trees.MergeTree.boot(10**9), "MAX_TREE_STEPS"),
    (lambda: trees.MergeTree.vanilla(10**7), "MAX_TREE_STEPS"),
    (lambda: trees.MergeTree.named("progressive", 10**12), "MAX_TREE_STEPS"),
    (lambda: training.train_tree(TREE, S4, 1.0, 1.0, steps=10**9, batch_size=10**4, progress=False),
     "MAX_TRAINING_WORK"),
    (lambda: training.train_block([1.0], S4, torch.ones(10**4), 1.0, 0, 1, steps=10**6, batch_size=10**4),
     "MAX_TRAINING_WORK"),
], ids=["boot-billion", "vanilla-ten-million", "progressive-trillion", "train-tree-forever", "train-block-forever"])
def test_size_and_time_guards_say_the_cost_and_the_override(call, name):
    with pytest.raises(ValueError, match=name) as info:
        call()
    assert "raise lineardistill." in str(info.value)
