"""Checks for exercises and graded assignments.

A check compares a student's function with the library's reference on random
inputs drawn from a seeded :class:`torch.Generator` (same inputs on every run
and every machine), and returns a :class:`CheckResult`: a passed flag, the
points earned and feedback that names the check, the first input on which the
two disagree, and the expected against the obtained value. A wrong answer never
raises; an exception raised by the student's code is caught and reported.

In an nbgrader-style test cell::

    result = check_function(my_ddim_multipliers, ld.teacher_multipliers,
                            draw_schedule_and_lam, name="ddim-multipliers", points=3)
    print(result)
    result.assert_passed()   # AssertionError carrying the feedback when it failed

Random-input helpers (``uniform``, ``log_uniform``, ``integer``, ``random_shape``,
``random_schedule``) take the generator as their first argument, so an input
recipe is a small function ``draw(gen) -> dict`` of keyword arguments.
"""

from __future__ import annotations

import copy
import math
import numbers
import traceback
from dataclasses import dataclass

import torch

from ._checks import DTYPE, _show, as_float, as_int
from .schedule import Schedule

__all__ = [
    "CheckResult",
    "check_function",
    "check_symbolic",
    "check_value",
    "integer",
    "log_uniform",
    "random_schedule",
    "random_shape",
    "summary",
    "uniform",
]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``passed``, ``points`` earned out of ``max_points``, ``feedback``.

    ``trials`` is how many inputs were tried and ``failures`` on how many the
    student's answer differed (or raised). ``bool(result)`` is ``passed``.
    """

    name: str
    passed: bool
    points: float
    max_points: float
    feedback: str
    trials: int = 1
    failures: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.feedback

    def assert_passed(self) -> None:
        """Raise ``AssertionError(feedback)`` when the check failed (the nbgrader way to score 0)."""
        if not self.passed:
            raise AssertionError(self.feedback)


def _result(name, passed, max_points, feedback, trials=1, failures=0):
    points = max_points if passed else 0.0
    head = f"{'PASSED' if passed else 'FAILED'} check '{name}' [{_fmt_points(points)}/{_fmt_points(max_points)} points]"
    return CheckResult(name, passed, points, max_points, f"{head}: {feedback}", trials, failures)


def _fmt_points(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else f"{p:g}"


def summary(results) -> str:
    """A short table of several :class:`CheckResult` objects with the total score."""
    results = list(results)
    for i, r in enumerate(results):
        if not isinstance(r, CheckResult):
            raise TypeError(f"results[{i}] must be a CheckResult, got {_show(r)}")
    lines = [f"{'ok ' if r.passed else 'NO '} {r.name}: {_fmt_points(r.points)}/{_fmt_points(r.max_points)}"
             for r in results]
    got = sum(r.points for r in results)
    total = sum(r.max_points for r in results)
    lines.append(f"total: {_fmt_points(got)}/{_fmt_points(total)}")
    return "\n".join(lines)


# ----------------------------------------------------------- random inputs
def _gen(gen) -> torch.Generator:
    if not isinstance(gen, torch.Generator):
        raise TypeError(f"gen must be a torch.Generator, got {_show(gen)}")
    return gen


def _shape(shape, name="shape"):
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of sizes, got {_show(shape)}")
    return tuple(as_int(s, f"{name}[{i}]", minimum=0) for i, s in enumerate(shape))


def uniform(gen, low: float, high: float, shape=()) -> torch.Tensor:
    """Uniform draws on ``[low, high)`` (float64, drawn on the CPU)."""
    low, high = as_float(low, "low"), as_float(high, "high")
    if high <= low:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")
    u = torch.rand(_shape(shape), generator=_gen(gen), dtype=DTYPE)
    return low + (high - low) * u


def log_uniform(gen, low: float, high: float, shape=()) -> torch.Tensor:
    """Draws whose logarithm is uniform on ``[log low, log high)``: variances over several decades."""
    low = as_float(low, "low", positive=True)
    high = as_float(high, "high", positive=True)
    if high <= low:
        raise ValueError(f"high must be > low, got low={low!r}, high={high!r}")
    return torch.exp(uniform(gen, math.log(low), math.log(high), shape))


def integer(gen, low: int, high: int) -> int:
    """One integer drawn uniformly from ``low..high`` (both included)."""
    low, high = as_int(low, "low"), as_int(high, "high")
    if high < low:
        raise ValueError(f"high must be >= low, got low={low}, high={high}")
    return int(torch.randint(low, high + 1, (), generator=_gen(gen)))


def random_shape(gen, max_dims: int = 2, max_size: int = 4) -> tuple[int, ...]:
    """A random tensor shape with 0..``max_dims`` axes of sizes 1..``max_size`` (batching checks)."""
    dims = integer(gen, 0, as_int(max_dims, "max_dims", minimum=0))
    size = as_int(max_size, "max_size", minimum=1)
    return tuple(integer(gen, 1, size) for _ in range(dims))


def random_schedule(gen, min_steps: int = 1, max_steps: int = 12, kinds=("cosine", "linear")) -> Schedule:
    """A random VP schedule: a kind from ``kinds`` (``cosine``, ``linear``) with ``min_steps..max_steps`` steps."""
    lo = as_int(min_steps, "min_steps", minimum=1)
    hi = as_int(max_steps, "max_steps", minimum=lo)
    if isinstance(kinds, str) or not kinds:
        raise ValueError(f"kinds must be a non-empty sequence of schedule names, got {_show(kinds)}")
    for k in kinds:
        if k not in ("cosine", "linear"):
            raise ValueError(f"kinds may hold 'cosine' and 'linear', got {_show(k)}")
    kind = kinds[integer(gen, 0, len(kinds) - 1)]
    n = integer(gen, lo, hi)
    return Schedule.cosine(n) if kind == "cosine" else Schedule.linear(n)


# -------------------------------------------------------------- comparison
def _round(values):
    if isinstance(values, list):
        return [_round(v) for v in values]
    return float(f"{values:.6g}")


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        v = value.detach().cpu()
        if v.numel() <= 12:
            return f"tensor of shape {tuple(v.shape)}: {_round(v.tolist())}"
        return f"tensor of shape {tuple(v.shape)}, first entries {_round(v.flatten()[:6].tolist())} ..."
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)) and 0 < len(value) <= 12 and all(
            isinstance(v, (float, int)) and not isinstance(v, bool)
            or isinstance(v, torch.Tensor) and v.numel() == 1 for v in value):
        items = ", ".join(f"{float(v):.6g}" for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items})"
    return _show(value)


def _as_numeric(value):
    """A float64 CPU tensor for numbers / arrays / tensors, or None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            return None
        return value.detach().to("cpu", DTYPE)
    if isinstance(value, numbers.Real):
        return torch.tensor(float(value), dtype=DTYPE)
    if type(value).__module__ == "numpy" and hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "biuf":
        return torch.as_tensor(value).to(DTYPE)
    return None


def _mismatch(expected, got, rtol, atol) -> str | None:
    """None when ``got`` matches ``expected``; otherwise a sentence saying how they differ."""
    exp_t = _as_numeric(expected)
    if exp_t is not None:
        got_t = _as_numeric(got)
        if got_t is None:
            return f"expected a number or tensor but got {type(got).__name__} {_show(got)}"
        if got_t.shape != exp_t.shape:
            if got_t.numel() == 1 and exp_t.numel() == 1:
                got_t = got_t.reshape(exp_t.shape)
            else:
                return (f"expected a result of shape {tuple(exp_t.shape)} but got shape {tuple(got_t.shape)} "
                        f"(check how your function broadcasts over its inputs)")
        if not bool(torch.isfinite(got_t).all()):
            return f"expected {_describe(exp_t)}\n  got      {_describe(got_t)}, which contains NaN or infinity"
        close = torch.isclose(got_t, exp_t, rtol=rtol, atol=atol)
        if bool(close.all()):
            return None
        err = (got_t - exp_t).abs()
        idx = int(torch.argmax(torch.where(close, torch.zeros_like(err), err)))
        where = tuple(int(i) for i in torch.unravel_index(torch.tensor(idx), exp_t.shape)) if exp_t.ndim else ()
        at = ""
        if where:
            at = (f" at index {where} (expected {float(exp_t.flatten()[idx]):.6g}, "
                  f"got {float(got_t.flatten()[idx]):.6g})")
        return (f"expected {_describe(exp_t)}\n  got      {_describe(got_t)}\n"
                f"  largest difference {float(err.flatten()[idx]):.3g}{at}; "
                f"allowed: {atol:g} + {rtol:g} * |expected|")
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"expected a dict with keys {sorted(map(str, expected))}, got {_show(got)}"
        if set(got) != set(expected):
            missing = sorted(map(str, set(expected) - set(got)))
            extra = sorted(map(str, set(got) - set(expected)))
            return f"expected the keys {sorted(map(str, expected))}; missing {missing}, unexpected {extra}"
        for key in expected:
            why = _mismatch(expected[key], got[key], rtol, atol)
            if why is not None:
                return f"entry {key!r}: {why}"
        return None
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of {len(expected)} items, got {_show(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            why = _mismatch(e, g, rtol, atol)
            if why is not None:
                return f"item {i}: {why}"
        return None
    if type(got) is not type(expected) and not (isinstance(expected, str) and isinstance(got, str)):
        return f"expected {type(expected).__name__} {_show(expected)}, got {type(got).__name__} {_show(got)}"
    return None if got == expected else f"expected {_show(expected)}, got {_show(got)}"


def _describe_inputs(kwargs) -> str:
    return "\n".join(f"    {k} = {_describe(v)}" for k, v in kwargs.items())


def _student_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = f" (in {last.name}, line {last.lineno})"
    return f"{type(exc).__name__}: {exc}{where}"


# ------------------------------------------------------------------ checks
def check_function(student, reference, draw, *, name: str, points: float = 1.0, trials: int = 20,
                   seed: int = 0, rtol: float = 1e-9, atol: float = 1e-12) -> CheckResult:
    """Compare ``student(**kwargs)`` with ``reference(**kwargs)`` on ``trials`` random inputs.

    ``draw(gen)`` returns a dict of keyword arguments; ``gen`` is a CPU
    :class:`torch.Generator` seeded with ``seed``, so every run tries the same
    inputs. Numbers and tensors are compared with ``torch.isclose(rtol, atol)``
    and must have the reference's shape; other values (strings, trees, tuples)
    with ``==``. Each call receives its own deep copy of the inputs. The
    feedback names the first failing input, the expected and the obtained value,
    or the exception the student's function raised. Never raises for a wrong
    answer; raises ``TypeError``/``ValueError`` for a malformed check.
    """
    if not callable(student):
        raise TypeError(f"student must be a function, got {_show(student)}")
    if not callable(reference):
        raise TypeError(f"reference must be a function, got {_show(reference)}")
    if not callable(draw):
        raise TypeError(f"draw must be a function gen -> dict of keyword arguments, got {_show(draw)}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {_show(name)}")
    points = as_float(points, "points", nonnegative=True)
    trials = as_int(trials, "trials", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    rtol = as_float(rtol, "rtol", nonnegative=True)
    atol = as_float(atol, "atol", nonnegative=True)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    first = None
    failures = 0
    for trial in range(1, trials + 1):
        kwargs = draw(gen)
        if not isinstance(kwargs, dict):
            raise TypeError(f"draw(gen) must return a dict of keyword arguments, got {_show(kwargs)}")
        expected = reference(**copy.deepcopy(kwargs))
        try:
            got = student(**copy.deepcopy(kwargs))
        except Exception as exc:  # the student's bug, reported, never raised
            why = f"your function raised {_student_error(exc)}"
        else:
            why = _mismatch(expected, got, rtol, atol)
        if why is not None:
            failures += 1
            if first is None:
                first = (trial, kwargs, why)
    if first is None:
        return _result(name, True, points, f"{trials} random inputs (seed {seed}) agree with the reference", trials, 0)
    trial, kwargs, why = first
    text = (f"wrong on {failures} of {trials} random inputs (seed {seed}); the first was input {trial}:\n"
            f"{_describe_inputs(kwargs)}\n  {why}")
    return _result(name, False, points, text, trials, failures)


def check_value(got, expected, *, name: str, points: float = 1.0, rtol: float = 1e-9,
                atol: float = 1e-12) -> CheckResult:
    """Compare one answer ``got`` (a number, tensor, string, ...) with ``expected``; feedback as in :func:`check_function`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {_show(name)}")
    points = as_float(points, "points", nonnegative=True)
    rtol = as_float(rtol, "rtol", nonnegative=True)
    atol = as_float(atol, "atol", nonnegative=True)
    why = _mismatch(expected, got, rtol, atol)
    if why is None:
        return _result(name, True, points, "your answer agrees with the reference")
    return _result(name, False, points, f"your answer differs from the reference:\n  {why}", 1, 1)


def check_symbolic(expr, reference, *, name: str, points: float = 1.0) -> CheckResult:
    """Check that the SymPy expression ``expr`` equals ``reference`` (their difference simplifies to 0)."""
    import sympy

    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {_show(name)}")
    points = as_float(points, "points", nonnegative=True)
    if not isinstance(reference, sympy.Basic):
        raise TypeError(f"reference must be a SymPy expression, got {_show(reference)}")
    if not isinstance(expr, sympy.Basic):
        return _result(name, False, points, f"expected a SymPy expression, got {type(expr).__name__} {_show(expr)}", 1, 1)
    extra = expr.free_symbols - reference.free_symbols
    if extra:
        names = ", ".join(sorted(map(str, extra)))
        return _result(name, False, points, f"your expression uses symbols that the answer does not: {names}", 1, 1)
    difference = sympy.simplify(sympy.together(expr - reference))
    if difference == 0:
        return _result(name, True, points, "your expression simplifies to the reference")
    return _result(name, False, points, f"your expression differs from the reference by {difference}", 1, 1)
