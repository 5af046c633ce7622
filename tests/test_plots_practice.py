"""Chapter-10 figures (plots.plot_practice_map, plots.plot_equal_budget): their data, checked from a second side."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import lineardistill as ld
from lineardistill import MergeTree, plots

F64 = torch.float64


@pytest.fixture(scope="module")
def practice_map():
    """The map's data, computed once (plots.practice_map); the figure only draws it."""
    sch = ld.Schedule.cosine(6)
    lams = torch.tensor([0.3, 0.9, 1.25, 1.4, 1.7, 3.0], dtype=F64)
    ctaus = torch.tensor([0.05, 0.5, 5.0], dtype=F64)
    data = plots.practice_map(sch, lams=lams, ctaus=ctaus)
    yield sch, lams, ctaus, data


def _warm_value(tree, a, s, lam, ctau):
    """The warm-started merge written out here, recursively from the schedule arrays, not merge_value."""
    if tree.is_leaf:
        t = tree.hi
        return (a[t - 1] * a[t] * lam + s[t - 1] * s[t]) / (a[t] ** 2 * lam + s[t] ** 2)
    kids = [_warm_value(c, a, s, lam, ctau) for c in tree.children]
    w = math.exp(-ctau * (a[tree.hi] ** 2 * lam + s[tree.hi] ** 2))
    return kids[0] * (w + (1 - w) * math.prod(kids[1:]))


def test_practice_map_best_named_matches_pointwise_evaluation(practice_map):
    sch, lams, ctaus, data = practice_map
    assert data.best_named.shape == (6, 3)
    a, s = sch.alphas.tolist(), sch.sigmas.tolist()
    for i, lam in enumerate(lams.tolist()):
        for j, ctau in enumerate(ctaus.tolist()):
            T = math.prod(_warm_value(MergeTree.leaf(t), a, s, lam, ctau) for t in range(1, 7))
            dist = [abs(_warm_value(MergeTree.named(name, 6), a, s, lam, ctau) - T) for name in ld.STRATEGIES]
            assert dist[int(data.best_named[i, j])] == pytest.approx(min(dist), rel=1e-9, abs=1e-15)


def test_practice_map_gain_against_brute_force_optimum(practice_map):
    sch, lams, ctaus, data = practice_map
    floor = 1e-12
    for i, lam in enumerate(lams.tolist()):
        for j, ctau in enumerate(ctaus.tolist()):
            T = ld.composite(sch, lam).item()
            every = ld.enumerate_values(sch, lam, ctau).values          # all 197 trees, brute force
            best = max((every - T).abs().min().item(), floor * T)
            named = max(min(abs(ld.merge_value(MergeTree.named(name, 6), sch, lam, ctau).item() - T)
                            for name in ld.STRATEGIES), floor * T)
            assert data.gain[i, j].item() == pytest.approx(named / best, rel=1e-6)
            assert data.gain[i, j].item() >= 1 - 1e-9


def test_practice_map_regimes(practice_map):
    sch, lams, _, data = practice_map
    boot, vanilla = ld.STRATEGIES.index("boot"), ld.STRATEGIES.index("vanilla")
    assert bool((data.best_named[lams <= 1] == boot).all())               # R16, BOOT half
    assert bool((data.best_named[lams >= ld.lambda_c(sch)] == vanilla).all())  # R16, one-shot half


def test_practice_map_figure_draws_given_data_without_computing(practice_map, monkeypatch):
    sch, lams, ctaus, data = practice_map

    def must_not_run(*args, **kwargs):
        raise AssertionError("the figure computed although it was given its data")

    for where in (plots.practice, plots):   # where plot_practice_map looks it up, and the re-export
        monkeypatch.setattr(where, "practice_map", must_not_run)
    fig = plots.plot_practice_map(data)
    assert fig.patch.get_facecolor()[3] == 1.0 and not hasattr(fig, "gain")  # no data hung on the figure
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_practice_map(data, axes=axes) is fig
    drawn = axes[0].collections[0].get_array().reshape(len(ctaus), len(lams))
    np.testing.assert_array_equal(drawn, data.best_named.T.numpy())
    gain = axes[1].collections[0].get_array().reshape(len(ctaus), len(lams))
    np.testing.assert_allclose(gain, torch.log10(data.gain).T.numpy())
    lines = sorted(line.get_xdata()[0] for line in axes[0].lines)
    assert lines == pytest.approx(sorted([1.0, ld.lambda_c(sch), ld.lambda_boot(sch)]))
    plt.close(fig)


def test_equal_budget_matches_closed_form():
    sch = ld.Schedule.cosine(5)
    totals = torch.tensor([0.2, 2.0, 8.0], dtype=F64)
    data = plots.equal_budget_errors(sch, lams=(0.5, 3.0), totals=totals)
    errors = data.errors
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_equal_budget(data, axes=axes) is fig
    boot = next(line for line in axes[1].lines if line.get_label().startswith("boot"))
    np.testing.assert_allclose(boot.get_ydata(), errors["boot"][1].numpy())
    assert boot.get_label() == "boot (4 runs)"
    plt.close(fig)
    for k, lam in enumerate((0.5, 3.0)):
        T = ld.composite(sch, lam).item()
        r_n = ld.teacher_multipliers(sch, lam)[-1].item()
        for j, total in enumerate(totals.tolist()):
            # one-shot: m - T = w_N (r_N - T), w_N = exp(-C ||v_N||^2)
            w = math.exp(-total * ld.vector_norms(sch, lam)[-1].item() ** 2)
            assert errors["vanilla"][k, j].item() == pytest.approx(w * abs(r_n - T) / T, rel=1e-10)
            # BOOT: its N - 1 runs share the total
            boot = ld.boot_value(sch, lam, total / 4).item()
            assert errors["boot"][k, j].item() == pytest.approx(abs(boot - T) / T, rel=1e-10)
            assert errors["vanilla"][k, j].item() <= min(e[k, j].item() for e in errors.values()) * (1 + 1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_steps": 1}, "num_steps"),
    ({"lams": [1.0, -2.0]}, "lams"),
    ({"ctaus": [0.0, 1.0]}, "ctaus"),
    ({"init": "random"}, "init"),
    ({"floor": 0.0}, "floor"),
])
def test_practice_map_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.practice_map(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"lams": []}, "lams"),
    ({"totals": [1.0, 0.0]}, "totals"),
    ({"schedule": "ve"}, "schedule"),
])
def test_equal_budget_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.equal_budget_errors(**kwargs)
