"""Phase analysis at the edges of its arguments (issue 16, mutation survivors of phase.py).

Thresholds are found here by bisection on the teacher multipliers (``r_t = 1``),
phases by brute force over every tree, shares by counting.
"""

import math

import pytest
import torch

import lineardistill as ld
from lineardistill.phase import PHASES, classify, exact_variances, lambda_c, phase_diagram, step_thresholds
from lineardistill.trees import MergeTree, all_trees, merge_value

F64 = torch.float64
# alpha stays at 0.9 over step 2 (a VE-like step) and drops elsewhere; sigma increases throughout
FLAT = ld.Schedule(torch.tensor([1.0, 0.9, 0.9, 0.5, 0.4], dtype=F64),
                   torch.tensor([0.0, 0.3, 0.5, 0.8, 1.0], dtype=F64), variance_preserving=False)


def crossing(sch, t, lo=1e-6, hi=1e6):
    """The variance where r_t = 1, by bisection in log lam on teacher_multipliers (r_t increases with lam)."""
    f = lambda lam: float(ld.teacher_multipliers(sch, lam)[t - 1]) - 1.0      # noqa: E731
    if f(hi) < 0:
        return math.inf
    lo, hi = math.log(lo), math.log(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(math.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
    return math.exp(0.5 * (lo + hi))


@pytest.mark.parametrize("sch", [FLAT, ld.Schedule.linear(5), ld.Schedule.variance_exploding(4)],
                         ids=["flat-step", "linear5", "ve4"])
def test_step_thresholds_are_where_each_inner_step_crosses_one(sch):
    th = step_thresholds(sch)
    assert th.shape == (sch.num_steps - 1,)
    for t in range(1, sch.num_steps):
        want = crossing(sch, t)
        got = float(th[t - 1])
        assert got == want if math.isinf(want) else got == pytest.approx(want, rel=1e-9)
    assert step_thresholds(ld.Schedule.cosine(1)).shape == (0,)
    assert math.isinf(lambda_c(sch)) == bool(torch.isinf(th).any())


def test_names_follow_the_shape_of_the_codes():
    sch = ld.Schedule.cosine(5)
    lam = torch.tensor([[0.3], [1.6], [9.0]], dtype=F64)
    ph = classify(sch, lam, torch.tensor([0.0, 1.0], dtype=F64))
    names = ph.names()
    assert len(names) == 3 and all(len(row) == 2 for row in names)
    assert names == [[PHASES[int(c)] for c in row] for row in ph.code]
    assert names[0] == ["tie", "BOOT"] and names[2] == ["tie", "one-shot"]
    assert classify(sch, 0.3, 1.0).names() == "BOOT"


def test_phase_diagram_holds_its_grid_and_counts_each_phase():
    sch = ld.Schedule.cosine(6)
    lams = torch.tensor([0.5, 1.3, 1.4, 3.0], dtype=F64)
    ctaus = torch.tensor([0.0, 0.4, 2.0], dtype=F64)
    pd = phase_diagram(sch, lams, ctaus, init="warm")
    assert pd.init == "warm" and torch.equal(pd.schedule.alphas, sch.alphas)
    assert torch.equal(pd.lams, lams) and torch.equal(pd.ctaus, ctaus)
    assert pd.lambda_c == lambda_c(sch)
    # brute force over all 197 trees at every grid point
    trees = all_trees(6)
    lam_b, ctau_b = torch.broadcast_tensors(lams[:, None], ctaus[None, :])
    values = torch.stack([merge_value(t, sch, lam_b, ctau_b) for t in trees])
    T = ld.composite(sch, lam_b)
    dist = (values - T).abs()
    best = dist.min(0).values
    tol = 1e-12 * T
    boot_ok = dist[trees.index(MergeTree.boot(6))] <= best + tol
    one_ok = dist[trees.index(MergeTree.vanilla(6))] <= best + tol
    want = torch.where(boot_ok & one_ok, 3, torch.where(boot_ok, 0, torch.where(one_ok, 2, 1)))
    assert torch.equal(pd.code, want)
    shares = pd.fractions()
    assert list(shares) == list(PHASES)
    for k, name in enumerate(PHASES):
        assert shares[name] == int((want == k).sum()) / 12
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-15)


def test_grid_arguments_are_named():
    sch = ld.Schedule.cosine(4)
    with pytest.raises(ValueError, match=r"^lam\b"):
        classify(sch, -1.0, 1.0)
    with pytest.raises(ValueError, match=r"^ctau\b"):
        classify(sch, 1.0, -1.0)
    for fn in (ld.phase.boot_value, ld.phase.one_shot_value):
        with pytest.raises(ValueError, match=r"^lam\b"):
            fn(sch, 0.0, 1.0)
        with pytest.raises(ValueError, match=r"^ctau\b"):
            fn(sch, 1.0, float("nan"))
    with pytest.raises(ValueError, match=r"^lams and ctaus must be non-empty, got 0 and 1"):
        phase_diagram(sch, [], [1.0])
    with pytest.raises(ValueError, match=r"^lams and ctaus must be non-empty, got 2 and 0"):
        phase_diagram(sch, [1.0, 2.0], [])
    with pytest.raises(ValueError, match=r"^lams\b"):
        phase_diagram(sch, [0.0], [1.0])
    with pytest.raises(ValueError, match=r"^ctaus\b"):
        phase_diagram(sch, [1.0], [-1.0])
    with pytest.raises(ValueError, match=r"^ctau must be a single budget, got shape \(2,\)"):
        exact_variances(sch, [0.1, 1.0])
