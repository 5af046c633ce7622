"""MergeProblem against derivations made here (issue 16, mutation survivors of problem.py).

Every expected number is built in this file from the schedule's ``alphas`` and
``sigmas`` alone: the DDIM step through the exact denoiser for ``r_t``, the
gradient-flow solution ``w S0 + (1 - w) C`` with ``w = exp(-ctau E z_t^2)`` for a
merge, a Python loop for products. Nothing below calls the code it checks to
build the expectation.
"""

import math

import pytest
import torch

import lineardistill as ld
import lineardistill._checks as checks
from lineardistill.problem import INITS, MergeProblem, combine

F64 = torch.float64
SCH = ld.Schedule.linear(5)
LAM = torch.tensor([[0.3], [1.0], [4.0]], dtype=F64)        # (3, 1)
CTAU = torch.tensor([0.0, 0.4, 2.5], dtype=F64)            # (3,): broadcast to (3, 3)


def ddim_step(sch, lam, s, t):
    """The one-jump DDIM multiplier from t to s through the exact denoiser, computed step by step."""
    a, sg = sch.alphas, sch.sigmas
    z = torch.ones_like(lam)
    x0 = a[t] * lam / (a[t] ** 2 * lam + sg[t] ** 2) * z
    eps = (z - a[t] * x0) / sg[t]
    return a[s] * x0 + sg[s] * eps


def second_moment(sch, lam, t):
    return sch.alphas[t] ** 2 * lam + sch.sigmas[t] ** 2


def test_tables_are_the_ddim_steps_weights_and_norms():
    p = MergeProblem(SCH, LAM, CTAU)
    lam, ctau = LAM.expand(3, 3), CTAU.expand(3, 3)
    assert p.shape == (3, 3) and p.num_steps == 5 and p.device == SCH.alphas.device
    assert torch.equal(p.lam, lam) and torch.equal(p.ctau, ctau)
    T = torch.ones(3, 3, dtype=F64)
    for t in range(1, 6):
        r = ddim_step(SCH, lam, t - 1, t)
        torch.testing.assert_close(p.r[..., t - 1], r, rtol=1e-14, atol=0)
        T = T * r
    torch.testing.assert_close(p.T, T, rtol=1e-13, atol=0)
    for t in range(6):
        m2 = second_moment(SCH, lam, t)
        torch.testing.assert_close(p.norms[..., t], m2.sqrt(), rtol=1e-15, atol=0)
        torch.testing.assert_close(p.w[..., t], torch.exp(-ctau * m2), rtol=1e-14, atol=0)
    assert bool((p.w[:, 0] == 1).all())                     # ctau = 0: no training, the start is kept


def test_composite_is_the_product_of_the_steps_between_its_times():
    p = MergeProblem(SCH, LAM, CTAU)
    lam = LAM.expand(3, 3)
    for s in range(6):
        for t in range(s, 6):
            prod = torch.ones(3, 3, dtype=F64)
            for j in range(s + 1, t + 1):
                prod = prod * ddim_step(SCH, lam, j - 1, j)
            torch.testing.assert_close(p.composite(s, t), prod, rtol=1e-13, atol=0)
    torch.testing.assert_close(p.composite(), p.composite(0, 5), rtol=0, atol=0)
    torch.testing.assert_close(p.composite(2), p.composite(2, 5), rtol=0, atol=0)
    for kwargs, word in (({"s": -1, "t": 3}, "s"), ({"s": 4, "t": 3}, "s"), ({"s": 0, "t": -1}, "t"),
                         ({"s": 0, "t": 6}, "t")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            p.composite(**kwargs)


@pytest.mark.parametrize("init", INITS)
def test_merge_is_the_gradient_flow_from_each_start(init):
    """f_t(a, b) = w_t S0 + (1 - w_t) a b, S0 the start of ``init`` (the warm start: S0 = a)."""
    p = MergeProblem(SCH, LAM, CTAU, init)
    lam, ctau = LAM.expand(3, 3), CTAU.expand(3, 3)
    a = torch.tensor([0.93, 1.07, 0.6], dtype=F64)
    b = torch.tensor([[0.8], [1.3], [0.95]], dtype=F64)
    for s, t in ((0, 1), (1, 4), (2, 5), (0, 5)):
        starts = {"warm": a.expand(3, 3), "zero": torch.zeros(3, 3, dtype=F64),
                  "identity": torch.ones(3, 3, dtype=F64), "teacher": ddim_step(SCH, lam, t - 1, t),
                  "coarse": ddim_step(SCH, lam, s, t)}
        w = torch.exp(-ctau * second_moment(SCH, lam, t))
        want = w * starts[init] + (1 - w) * a * b
        torch.testing.assert_close(p.merge(a, b, s, t), want, rtol=1e-14, atol=1e-16)
        got_start = p.start(s, t, first=a)
        if init == "warm":
            assert got_start is a
        else:
            torch.testing.assert_close(got_start, starts[init], rtol=1e-14, atol=0)


@pytest.mark.parametrize("init", [i for i in INITS if i != "warm"])
def test_start_over_tensors_of_times(init):
    """s and t given as integer tensors broadcast together; the result is batch + their shape."""
    p = MergeProblem(SCH, LAM, CTAU, init)
    s = torch.tensor([[0], [1], [3]])
    t = torch.tensor([2, 4, 5, 5])
    got = p.start(s, t)
    assert got.shape == (3, 3, 3, 4)
    lam = LAM.expand(3, 3)
    for i in range(3):
        for j in range(4):
            si, tj = int(s[i, 0]), int(t[j])
            want = {"zero": torch.zeros(3, 3, dtype=F64), "identity": torch.ones(3, 3, dtype=F64),
                    "teacher": ddim_step(SCH, lam, tj - 1, tj), "coarse": ddim_step(SCH, lam, si, tj)}[init]
            torch.testing.assert_close(got[..., i, j], want, rtol=1e-14, atol=0)
    assert got.dtype == F64


def test_combine_is_the_convex_rule():
    a, b, w, s0 = 0.9, 0.7, 0.25, 0.4
    x = {k: torch.tensor(v, dtype=F64) for k, v in dict(a=a, b=b, w=w, s0=s0).items()}
    assert math.isclose(float(combine(x["a"], x["b"], x["w"])), a * (w + (1 - w) * b), rel_tol=1e-15)
    assert math.isclose(float(combine(x["a"], x["b"], x["w"], x["s0"])), w * s0 + (1 - w) * a * b, rel_tol=1e-15)


def test_of_passes_a_problem_through_and_builds_one_otherwise():
    p = MergeProblem(SCH, LAM, CTAU, "coarse")
    assert MergeProblem.of(p) is p
    q = MergeProblem.of(SCH, LAM, CTAU, "coarse")
    assert q.init == "coarse" and torch.equal(q.w, p.w) and torch.equal(q.r, p.r)
    for kwargs in ({"lam": 1.0}, {"ctau": 1.0}, {"init": "zero"}):
        with pytest.raises(ValueError, match="not both"):
            MergeProblem.of(p, **kwargs)
    for args in ((SCH, None, 1.0), (SCH, 1.0, None), (SCH,)):
        with pytest.raises(TypeError, match="lam and ctau"):
            MergeProblem.of(*args)


@pytest.mark.parametrize("lam, ctau", [(LAM, CTAU), (2.0, 0.5), (torch.tensor([0.5, 2.0], dtype=F64), 1.0)])
def test_flat_has_one_batch_axis_and_the_same_numbers(lam, ctau):
    p = MergeProblem(SCH, lam, ctau, "teacher")
    f = p.flat()
    b = max(1, math.prod(p.shape))
    assert f.shape == (b,) and f.init == "teacher" and f.schedule is p.schedule
    for name, width in (("r", 5), ("w", 6), ("norms", 6)):
        assert getattr(f, name).shape == (b, width)
        assert torch.equal(getattr(f, name), getattr(p, name).reshape(b, width))
    for name in ("lam", "ctau", "T"):
        assert torch.equal(getattr(f, name), getattr(p, name).reshape(b))
    # the flat problem answers the same questions with the same numbers
    torch.testing.assert_close(f.composite(1, 4), p.composite(1, 4).reshape(b), rtol=0, atol=0)
    a = torch.full((b,), 0.9, dtype=F64)
    torch.testing.assert_close(f.merge(a, 0.8, 1, 4), p.merge(a.reshape(p.shape) if p.shape else a[0], 0.8, 1, 4)
                               .reshape(b), rtol=0, atol=0)


def test_with_init_changes_only_the_start_rule():
    p = MergeProblem(SCH, LAM, CTAU, "warm")
    q = p.with_init("zero")
    assert q.init == "zero" and p.init == "warm" and q is not p
    for name in ("schedule", "lam", "ctau", "shape", "r", "w", "norms", "T"):
        assert getattr(q, name) is getattr(p, name)
    fresh = MergeProblem(SCH, LAM, CTAU, "zero")
    a = torch.tensor(0.9, dtype=F64)
    torch.testing.assert_close(q.merge(a, 0.8, 1, 4), fresh.merge(a, 0.8, 1, 4), rtol=0, atol=0)
    torch.testing.assert_close(q.composite(1, 3), fresh.composite(1, 3), rtol=0, atol=0)
    with pytest.raises(ValueError, match="init"):
        p.with_init("hot")


def test_size_check_counts_the_tables_the_problem_holds(monkeypatch):
    """Accepted when the limit is what the problem stores; refused below the size of its four time tables."""
    p = MergeProblem(SCH, LAM, CTAU)
    held = sum(getattr(p, n).numel() for n in ("r", "w", "norms", "_log_r", "T", "lam", "ctau"))
    tables = sum(getattr(p, n).numel() for n in ("r", "w", "norms", "_log_r"))
    monkeypatch.setattr(checks, "MAX_ELEMENTS", held)
    MergeProblem(SCH, LAM, CTAU)
    monkeypatch.setattr(checks, "MAX_ELEMENTS", tables - 1)
    with pytest.raises(ValueError, match=r"^a merge problem with 9 variance/budget entries and N = 5 would hold "
                                         r".*; split lam or ctau into smaller batches, or raise"):
        MergeProblem(SCH, LAM, CTAU)


def test_bad_arguments_name_themselves():
    for kwargs, word in (({"lam": 0.0, "ctau": 1.0}, "lam"), ({"lam": 1.0, "ctau": -0.1}, "ctau"),
                         ({"lam": 1.0, "ctau": 1.0, "init": "cold"}, "init")):
        with pytest.raises(ValueError, match=word):
            MergeProblem(SCH, **kwargs)
    MergeProblem(SCH, 1.0, 0.0)                                          # ctau = 0 is allowed


def test_bad_arguments_are_named_first():
    """The message begins with the parameter's name (design: errors name the parameter)."""
    for kwargs, word in (({"lam": 0.0, "ctau": 1.0}, "lam"), ({"lam": 1.0, "ctau": -0.1}, "ctau"),
                         ({"lam": 1.0, "ctau": 1.0, "init": "cold"}, "init")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            MergeProblem(SCH, **kwargs)
    with pytest.raises(ValueError, match=r"^init must be one of 'warm', 'zero', 'identity', 'teacher', 'coarse'"):
        MergeProblem(SCH, 1.0, 1.0).with_init("hot")
