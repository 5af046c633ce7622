"""The student's public functions at the edges of their arguments (issue 16, mutation survivors of student.py).

Expected values come from the DDIM jump through the exact denoiser and the
gradient-flow solution ``S = w S0 + (1 - w) C``, written out here from the
schedule's ``alphas`` and ``sigmas``.
"""

import pytest
import torch

import lineardistill as ld
import lineardistill._checks as checks
from lineardistill.student import coarse_multipliers, initial_value, merge_block, merge_values

F64 = torch.float64
SCH = ld.Schedule.cosine(6)


def jump(sch, lam, s, t):
    """z_s / z_t for one DDIM jump from t to s: x0_hat by the exact denoiser, then eps_hat."""
    a, sg = sch.alphas, sch.sigmas
    x0 = a[t] * lam / (a[t] ** 2 * lam + sg[t] ** 2)
    eps = (1 - a[t] * x0) / sg[t]
    return a[s] * x0 + sg[s] * eps


def test_coarse_table_is_the_ddim_jump_for_every_pair():
    lam = torch.tensor([[0.2, 1.0, 5.0]], dtype=F64)
    table = coarse_multipliers(SCH, lam)
    assert table.shape == (1, 3, 7, 7)
    for s in range(7):
        for t in range(1, 7):
            torch.testing.assert_close(table[..., s, t], jump(SCH, lam, s, t), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("lam", [2.0, [0.5, 2.0]])
def test_coarse_table_size_check(lam, monkeypatch):
    k = torch.as_tensor(lam).numel()
    monkeypatch.setattr(checks, "MAX_ELEMENTS", k * 7 * 7)          # exactly the table: accepted
    coarse_multipliers(SCH, lam)
    monkeypatch.setattr(checks, "MAX_ELEMENTS", k * 7 * 7 - 1)
    with pytest.raises(ValueError, match=rf"^the coarse table for N = 6 would hold {k * 49} float64 numbers "
                                         r".*; use fewer variances or steps, or raise"):
        coarse_multipliers(SCH, lam)
    with pytest.raises(ValueError, match="lam"):
        coarse_multipliers(SCH, [1.0, -1.0])


def test_merge_values_is_a_convex_combination_with_weights_in_the_closed_interval():
    start = torch.tensor([1.0, 0.2], dtype=F64)
    product = torch.tensor([[0.5], [2.0], [1.0]], dtype=F64)
    for w in (0.0, 0.3, 1.0):
        got = merge_values(start, product, w)
        assert got.shape == (3, 2)
        torch.testing.assert_close(got, w * start + (1 - w) * product, rtol=1e-15, atol=0)
    assert torch.equal(merge_values(start, product, 1.0), start.expand(3, 2))
    assert torch.equal(merge_values(start, product, 0.0), product.expand(3, 2))
    for bad in (-1e-12, 1 + 1e-12, [0.5, 1.5]):
        with pytest.raises(ValueError, match=r"^weight must lie in \[0, 1\]"):
            merge_values(start, 1.0, bad)
    assert merge_values([], [], []).shape == (0,)                   # nothing to check in an empty weight
    with pytest.raises(ValueError, match="product"):
        merge_values(1.0, float("nan"), 0.5)
    with pytest.raises(ValueError, match="weight"):
        merge_values(1.0, 1.0, float("nan"))


@pytest.mark.parametrize("init", ["zero", "identity"])
def test_constant_starts_take_the_shape_and_type_of_the_first_child(init):
    """The variances are not used by a constant start, so they do not widen it."""
    first = torch.tensor([[0.9, 1.1, 0.7]], dtype=F64)
    for lam in (1.0, torch.tensor([[[0.5]], [[3.0]]], dtype=F64)):
        got = initial_value(init, first, SCH, lam, 0, 6)
        assert got.shape == first.shape and got.dtype == F64
        assert bool((got == (0.0 if init == "zero" else 1.0)).all())


def test_bad_arguments_are_named_first():
    cases = [(lambda: merge_values("a", 1.0, 0.5), TypeError, "start"),
             (lambda: merge_values(1.0, "a", 0.5), TypeError, "product"),
             (lambda: merge_values(1.0, 1.0, "a"), TypeError, "weight"),
             (lambda: initial_value("warm", "x", SCH, 1.0, 0, 1), TypeError, "first_child"),
             (lambda: initial_value("hot", 1.0, SCH, 1.0, 0, 1), ValueError, "init"),
             (lambda: coarse_multipliers(SCH, -1.0), ValueError, "lam")]
    for fn, err, word in cases:
        with pytest.raises(err, match=rf"^{word}\b"):
            fn()


@pytest.mark.parametrize("init", ["teacher", "coarse"])
def test_schedule_starts_broadcast_with_the_first_child_and_can_be_updated(init):
    first = torch.tensor([0.9, 1.1, 0.7], dtype=F64)
    lam = torch.tensor([[0.5], [3.0]], dtype=F64)
    s, t = 1, 4
    got = initial_value(init, first, SCH, lam, s, t)
    want = jump(SCH, lam, t - 1 if init == "teacher" else s, t).expand(2, 3)
    assert got.shape == (2, 3)
    torch.testing.assert_close(got, want, rtol=1e-13, atol=0)
    got += 1.0                                                       # a fresh tensor, not a broadcast view
    torch.testing.assert_close(got, want + 1.0, rtol=1e-13, atol=0)
    # a scalar variance against several first children: the start repeats for each of them
    one = initial_value(init, first, SCH, 2.0, s, t)
    assert one.shape == (3,)
    one[0] = 0.0
    assert float(one[1]) == pytest.approx(float(jump(SCH, torch.tensor(2.0, dtype=F64), t - 1 if init == "teacher"
                                                     else s, t)), rel=1e-13)


def test_initial_value_accepts_every_block_and_no_other():
    for t in range(1, 7):
        for s in range(t):
            torch.testing.assert_close(initial_value("coarse", 1.0, SCH, 1.5, s, t),
                                       jump(SCH, torch.tensor(1.5, dtype=F64), s, t), rtol=1e-13, atol=0)
    for s, t, word in ((0, 0, "t"), (0, 7, "t"), (-1, 3, "s"), (3, 3, "s"), (4, 3, "s")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            initial_value("warm", 1.0, SCH, 1.0, s, t)
    with pytest.raises(TypeError, match="first_child"):
        initial_value("warm", "x", SCH, 1.0, 0, 1)


def test_merge_block_multiplies_every_later_child():
    lam = torch.tensor([0.4, 2.0], dtype=F64)
    ctau = 0.8
    kids = [torch.tensor([0.9, 1.05], dtype=F64), 0.8, torch.tensor([1.1, 0.7], dtype=F64), 0.95]
    w = torch.exp(-ctau * (SCH.alphas[5] ** 2 * lam + SCH.sigmas[5] ** 2))
    rest = 0.8 * kids[2] * 0.95
    got = merge_block(kids, SCH, lam, ctau, 1, 5)
    torch.testing.assert_close(got, kids[0] * (w + (1 - w) * rest), rtol=1e-14, atol=0)
    for init in ("zero", "coarse"):
        s0 = torch.zeros(2, dtype=F64) if init == "zero" else jump(SCH, lam, 1, 5)
        torch.testing.assert_close(merge_block(kids, SCH, lam, ctau, 1, 5, init=init),
                                   w * s0 + (1 - w) * kids[0] * rest, rtol=1e-14, atol=0)
    # one child: the block is that child trained towards itself
    torch.testing.assert_close(merge_block([kids[0]], SCH, lam, ctau, 4, 5), kids[0], rtol=1e-15, atol=0)


def test_merge_block_result_has_the_broadcast_shape_and_is_its_own_tensor():
    lam = torch.tensor([[0.5], [2.0]], dtype=F64)
    got = merge_block([0.9, 0.8], SCH, lam, 0.0, 0, 2)              # no training: the warm start keeps 0.9
    assert got.shape == (2, 1)
    assert bool((got == 0.9).all())
    got += 1.0
    wide = merge_block([torch.tensor([0.9, 0.8, 0.7], dtype=F64)], SCH, 1.0, 1.0, 0, 1)
    assert wide.shape == (3,)
    wide2 = merge_block([0.9], SCH, torch.tensor([1.0, 2.0], dtype=F64), 1.0, 0, 1)
    wide2[0] = 0.0
    assert float(wide2[1]) == pytest.approx(0.9, rel=1e-15)


def test_merge_block_argument_checks():
    for s, t, word in ((0, 0, "t"), (0, 7, "t"), (-1, 3, "s"), (3, 3, "s")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            merge_block([0.9], SCH, 1.0, 1.0, s, t)
    for bad in ("0.9", b"0.9", 0.9, None):
        with pytest.raises(TypeError, match="child_values"):
            merge_block(bad, SCH, 1.0, 1.0, 0, 1)
    with pytest.raises(ValueError, match=r"child_values\[1\]"):
        merge_block([0.9, float("nan")], SCH, 1.0, 1.0, 0, 2)
