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

When an assignment is graded (book/instructors.md, scripts/classroom.py) the same
test cells run in two places: in the student's kernel, armed by :func:`arm`, the
checks only record the student's answers; in the grader's process,
:func:`verify_cell` replays them against the references. Student code never runs
where the comparison is made.
"""

from __future__ import annotations

import copy
import math
import numbers
import traceback
from dataclasses import dataclass

import torch

from ._checks import DTYPE, _show, as_float, as_int
from .schedule import VP_SCHEDULE_NAMES, Schedule

MAX_LINE = 100
"""Longest first line of a check's verdict; a longer one puts the feedback on its own line."""

__all__ = [
    "ANSWERS_MIME",
    "CheckResult",
    "arm",
    "check_function",
    "check_symbolic",
    "check_value",
    "integer",
    "log_uniform",
    "random_schedule",
    "random_shape",
    "summary",
    "uniform",
    "verify_cell",
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
    # a line a notebook prints stays within the book's 100 characters: a long verdict goes on its own line
    sep = ": " if len(head) + 2 + len(feedback.split("\n", 1)[0]) <= MAX_LINE else ":\n  "
    return CheckResult(name, passed, points, max_points, f"{head}{sep}{feedback}", trials, failures)


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
        if k not in VP_SCHEDULE_NAMES:
            raise ValueError(f"kinds may hold {', '.join(map(repr, VP_SCHEDULE_NAMES))}, got {_show(k)}")
    kind = kinds[integer(gen, 0, len(kinds) - 1)]
    n = integer(gen, lo, hi)
    return Schedule.named(kind, n)


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
    if isinstance(exc, _Replayed):
        return str(exc)
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
    if not callable(student) and _STATE["mode"] != "verify":  # the grader replays the recorded answers
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
    if _STATE["mode"] == "record":
        return _record_function(student, draw, gen, name, points, trials, seed)
    if _STATE["mode"] == "verify":
        student = _replayer(name, trials)
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
    """Compare one answer ``got`` (a number, tensor, string, ...) with ``expected``; feedback as in :func:`check_function`.

    ``expected`` may be a function without arguments that computes it: then it
    runs only where the reference may run (never inside a graded kernel).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {_show(name)}")
    points = as_float(points, "points", nonnegative=True)
    rtol = as_float(rtol, "rtol", nonnegative=True)
    atol = as_float(atol, "atol", nonnegative=True)
    if _STATE["mode"] == "record":
        return _emit_record(name, "value", [_encode(got)], points)
    if _STATE["mode"] == "verify":
        got = _replayer(name, 1)()
    if callable(expected):  # computed only where the reference is allowed to run
        expected = expected()
    why = _mismatch(expected, got, rtol, atol)
    if why is None:
        return _result(name, True, points, "your answer agrees with the reference")
    return _result(name, False, points, f"your answer differs from the reference:\n  {why}", 1, 1)


def check_symbolic(expr, reference, *, name: str, points: float = 1.0) -> CheckResult:
    """Check that the SymPy expression ``expr`` equals ``reference`` (their difference simplifies to 0).

    ``reference`` may be a function without arguments that returns the expression.
    In a graded kernel the expression is recorded by its value at a few points and
    compared outside the kernel (see :func:`verify_cell`).
    """
    import sympy

    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {_show(name)}")
    points = as_float(points, "points", nonnegative=True)
    if _STATE["mode"] == "record":
        return _emit_record(name, "symbolic", [_encode_symbolic(expr)], points)
    if _STATE["mode"] == "verify":
        return _verify_symbolic(_STATE["answers"].get(name), reference, name, points)
    if callable(reference) and not isinstance(reference, sympy.Basic):
        reference = reference()
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



# ------------------------------------------------------------- graded runs
# When an assignment is graded (scripts/classroom.py), the student's notebook runs in a
# kernel of its own (process A). There the library functions that the assignment asks
# students to write are disabled, and the checks only *record* the student's answers
# on the seeded inputs; nothing is compared there, because student code in the same
# process could patch the comparison. The grader (process B, which never runs student
# code) then re-runs the instructor's test cells with the checks in *verify* mode: it
# draws the same inputs, computes the references and compares them with the recorded
# answers. Chapter: book/instructors.md.

ANSWERS_MIME = "application/vnd.lineardistill.answers+json"

# assignment -> (library modules whose every function is disabled, single functions disabled)
GRADED_FUNCTIONS = {
    "a1_ddim_multiplier": (("lineardistill.teacher",),
                           ("lineardistill.symbolic.derive_ddim_multiplier",
                            "lineardistill.symbolic.derive_denoiser")),
    "a2_merge_rule": (("lineardistill.student", "lineardistill.dp", "lineardistill.phase",
                       "lineardistill.training"),
                      ("lineardistill.trees.merge_value", "lineardistill.trees.teacher_value")),
    "a3_dp_phase": (("lineardistill.dp", "lineardistill.phase"), ()),
}

_STATE = {"mode": "normal", "answers": {}}


class _Replayed(Exception):
    """An exception the student's function raised in the graded kernel, replayed by the grader."""


def _encode(value, depth: int = 0):
    """A JSON-safe, exact description of an answer (floats as hexadecimal strings)."""
    if depth > 20:
        return {"other": "a structure nested too deeply"}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, str):
        return {"str": value[:10_000]}
    numeric = _as_numeric(value)
    if numeric is not None:
        flat = numeric.reshape(-1)
        if flat.numel() > 200_000:
            return {"other": f"a tensor with {flat.numel()} entries (too large to record)"}
        return {"tensor": [float(x).hex() for x in flat.tolist()], "shape": list(numeric.shape),
                "python": not isinstance(value, torch.Tensor) and numeric.ndim == 0}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_encode(v, depth + 1) for v in value[:10_000]]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in list(value.items())[:10_000]]}
    return {"other": f"{type(value).__name__} {_show(value)}"}


class _Other:
    """An answer of a type the checks do not compare (it never equals a reference)."""

    def __init__(self, text):
        self.text = str(text)

    def __repr__(self):
        return self.text

    def __eq__(self, other):
        return False

    __hash__ = None


def _decode(data, depth: int = 0):
    """Inverse of :func:`_encode`; anything malformed becomes an :class:`_Other` (never raises)."""
    try:
        if depth > 20 or not isinstance(data, dict) or len(data) not in (1, 2, 3):
            return _Other("a malformed answer")
        if "bool" in data:
            return bool(data["bool"])
        if "str" in data:
            return str(data["str"])
        if "tensor" in data:
            values = [float.fromhex(str(x)) for x in data["tensor"]]
            shape = [int(n) for n in data["shape"]]
            t = torch.tensor(values, dtype=DTYPE).reshape(shape)
            return float(t) if data.get("python") else t
        if "list" in data:
            return [_decode(v, depth + 1) for v in data["list"]]
        if "tuple" in data:
            return tuple(_decode(v, depth + 1) for v in data["tuple"])
        if "dict" in data:
            out = {}
            for k, v in data["dict"]:
                key = _decode(k, depth + 1)
                out[key if isinstance(key, (str, float, bool)) else repr(key)] = _decode(v, depth + 1)
            return out
        return _Other(str(data.get("other", "an answer of unknown type"))[:300])
    except Exception:  # noqa: BLE001  (a forged or damaged record must not crash the grader)
        return _Other("a malformed answer")


def _emit_record(name, kind, answers, points) -> CheckResult:
    """Publish the recorded answers as an output of the running cell (process A)."""
    from IPython.display import display

    record = {"check": name, "kind": kind, "answers": answers}
    display({ANSWERS_MIME: record, "text/plain": f"answers recorded for check '{name}'"}, raw=True)
    text = (f"RECORDED check '{name}' [?/{_fmt_points(points)} points]: {len(answers)} answer(s) recorded; "
            "the grader compares them with the reference after the notebook has run")
    return CheckResult(name, True, 0.0, points, text, len(answers), 0)


def _record_function(student, draw, gen, name, points, trials, seed) -> CheckResult:
    answers = []
    for _ in range(trials):
        kwargs = draw(gen)
        if not isinstance(kwargs, dict):
            raise TypeError(f"draw(gen) must return a dict of keyword arguments, got {_show(kwargs)}")
        try:
            answers.append({"ok": _encode(student(**copy.deepcopy(kwargs)))})
        except Exception as exc:  # the student's bug, recorded
            answers.append({"raised": _student_error(exc)[:2000]})
    return _emit_record(name, "function", answers, points)


def _replayer(name, trials):
    """A stand-in for the student's function that returns the answers recorded in process A."""
    record = _STATE["answers"].get(name)
    if record is None:
        raise _NoRecord(name)
    answers = list(record.get("answers", []))
    if len(answers) != trials:
        raise _NoRecord(name, f"{len(answers)} answers were recorded where {trials} were expected")
    queue = iter(answers)

    def replay(*args, **kwargs):
        item = next(queue)
        if isinstance(item, dict) and "raised" in item:
            raise _Replayed(str(item["raised"]))
        if isinstance(item, dict) and "ok" in item:
            return _decode(item["ok"])
        return _decode(item)

    return replay


class _NoRecord(Exception):
    def __init__(self, name, why=None):
        super().__init__(why or f"no answers were recorded for check '{name}'")
        self.check = name


def _symbol_point(seed: int, k: int, name: str) -> float:
    import hashlib

    digest = hashlib.sha256(f"{seed}:{k}:{name}".encode()).digest()
    return 0.2 + 1.3 * int.from_bytes(digest[:6], "big") / 2**48


_SYMBOLIC_POINTS = 8


def _eval_symbolic(expr, names):
    """Values of ``expr`` at :data:`_SYMBOLIC_POINTS` points (each symbol's value hashed from its name)."""
    symbols = {s.name: s for s in expr.free_symbols}
    values = []
    for k in range(_SYMBOLIC_POINTS):
        subs = {symbols[n]: _symbol_point(0, k, n) for n in names if n in symbols}
        values.append(complex(expr.evalf(30, subs=subs)))
    return values


def _encode_symbolic(expr):
    import sympy

    if not isinstance(expr, sympy.Basic):
        return {"other": f"{type(expr).__name__} {_show(expr)}"}
    names = sorted(s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol))
    try:
        values = _eval_symbolic(expr, names)
    except Exception as exc:  # noqa: BLE001
        return {"other": f"an expression that could not be evaluated ({type(exc).__name__})"}
    return {"symbols": names, "values": [[v.real.hex(), v.imag.hex()] for v in values]}


def _verify_symbolic(record, reference, name, points) -> CheckResult:
    if record is None:
        raise _NoRecord(name)
    reference = reference() if callable(reference) else reference
    try:
        data = record["answers"][0]
        if "other" in data:
            return _result(name, False, points, f"expected a SymPy expression, got {data['other']}", 1, 1)
        names = [str(n) for n in data["symbols"]]
        got = [complex(float.fromhex(a), float.fromhex(b)) for a, b in data["values"]]
    except Exception:  # noqa: BLE001
        return _result(name, False, points, "the recorded expression is malformed", 1, 1)
    allowed = {s.name for s in reference.free_symbols}
    extra = sorted(set(names) - allowed)
    if extra:
        return _result(name, False, points, f"your expression uses symbols that the answer does not: {', '.join(extra)}",
                       1, 1)
    expected = _eval_symbolic(reference, sorted(allowed))
    if len(got) == len(expected) and all(abs(g - e) <= 1e-12 + 1e-9 * abs(e) for g, e in zip(got, expected)):
        return _result(name, True, points, f"your expression agrees with the reference at {len(got)} random points")
    return _result(name, False, points, "your expression differs from the reference (compared at "
                   f"{len(expected)} random points of its symbols)", 1, 1)


def answers_of(outputs) -> dict:
    """The answer records (``{check: record}``) among a cell's outputs; raises ValueError on duplicates."""
    found = {}
    for output in outputs:
        data = output.get("data", {}) if isinstance(output, dict) else {}
        record = data.get(ANSWERS_MIME)
        if isinstance(record, dict) and isinstance(record.get("check"), str):
            if record["check"] in found:
                raise ValueError(f"several answer records for check '{record['check']}'")
            found[record["check"]] = record
    return found


class _Namespace(dict):
    """Locals for re-running a test cell in the grader: unknown names are the student's, left out."""

    def __init__(self, globals_):
        super().__init__()
        self.globals_ = globals_

    def __getitem__(self, key):
        if key in self.globals_:
            return self.globals_[key]
        import builtins

        if hasattr(builtins, key):
            raise KeyError(key)
        return _Other(f"the student's {key}")

    def __setitem__(self, key, value):
        self.globals_[key] = value


def verify_cell(source: str, outputs, namespace: dict) -> list[CheckResult]:
    """Process B: re-run one instructor test cell with the checks comparing recorded answers.

    ``namespace`` holds what the instructor's setup and reference cells define (run
    with :func:`run_trusted`); names the student defines are not needed, because each
    check replays the answers recorded among ``outputs``. Returns the checks' results;
    raises ``_NoRecord`` when a check has no answers and ``ValueError`` on forged records.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be the test cell's source text, got {_show(source)}")
    if not isinstance(namespace, dict):
        raise TypeError(f"namespace must be a dict, got {_show(namespace)}")
    _STATE.update(mode="verify", answers=answers_of(outputs))
    results = []
    module = __import__(__name__, fromlist=["x"])
    originals = {n: getattr(module, n) for n in ("check_function", "check_value", "check_symbolic")}

    def collecting(fn):
        def wrapper(*args, **kwargs):
            result = fn(*args, **kwargs)
            results.append(result)
            return result
        return wrapper

    try:
        for n, fn in originals.items():
            setattr(module, n, collecting(fn))
        code = compile(source, "<instructor test cell>", "exec")
        try:
            exec(code, namespace, _Namespace(namespace))  # noqa: S102  (instructor code only)
        except AssertionError:
            pass  # result.assert_passed() of a failed check: the result is already collected
    finally:
        for n, fn in originals.items():
            setattr(module, n, fn)
        _STATE.update(mode="normal", answers={})
    return results


def run_trusted(source: str, namespace: dict) -> None:
    """Run one of the instructor's setup or reference cells in the grader (names the student defines are left out)."""
    if not isinstance(source, str) or not isinstance(namespace, dict):
        raise TypeError("source must be a cell's source text and namespace a dict")
    exec(compile(source, "<instructor cell>", "exec"), namespace, _Namespace(namespace))  # noqa: S102


# --------------------------------------------------- the graded kernel (A)
def _package_dir() -> str:
    import os

    return os.path.dirname(os.path.realpath(__file__))


def _disable(assignment: str) -> list[str]:
    """Replace the code of the library functions the assignment asks for by one that refuses to run.

    Changing ``__code__`` (not the module attribute) also disables every alias a student
    took before, such as ``my_f = ld.f`` or ``from lineardistill.teacher import f``.
    """
    import importlib
    import inspect
    import types

    if assignment not in GRADED_FUNCTIONS:
        raise ValueError(f"assignment must be one of {sorted(GRADED_FUNCTIONS)}, got {_show(assignment)}")
    modules, singles = GRADED_FUNCTIONS[assignment]
    targets = []
    for name in modules:
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            obj = inspect.unwrap(obj) if callable(obj) else obj
            if isinstance(obj, types.FunctionType) and obj.__module__ == name:
                targets.append((f"{name}.{attr}", obj))
            elif isinstance(obj, type) and obj.__module__ == name:
                for meth_name, meth in vars(obj).items():
                    meth = getattr(meth, "__func__", meth)
                    meth = getattr(meth, "fget", meth)
                    if isinstance(meth, types.FunctionType) and meth.__code__.co_freevars == ():
                        targets.append((f"{name}.{attr}.{meth_name}", meth))
    for dotted in singles:
        mod_name, attr = dotted.rsplit(".", 1)
        targets.append((dotted, inspect.unwrap(getattr(importlib.import_module(mod_name), attr))))
    disabled = []
    for dotted, fn in targets:
        if fn.__code__.co_freevars:
            continue  # closures cannot take a code object without free variables; none is graded
        message = (f"{dotted} computes what this assignment asks you to write; graded work may not call "
                   "it (write your own implementation)")
        scope = {}
        exec(f"def {fn.__name__}(*args, **kwargs):\n    raise PermissionError({message!r})", scope)  # noqa: S102
        fn.__code__ = scope[fn.__name__].__code__
        disabled.append(dotted)
    return disabled


_BLOCKED_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "pty.spawn", "ctypes.dlopen")


def _install_guard(package_dir: str) -> None:
    """An audit hook (it cannot be removed) that keeps student code away from the library's implementation.

    It refuses to open any file of the installed package (sources, bytecode: no
    re-import, no copying the source at run time), to run code compiled from it, to
    change the code of a library function, and to start processes (a fresh
    interpreter would have the library intact) or load native libraries.
    """
    import os
    import sys

    prefix = package_dir.rstrip(os.sep) + os.sep

    def inside(path) -> bool:
        try:
            path = os.fsdecode(path)
        except TypeError:
            return False
        return os.path.realpath(path).startswith(prefix) or os.path.realpath(path) == package_dir

    def hook(event, args):
        if event == "open" and args and not isinstance(args[0], int) and inside(args[0]):
            raise PermissionError(f"graded work may not read the lineardistill package ({args[0]})")
        if event in ("exec", "compile") and args:
            filename = getattr(args[0], "co_filename", None) if event == "exec" else args[1]
            if isinstance(filename, (str, bytes)) and inside(filename):
                raise PermissionError("graded work may not run the lineardistill package's code anew")
        if event == "object.__setattr__" and len(args) >= 2 and args[1] == "__code__":
            if str(getattr(args[0], "__module__", "") or "").startswith("lineardistill"):
                raise PermissionError("graded work may not change the code of a lineardistill function")
        if event.startswith(_BLOCKED_EVENTS):
            raise PermissionError(f"graded work may not do this here ({event})")

    sys.addaudithook(hook)


def arm(assignment: str) -> list[str]:
    """Turn this process into a graded kernel for ``assignment`` (irreversible): see the section comment.

    Imports every submodule first (later imports from the package's files are refused),
    disables the graded functions, switches the checks to recording and installs the guard.
    """
    import importlib
    import linecache
    import pkgutil

    import lineardistill

    if assignment not in GRADED_FUNCTIONS:
        raise ValueError(f"assignment must be one of {sorted(GRADED_FUNCTIONS)}, got {_show(assignment)}")
    for info in pkgutil.walk_packages(lineardistill.__path__, "lineardistill."):
        if info.name.split(".")[-1] != "__main__":
            importlib.import_module(info.name)
    disabled = _disable(assignment)
    _STATE["mode"] = "record"
    linecache.clearcache()
    _install_guard(_package_dir())
    return disabled


def _kernel_main() -> None:  # pragma: no cover - runs as the graded kernel, see scripts/classroom.py
    """Start an IPython kernel armed for ``$LINEARDISTILL_ASSIGNMENT`` (arguments: ipykernel's)."""
    import os

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()
    arm(os.environ["LINEARDISTILL_ASSIGNMENT"])
    app.start()
