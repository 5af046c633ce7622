"""Training (R8) at the edges of its arguments (issue 16, mutation survivors of training.py).

Expected numbers are written out here: ``(1 - eta m)^n`` in Python floats for
plain GD with the exact gradient, record schedules listed by hand, work counts
multiplied out. Runs are tiny (a few steps, a few latents).
"""

import math

import pytest
import torch

import lineardistill as ld
import lineardistill.training as tr
from lineardistill.training import gd_weights, train_block, train_tree, training_tolerance

F64 = torch.float64
SCH = ld.Schedule.cosine(4)
KW = dict(progress=False, device="cpu")


def second_moments(sch, lam):
    return [float(sch.alphas[t]) ** 2 * lam + float(sch.sigmas[t]) ** 2 for t in range(sch.num_steps + 1)]


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 8])
@pytest.mark.parametrize("ctau_per_step", [0.3, 0.99, 1.4, 1.9])
def test_gd_weights_are_the_power_of_one_step_even_when_gd_overshoots(steps, ctau_per_step):
    """eta m up to 1.9: (1 - eta m)^n with its sign (negative for odd n once eta m > 1)."""
    lam = 3.0
    m = second_moments(SCH, lam)
    ctau = ctau_per_step * steps / max(m)                  # the largest eta m is ctau_per_step
    got = gd_weights(SCH, lam, ctau, steps=steps)
    want = torch.tensor([(1 - ctau / steps * mt) ** steps for mt in m], dtype=F64)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-300)


def test_gd_weights_refuse_a_diverging_run_that_overflows():
    lam, steps = 3.0, 2000
    m = max(second_moments(SCH, lam))
    ctau = 3.0 * steps / m                                 # eta m = 3: |1 - eta m|^n = 2^2000 overflows
    with pytest.raises(ValueError, match=rf"^steps = {steps} is too few for ctau up to"):
        gd_weights(SCH, lam, ctau, steps=steps)
    ok = gd_weights(SCH, lam, 3.0 * 1000 / m, steps=1000)  # 2^1000 is finite: returned, sign +
    assert float(ok.max()) == pytest.approx(2.0 ** 1000, rel=1e-9)
    with pytest.raises(ValueError, match="^steps"):
        gd_weights(SCH, lam, 1.0, steps=0)


def test_step_size_check_suggests_a_number_of_steps_that_is_accepted():
    lam = torch.tensor([0.5, 4.0], dtype=F64)
    ctau = 6.0
    # students of ((4,3),(2,1)) are trained at their top times 4 and 2 (not 3 or 1, where ||v_1|| is larger)
    worst = ctau * max(second_moments(SCH, float(v))[t] for v in lam for t in (2, 4))   # eta ||v||^2 * steps
    assert worst < ctau * max(second_moments(SCH, float(v))[1] for v in lam)
    with pytest.raises(ValueError, match=r"^steps = 3 is too few") as info:
        train_tree("((4,3),(2,1))", SCH, lam, ctau, steps=3, batch_size=2, **KW)
    need = int(str(info.value).split("use steps >= ")[1].split(" ")[0])
    assert worst + 1 <= need <= worst + 2 + 1e-9
    train_tree("((4,3),(2,1))", SCH, lam, ctau, steps=need, batch_size=2, **KW)
    with pytest.raises(ValueError, match=rf"^steps = {math.floor(worst)} is too few"):
        train_tree("((4,3),(2,1))", SCH, lam, ctau, steps=math.floor(worst), batch_size=2, **KW)
    with pytest.raises(ValueError, match=r"^steps = 3 is too few"):
        train_block([0.9, 0.9], SCH, lam, ctau, 2, 4, steps=3, batch_size=2)
    # the check looks at the times where students are trained: a block from t = 1 has ||v_1|| < ||v_4||
    m1 = max(second_moments(SCH, float(v))[1] for v in lam)
    train_block([0.9], SCH, lam, 0.9 * 3 / m1, 0, 1, steps=3, batch_size=2)


@pytest.mark.parametrize("steps, every, records", [
    (250, None, list(range(0, 251, 2))),
    (50, None, list(range(51))),
    (20, 7, [0, 7, 14, 20]),
    (21, 7, [0, 7, 14, 21]),
    (3, 5, [0, 3]),
])
def test_loss_is_recorded_on_the_stated_steps(steps, every, records):
    out = train_block([0.9, 0.95], SCH, 1.0, 0.5, 2, 4, steps=steps, batch_size=2, record_every=every)
    assert out.recorded_steps.tolist() == records
    assert out.loss_curves[4, 2].shape == (len(records),)
    tree = train_tree("((4,3),2,1)", SCH, 1.0, 0.5, steps=steps, batch_size=2, record_every=every, **KW)
    assert tree.recorded_steps.tolist() == records
    assert set(tree.loss_curves) == {(4, 2), (4, 0)} and tree.loss_curves[4, 0].shape == (len(records),)


def test_training_arguments_are_checked_and_named():
    cases = [
        (dict(steps=0), ValueError, "steps"), (dict(batch_size=0), ValueError, "batch_size"),
        (dict(seed=-1), ValueError, "seed"), (dict(seed=2**64), ValueError, "seed"),
        (dict(record_every=0), ValueError, "record_every"), (dict(rng_device="gpu"), ValueError, "rng_device"),
        (dict(optimizer="sgd"), ValueError, "optimizer"), (dict(resample="yes"), TypeError, "resample"),
        (dict(progress=1.5), TypeError, "progress"), (dict(device="gpu0"), ValueError, "device"),
        (dict(betas=(1.0, 0.5)), ValueError, "betas"), (dict(betas=(0.5, 1.0)), ValueError, "betas"),
        (dict(betas=(-0.1, 0.5)), ValueError, "betas"), (dict(betas=(0.5, -0.1)), ValueError, "betas"),
        (dict(betas="ab"), TypeError, "betas"), (dict(betas=0.9), TypeError, "betas"),
    ]
    for kwargs, err, word in cases:
        kw = {"steps": 2, "batch_size": 2, **kwargs}
        with pytest.raises(err, match=rf"^{word}\b"):
            train_block([0.9], SCH, 1.0, 0.5, 3, 4, **kw)
    # the edges that are allowed
    for kwargs in (dict(seed=2**64 - 1), dict(seed=0), dict(betas=(0.0, 0.0)), dict(rng_device="device"),
                   dict(record_every=1), dict(resample=False)):
        train_block([0.9], SCH, 1.0, 0.5, 3, 4, **{"steps": 2, "batch_size": 2, **kwargs})


def test_train_block_checks_its_block_and_children():
    for s, t, word in ((0, 0, "t"), (0, 5, "t"), (-1, 2, "s"), (2, 2, "s")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            train_block([0.9], SCH, 1.0, 0.5, s, t, steps=2, batch_size=2)
    for bad in ("0.9", b"09", 0.9, []):
        with pytest.raises(ValueError, match=r"^child_values must be a non-empty sequence"):
            train_block(bad, SCH, 1.0, 0.5, 0, 1, steps=2, batch_size=2)


def test_work_limit_counts_steps_batch_students_and_entries(monkeypatch):
    lam = torch.tensor([0.5, 2.0, 3.0], dtype=F64)
    # train_tree: 3 steps x 4 latents x 3 students ((4,3), (2,1) and the root) x 3 entries = 108
    monkeypatch.setattr(tr, "MAX_TRAINING_WORK", 108)
    train_tree("((4,3),(2,1))", SCH, lam, 0.2, steps=3, batch_size=4, **KW)
    monkeypatch.setattr(tr, "MAX_TRAINING_WORK", 107)
    with pytest.raises(ValueError, match=r"^steps = 3 x batch_size = 4 x 3 student\(s\) x 3 variance/budget"):
        train_tree("((4,3),(2,1))", SCH, lam, 0.2, steps=3, batch_size=4, **KW)
    # train_block: one student; a scalar problem counts as one entry
    monkeypatch.setattr(tr, "MAX_TRAINING_WORK", 12)
    train_block([0.9, 0.8], SCH, 1.0, 0.2, 2, 4, steps=3, batch_size=4)
    monkeypatch.setattr(tr, "MAX_TRAINING_WORK", 11)
    with pytest.raises(ValueError, match="MAX_TRAINING_WORK"):
        train_block([0.9, 0.8], SCH, 1.0, 0.2, 2, 4, steps=3, batch_size=4)


@pytest.mark.parametrize("resample", [True, False])
def test_a_batch_drawn_in_chunks_trains_the_same_students(resample, monkeypatch):
    """Chunking is bookkeeping: the same draws, the same sums (up to summation order)."""
    lam = torch.tensor([0.5, 2.0], dtype=F64)
    kw = dict(steps=6, batch_size=7, seed=4, resample=resample, **KW)
    whole = train_tree("((4,3),2,1)", SCH, lam, 0.8, **kw)
    monkeypatch.setattr(tr, "MAX_CHUNK_ELEMENTS", 5)          # 2 entries per student: chunks of 2 latents
    chunked = train_tree("((4,3),2,1)", SCH, lam, 0.8, **kw)
    torch.testing.assert_close(chunked.value, whole.value, rtol=1e-13, atol=0)
    for key in whole.loss_curves:
        torch.testing.assert_close(chunked.loss_curves[key], whole.loss_curves[key], rtol=1e-12, atol=0)


def test_progress_bar_counts_every_step(capsys):
    train_tree("((4,3),(2,1))", SCH, 1.0, 0.3, steps=5, batch_size=2, progress=True, device="cpu")
    err = capsys.readouterr().err
    assert "training 3 student(s) on cpu:" in err and "0/10 " in err      # 5 steps x 2 levels
    train_block([0.9], SCH, 1.0, 0.3, 3, 4, steps=4, batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "training one student on cpu:" in err and "0/4 " in err


def test_training_tolerance_checks_its_arguments():
    tree = "((4,3),(2,1))"
    for kwargs, word in ((dict(steps=0, batch_size=2), "steps"), (dict(steps=2, batch_size=0), "batch_size"),
                         (dict(steps=2, batch_size=2, num_sigmas=-1.0), "num_sigmas")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            training_tolerance(tree, SCH, 1.0, 0.5, **kwargs)
    zero = training_tolerance(tree, SCH, 1.0, 0.5, steps=10**8, batch_size=10, num_sigmas=0.0)
    assert bool((zero > 0).all()) and float(zero) < 1e-7          # only the step-size bias is left


def test_gd_weights_default_to_one_step_and_refuse_zero_steps():
    m = second_moments(SCH, 2.0)
    want = torch.tensor([1 - 0.3 * mt for mt in m], dtype=F64)             # one exact-gradient step
    torch.testing.assert_close(gd_weights(SCH, 2.0, 0.3), want, rtol=1e-14, atol=0)
    for ctau in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"^steps must be >= 1"):
            gd_weights(SCH, 2.0, ctau, steps=0)


def test_train_block_defaults_and_result():
    kw = dict(steps=200, batch_size=256, seed=0, optimizer="gd", resample=True, device="cpu")
    a = train_block([0.9, 0.95], SCH, 1.0, 0.5, 2, 4, device="cpu")
    b = train_block([0.9, 0.95], SCH, 1.0, 0.5, 2, 4, **kw)
    assert torch.equal(a.value, b.value) and torch.equal(a.loss_curves[4, 2], b.loss_curves[4, 2])
    assert a.device == torch.device("cpu")
    assert set(a.node_values) == {(4, 2)} and torch.equal(a.node_values[4, 2], a.value)
    with pytest.raises(TypeError, match=r"^child_values\[1\]"):
        train_block([0.9, "a"], SCH, 1.0, 0.5, 2, 4, steps=2, batch_size=2)


def test_train_block_is_quiet_by_default_and_its_bar_is_removed(capsys):
    train_block([0.9], SCH, 1.0, 0.3, 3, 4, steps=4, batch_size=2)
    assert capsys.readouterr().err == ""
    train_block([0.9], SCH, 1.0, 0.3, 3, 4, steps=4, batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "0/4 " in err and "4/4" not in err                             # leave=False: gone when done


@pytest.mark.parametrize("init", ["teacher", "coarse", "zero"])
def test_a_fixed_start_is_repeated_for_children_given_per_coordinate(init):
    """Children with their own axis and one variance: the start (which depends on lam only) spreads over it."""
    kids = [torch.tensor([0.9, 0.95, 1.0], dtype=F64), 0.9]
    out = train_block(kids, SCH, 1.0, 0.4, 2, 4, init=init, steps=20, batch_size=8)
    assert out.value.shape == (3,)
    assert out.loss_curves[4, 2].shape[1:] == (3,)


def test_training_tolerance_tree_must_fit_and_small_runs_are_allowed():
    with pytest.raises(ValueError, match=r"must cover 4\.\.1"):
        training_tolerance("(3,2,1)", SCH, 1.0, 0.5, steps=10, batch_size=10)
    tol = training_tolerance("((4,3),(2,1))", SCH, 1.0, 0.1, steps=1, batch_size=1)
    assert bool(torch.isfinite(tol)) and float(tol) > 0
