"""lineardistill.grading: checks that compare a student's function with the library's."""

import math

import pytest
import sympy as sp
import torch

import lineardistill as ld
from lineardistill import grading, symbolic


def draw_schedule_and_lam(gen):
    return {"schedule": grading.random_schedule(gen, 1, 10),
            "lam": grading.log_uniform(gen, 1e-2, 1e2, grading.random_shape(gen))}


def multipliers_from_sympy(schedule, lam):
    """An independent 'student': R2 compiled from the SymPy derivation, not from teacher.py."""
    f = symbolic.to_torch(symbolic.derive_ddim_multiplier(),
                          [symbolic.alpha_p, symbolic.alpha_t, symbolic.sigma_p, symbolic.sigma_t, symbolic.lam])
    lam = torch.as_tensor(lam, dtype=torch.float64)[..., None]
    a, s = schedule.alphas, schedule.sigmas
    return f(a[:-1], a[1:], s[:-1], s[1:], lam) * torch.ones_like(lam)


def swapped_denominator(schedule, lam):
    lam = torch.as_tensor(lam, dtype=torch.float64)[..., None]
    a, s = schedule.alphas, schedule.sigmas
    return (a[:-1] * a[1:] * lam + s[:-1] * s[1:]) / (s[1:] ** 2 * lam + a[1:] ** 2)


def test_correct_function_passes_with_full_points():
    result = grading.check_function(multipliers_from_sympy, ld.teacher_multipliers, draw_schedule_and_lam,
                                    name="ddim", points=3, trials=15)
    assert result.passed and bool(result)
    assert result.points == 3 and result.max_points == 3
    assert result.failures == 0 and result.trials == 15
    assert "PASSED check 'ddim'" in result.feedback and "15 random inputs (seed 0)" in result.feedback
    result.assert_passed()  # does not raise


def test_wrong_function_fails_with_feedback_naming_input_expected_and_got():
    result = grading.check_function(swapped_denominator, ld.teacher_multipliers, draw_schedule_and_lam,
                                    name="ddim", points=3, trials=15)
    assert not result.passed and result.points == 0 and result.max_points == 3
    assert 0 < result.failures <= 15
    text = result.feedback
    assert text.startswith("FAILED check 'ddim' [0/3 points]")
    assert "schedule = Schedule(" in text and "lam = tensor of shape" in text
    assert "expected" in text and "got" in text and "largest difference" in text
    with pytest.raises(AssertionError, match="FAILED check 'ddim'"):
        result.assert_passed()


def test_the_reported_input_really_fails_and_the_count_is_right():
    """Replay the draws: the failure count and the first failing input must match a direct comparison."""
    gen = torch.Generator().manual_seed(4)
    bad = []
    for i in range(12):
        kwargs = draw_schedule_and_lam(gen)
        if not torch.allclose(swapped_denominator(**kwargs), ld.teacher_multipliers(**kwargs), rtol=1e-9, atol=1e-12):
            bad.append((i + 1, kwargs))
    result = grading.check_function(swapped_denominator, ld.teacher_multipliers, draw_schedule_and_lam,
                                    name="x", trials=12, seed=4)
    assert result.failures == len(bad) > 0
    assert f"the first was input {bad[0][0]}:" in result.feedback
    assert f"num_steps={bad[0][1]['schedule'].num_steps}" in result.feedback


def test_exceptions_in_student_code_are_reported_not_raised():
    def broken(schedule, lam):
        return torch.as_tensor(lam) / 0 if False else {}["missing"]

    result = grading.check_function(broken, ld.teacher_multipliers, draw_schedule_and_lam, name="boom", trials=3)
    assert not result.passed and result.failures == 3
    assert "your function raised KeyError: 'missing'" in result.feedback
    assert "in broken" in result.feedback


def test_shape_and_nan_mistakes_are_named():
    def no_broadcast(schedule, lam):
        return ld.teacher_multipliers(schedule, lam).flatten()

    def nan_result(schedule, lam):
        out = ld.teacher_multipliers(schedule, lam).clone()
        out[..., 0] = math.nan
        return out

    def draw(gen):
        return {"schedule": ld.Schedule.cosine(4), "lam": grading.log_uniform(gen, 0.1, 10, (2, 3))}

    shape = grading.check_function(no_broadcast, ld.teacher_multipliers, draw, name="s", trials=2)
    assert not shape.passed and "shape (2, 3, 4) but got shape (24,)" in shape.feedback
    nan = grading.check_function(nan_result, ld.teacher_multipliers, draw, name="n", trials=2)
    assert not nan.passed and "NaN or infinity" in nan.feedback


def test_tolerance_is_relative_and_not_loose():
    def off(schedule, lam):
        return ld.teacher_multipliers(schedule, lam) * (1 + 1e-6)

    assert not grading.check_function(off, ld.teacher_multipliers, draw_schedule_and_lam, name="t").passed
    assert grading.check_function(off, ld.teacher_multipliers, draw_schedule_and_lam, name="t", rtol=1e-5).passed


def test_same_seed_same_inputs_and_inputs_are_copied():
    seen = {0: [], 1: []}

    def spy(run):
        def student(schedule, lam):
            seen[run].append(lam.clone())
            value = ld.teacher_multipliers(schedule, lam)
            lam.mul_(-1.0)  # a student who overwrites the input must not disturb the check
            return value
        return student

    r0 = grading.check_function(spy(0), ld.teacher_multipliers, draw_schedule_and_lam, name="a", trials=6, seed=9)
    r1 = grading.check_function(spy(1), ld.teacher_multipliers, draw_schedule_and_lam, name="a", trials=6, seed=9)
    assert r0.passed and r1.passed
    assert all(torch.equal(a, b) for a, b in zip(seen[0], seen[1]))
    assert all(bool((a > 0).all()) for a in seen[0])
    other = []
    grading.check_function(lambda schedule, lam: other.append(lam.clone()) or ld.teacher_multipliers(schedule, lam),
                           ld.teacher_multipliers, draw_schedule_and_lam, name="a", trials=6, seed=10)
    assert any(a.shape != b.shape or not torch.equal(a, b) for a, b in zip(seen[0], other))


def test_random_input_helpers():
    gen = torch.Generator().manual_seed(0)
    x = grading.log_uniform(gen, 1e-3, 1e3, (4000,))
    assert x.dtype == torch.float64 and float(x.min()) >= 1e-3 and float(x.max()) < 1e3
    # log-uniform: about half of the draws below the geometric midpoint 1
    assert abs(float((x < 1).double().mean()) - 0.5) < 0.05
    u = grading.uniform(gen, -2.0, 3.0, (2, 5))
    assert u.shape == (2, 5) and float(u.min()) >= -2 and float(u.max()) < 3
    ints = {grading.integer(gen, 2, 5) for _ in range(200)}
    assert ints == {2, 3, 4, 5}
    shapes = {grading.random_shape(gen, max_dims=2, max_size=3) for _ in range(200)}
    assert () in shapes and all(len(s) <= 2 and all(1 <= k <= 3 for k in s) for s in shapes)
    schedules = [grading.random_schedule(gen, 3, 6) for _ in range(50)]
    assert {s.name for s in schedules} == {"cosine", "linear"}
    assert all(3 <= s.num_steps <= 6 and s.variance_preserving for s in schedules)


def test_helpers_and_checks_validate_their_arguments():
    gen = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match="gen"):
        grading.uniform(0, 0.0, 1.0)
    with pytest.raises(ValueError, match="high"):
        grading.log_uniform(gen, 2.0, 1.0)
    with pytest.raises(ValueError, match="low"):
        grading.log_uniform(gen, 0.0, 1.0)
    with pytest.raises(ValueError, match="kinds"):
        grading.random_schedule(gen, kinds=("ve",))
    with pytest.raises(TypeError, match="student"):
        grading.check_function(3, ld.teacher_multipliers, draw_schedule_and_lam, name="a")
    with pytest.raises(ValueError, match="name"):
        grading.check_function(ld.teacher_multipliers, ld.teacher_multipliers, draw_schedule_and_lam, name="")
    with pytest.raises(ValueError, match="trials"):
        grading.check_function(ld.teacher_multipliers, ld.teacher_multipliers, draw_schedule_and_lam,
                               name="a", trials=0)
    with pytest.raises(ValueError, match="points"):
        grading.check_value(1.0, 1.0, name="a", points=-1)
    with pytest.raises(TypeError, match="dict"):
        grading.check_function(ld.teacher_multipliers, ld.teacher_multipliers, lambda gen: [1], name="a")


def test_check_value_on_numbers_strings_tuples_and_dicts():
    assert grading.check_value(0.1 + 0.2, 0.3, name="v").passed
    assert not grading.check_value(0.31, 0.3, name="v").passed
    assert grading.check_value(torch.tensor(2.0), 2, name="v").passed
    wrong = grading.check_value(("boot", "vanilla"), ("boot", "boot"), name="w", points=2)
    assert not wrong.passed and "item 1: expected 'boot', got 'vanilla'" in wrong.feedback
    assert "[0/2 points]" in wrong.feedback
    keys = grading.check_value({"a": 1.0}, {"a": 1.0, "b": 2.0}, name="d")
    assert not keys.passed and "missing ['b']" in keys.feedback
    assert not grading.check_value("1.0", 1.0, name="t").passed


def test_check_symbolic():
    x = symbolic.lam
    ref = symbolic.derive_ddim_multiplier()
    at, st, ap, sp_ = symbolic.alpha_t, symbolic.sigma_t, symbolic.alpha_p, symbolic.sigma_p
    same = (ap * at * x + sp_ * st) / (at**2 * x + st**2)
    assert grading.check_symbolic(sp.expand(same * 2) / 2, ref, name="r").passed
    wrong = grading.check_symbolic((ap * at * x + sp_ * st) / (st**2 * x + at**2), ref, name="r", points=2)
    assert not wrong.passed and "differs from the reference by" in wrong.feedback
    extra = grading.check_symbolic(same + sp.Symbol("q") - sp.Symbol("q") + sp.Symbol("k"), ref, name="r")
    assert not extra.passed and "k" in extra.feedback
    assert not grading.check_symbolic(1.5, ref, name="r").passed


def test_summary_totals():
    a = grading.check_value(1.0, 1.0, name="a", points=2)
    b = grading.check_value(1.0, 2.0, name="b", points=3)
    text = grading.summary([a, b])
    assert "ok  a: 2/2" in text and "NO  b: 0/3" in text and text.endswith("total: 2/5")
    with pytest.raises(TypeError, match="results"):
        grading.summary([a, "b"])


# ------------------------------------------------ graded runs: record in the kernel, verify outside
def _cell_outputs(record_fn):
    """Run ``record_fn`` with the checks recording; return the outputs a notebook cell would hold."""
    shown = []
    import IPython.display

    original = IPython.display.display
    IPython.display.display = lambda obj, raw=False: shown.append({"output_type": "display_data", "data": obj})
    grading._STATE["mode"] = "record"
    try:
        record_fn()
    finally:
        grading._STATE["mode"] = "normal"
        IPython.display.display = original
    return shown


TEST_CELL = '''result = grading.check_function(my_f, ld.teacher_multipliers, draw, name="mult", points=2, trials=6, seed=3)
result.assert_passed()'''


def _verify(outputs):
    namespace = {"grading": grading, "ld": ld, "draw": draw_schedule_and_lam}
    return grading.verify_cell(TEST_CELL, outputs, namespace)


def test_recorded_answers_are_verified_outside_the_kernel():
    good = _cell_outputs(lambda: grading.check_function(multipliers_from_sympy, ld.teacher_multipliers, draw_schedule_and_lam,
                                                        name="mult", points=2, trials=6, seed=3))
    assert len(good) == 1 and grading.ANSWERS_MIME in good[0]["data"]
    [result] = _verify(good)
    assert result.passed and result.points == 2 and "6 random inputs (seed 3)" in result.feedback
    bad = _cell_outputs(lambda: grading.check_function(swapped_denominator, ld.teacher_multipliers, draw_schedule_and_lam,
                                                       name="mult", points=2, trials=6, seed=3))
    [result] = _verify(bad)
    assert not result.passed and "expected" in result.feedback and "got" in result.feedback


def test_exceptions_are_recorded_and_forged_or_missing_records_fail():
    def broken(schedule, lam):
        raise NotImplementedError()

    outputs = _cell_outputs(lambda: grading.check_function(broken, ld.teacher_multipliers, draw_schedule_and_lam,
                                                           name="mult", points=2, trials=6, seed=3))
    [result] = _verify(outputs)
    assert not result.passed and "NotImplementedError" in result.feedback
    with pytest.raises(grading._NoRecord):
        _verify([])
    with pytest.raises(ValueError, match="several"):
        _verify(outputs + outputs)
    forged = [{"output_type": "display_data", "data": {grading.ANSWERS_MIME: {
        "check": "mult", "answers": [{"ok": {"tensor": ["nonsense"], "shape": [1]}}] * 6}}}]
    [result] = _verify(forged)
    assert not result.passed


def test_encoding_round_trips_exactly():
    value = {"a": torch.tensor([[1 / 3, -0.0], [1e-300, 7.0]], dtype=torch.float64), "b": ("x", 2.5, True),
             "c": [torch.tensor(1.0, dtype=torch.float32)]}
    back = grading._decode(grading._encode(value))
    assert torch.equal(back["a"], value["a"]) and back["b"] == ("x", 2.5, True)
    assert back["c"][0].shape == () and float(back["c"][0]) == 1.0
    assert isinstance(grading._decode({"other": "x"}), grading._Other)
    assert isinstance(grading._decode("garbage"), grading._Other)


ARMED = r"""
import lineardistill as ld
from lineardistill import grading
alias = ld.teacher_multipliers
grading.arm("a1_ddim_multiplier")
outcomes = {}
for name, attempt in [
        ("alias", lambda: alias(ld.Schedule.cosine(3), 1.0)),
        ("module", lambda: ld.teacher.composite(ld.Schedule.cosine(3), 1.0)),
        ("read", lambda: open(ld.teacher.__file__).read()),
        ("reimport", lambda: __import__("importlib").reload(ld.teacher)),
        ("process", lambda: __import__("subprocess").run(["true"])),
        ("code", lambda: setattr(alias, "__code__", (lambda *a: 1).__code__))]:
    try:
        attempt()
        outcomes[name] = "allowed"
    except PermissionError as exc:
        outcomes[name] = str(exc)
outcomes["schedule"] = float(ld.Schedule.cosine(2).alphas[1])
print(repr(outcomes))
"""


def test_an_armed_kernel_refuses_the_graded_functions_and_their_sources():
    import ast
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", ARMED], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    outcomes = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert "may not call it" in outcomes["alias"] and "teacher_multipliers" in outcomes["alias"]
    assert "may not call it" in outcomes["module"]
    for name in ("read", "reimport", "process", "code"):
        assert "may not" in outcomes[name], (name, outcomes[name])
    assert 0 < outcomes["schedule"] < 1  # what the assignment does not ask for still works
    with pytest.raises(ValueError, match="assignment"):
        grading._disable("no-such-assignment")
