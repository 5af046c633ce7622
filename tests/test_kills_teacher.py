"""Teacher functions at the edges of their arguments (issue 16, mutation survivors of teacher.py)."""

import math

import pytest
import torch

import lineardistill as ld

F64 = torch.float64


def test_denoise_at_time_zero_is_the_identity_and_refuses_negative_times():
    sch = ld.Schedule.cosine(5)
    z = torch.tensor([0.3, -1.2], dtype=F64)
    torch.testing.assert_close(ld.denoise(z, 0, sch, [0.5, 2.0]), z, rtol=0, atol=0)      # g_0 = 1
    for bad in (-1, 6):
        with pytest.raises(ValueError, match=r"^t\b"):
            ld.denoise(z, bad, sch, 1.0)
    with pytest.raises(TypeError, match=r"^z\b"):
        ld.denoise("z", 1, sch, 1.0)


def test_run_ddim_names_its_start():
    with pytest.raises(TypeError, match=r"^z_start\b"):
        ld.run_ddim("noise", ld.Schedule.cosine(3), 1.0)


def test_composite_edges():
    sch = ld.Schedule.linear(6)
    lam = torch.tensor([0.4, 3.0], dtype=F64)
    torch.testing.assert_close(ld.composite(sch, lam, 0, 0), torch.ones(2, dtype=F64), rtol=0, atol=0)
    r = ld.teacher_multipliers(sch, lam)
    torch.testing.assert_close(ld.composite(sch, lam, 2, 5), r[:, 2] * r[:, 3] * r[:, 4], rtol=1e-14, atol=0)
    for kwargs, word in (({"s": -1, "t": 3}, "s"), ({"s": 0, "t": -1}, "t"), ({"s": 0, "t": 7}, "t"),
                         ({"s": 4, "t": 2}, "s")):
        with pytest.raises(ValueError, match=rf"^{word}\b"):
            ld.composite(sch, lam, **kwargs)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_log_composites_table_for_any_batch_shape(shape):
    n = 5
    sch = ld.Schedule.cosine(n)
    lam = torch.linspace(0.2, 4.0, max(1, math.prod(shape)), dtype=F64).reshape(shape)
    table = ld.log_composites(sch, lam)
    assert table.shape == shape + (n + 1, n + 1)
    r = ld.teacher_multipliers(sch, lam)
    for s in range(n + 1):
        for t in range(n + 1):
            want = torch.log(r[..., s:t]).sum(-1) if s < t else torch.zeros(shape, dtype=F64)
            torch.testing.assert_close(table[..., s, t], want, rtol=1e-13, atol=1e-15)


def _refused(fn, limit, monkeypatch):
    """Whether ``fn()`` is refused for size with MAX_ELEMENTS = limit (any other error is re-raised)."""
    import lineardistill._checks as checks

    monkeypatch.setattr(checks, "MAX_ELEMENTS", limit)
    try:
        fn()
    except ValueError as err:
        if "MAX_ELEMENTS" not in str(err):
            raise
        return str(err)
    return None


@pytest.mark.parametrize("lam", [2.0, [0.5, 2.0, 3.0]])
def test_a_table_over_time_is_refused_exactly_when_it_exceeds_the_limit(lam, monkeypatch):
    """One float64 per variance and time t = 0..N: accepted at that count, refused one below, saying so."""
    sch = ld.Schedule.cosine(5)
    k = torch.as_tensor(lam).numel()
    for fn in (lambda: ld.denoiser_gain(sch, lam), lambda: ld.teacher_multipliers(sch, lam)):
        assert _refused(fn, k * 6, monkeypatch) is None
        msg = _refused(fn, k * 6 - 1, monkeypatch)
        assert msg is not None and msg.startswith(f"a table over 6 times for {k} variances would hold {k * 6} ")
        assert "; use fewer variances or steps, or raise" in msg


def test_the_log_composite_table_is_refused_exactly_when_its_two_square_tables_exceed_the_limit(monkeypatch):
    """log_composites builds the (N+1) x (N+1) table from a difference of the same size: 2 (N+1)^2 per variance."""
    sch = ld.Schedule.linear(4)
    lam = [0.5, 2.0]
    fn = lambda: ld.log_composites(sch, lam)        # noqa: E731
    assert _refused(fn, 2 * 2 * 25, monkeypatch) is None
    assert _refused(fn, 2 * 2 * 25 - 1, monkeypatch) is not None


def test_a_bad_variance_is_named_first():
    with pytest.raises(ValueError, match=r"^lam\b"):
        ld.teacher_multipliers(ld.Schedule.cosine(3), -1.0)
