"""Figures as reusable functions (issue 10): data functions checked against closed forms written out here;
drawing functions draw into the Axes given, draw the data given (and nothing else), and attach nothing."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import lineardistill as ld
from lineardistill import plots

F64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


ONE_PANEL = [
    ("plot_signal_noise_vectors", {}),
    ("plot_teacher_samples", {"data": plots.teacher_samples(num_samples=500)}),
    ("plot_merge_tree", {}),
    ("plot_lambda_c", {"data": plots.lambda_c_curves(num_steps=(2, 4))}),
    ("plot_dp_timing", {"timing": plots.DPTiming(sizes=[8, 16], times=[0.001, 0.008], slope=3.0)}),
    ("plot_cost_front", {"data": plots.training_cost_front("cosine", 4, lams=(0.5, 2.0))}),
    ("plot_spectra", {"spectra": {"toy": [3.0, 1.0, 0.5]}, "lambda_c": 2.1}),
    ("plot_strategy_w2", {"table": {"toy": {"boot": 0.1, "vanilla": 0.2}}}),
    ("plot_init_comparison", {"data": plots.init_shrinkage(lams=[0.5, 2.0])}),
]


@pytest.mark.parametrize("name, kwargs", ONE_PANEL, ids=[n for n, _ in ONE_PANEL])
def test_one_panel_figures_draw_into_the_axes_given(name, kwargs):
    fig, (left, right) = plt.subplots(1, 2)
    out = getattr(plots, name)(ax=right, **kwargs)
    assert out is fig                          # the caller's figure, not a new one
    assert right.has_data() and not left.has_data()
    assert set(vars(fig)) == set(vars(plt.figure()))   # nothing attached to the figure


@pytest.mark.parametrize("name, kwargs", ONE_PANEL, ids=[n for n, _ in ONE_PANEL])
def test_one_panel_figures_refuse_what_is_not_an_axes(name, kwargs):
    with pytest.raises(TypeError, match="ax"):
        getattr(plots, name)(ax="left", **kwargs)


DATA_FIGURES = ["plot_denoiser_fit", "plot_ddim_geometry", "plot_teacher_samples", "plot_teacher_shrinkage",
                "plot_init_comparison", "plot_strategy_comparison", "plot_dp_timing", "plot_cost_front",
                "plot_lambda_c", "plot_optimal_tree_scan", "plot_strategy_snapshots", "plot_mixture_denoiser",
                "plot_composite_pieces", "plot_practice_map", "plot_equal_budget"]


@pytest.mark.parametrize("name", DATA_FIGURES)
def test_drawing_functions_refuse_data_of_another_kind(name):
    with pytest.raises(TypeError, match="data|timing"):
        getattr(plots, name)({"not": "data"})


def test_dp_timing_figure_draws_a_measurement_it_was_given(monkeypatch):
    timing = plots.DPTiming(sizes=[8, 16, 32], times=[0.001, 0.008, 0.064], slope=3.0)
    # where plot_dp_timing looks dp_timing up (plots.merging), and the package's re-export
    for where in (plots.merging, plots):
        monkeypatch.setattr(where, "dp_timing", lambda *a, **k: pytest.fail("measured although given a timing"))
    fig = plots.plot_dp_timing(timing)
    measured, fitted = fig.axes[0].lines[:2]
    assert list(measured.get_xdata()) == [8, 16, 32] and list(measured.get_ydata()) == timing.times
    np.testing.assert_allclose(fitted.get_ydata(), timing.times, rtol=1e-12)   # slope 3 through these points
    assert "3.00" in fitted.get_label()


def test_dp_timing_measures_a_positive_time_per_size():
    timing = plots.dp_timing(sizes=(8, 16), repeats=1)
    assert timing.sizes == [8, 16] and all(t > 0 for t in timing.times)
    slope = math.log(timing.times[1] / timing.times[0]) / math.log(2)
    assert timing.slope == pytest.approx(slope, rel=1e-9)
    with pytest.raises(ValueError, match="sizes"):
        plots.dp_timing(sizes=())


def test_schedule_names_come_from_the_registry():
    assert plots.SCHEDULE_NAMES == ld.schedule.VP_SCHEDULE_NAMES
    assert set(plots.SCHEDULE_NAMES) <= set(ld.schedule.SCHEDULE_NAMES)
    sch = plots._named_schedule("linear", 5)
    torch.testing.assert_close(sch.alphas, ld.Schedule.named("linear", 5).alphas)


def test_lambda_c_curves_match_the_cosine_closed_form_and_are_drawn():
    ns = (2, 3, 8, 40)
    data = plots.lambda_c_curves(num_steps=ns, schedules=["cosine", "linear"])
    assert data.values["cosine"] == pytest.approx([1 + 1 / math.cos(math.pi / (2 * n)) for n in ns], rel=1e-10)
    alpha1 = [ld.Schedule.linear(n).alphas[1].item() for n in ns]
    assert all(v >= 1 + 1 / a - 1e-9 for v, a in zip(data.values["linear"], alpha1))   # lambda_c >= 1 + 1/alpha_1
    fig, ax = plt.subplots()
    plots.plot_lambda_c(data, ax=ax)
    assert list(ax.lines[1].get_ydata()) == data.values["linear"]


def _one_shot(sch, lam, ctau):
    """Vanilla one-shot merge written out: m = w_N r_N + (1 - w_N) T, w_N = exp(-ctau ||v_N||^2)."""
    a, s = sch.alphas.tolist(), sch.sigmas.tolist()
    n = sch.num_steps
    r = [(a[t - 1] * a[t] * lam + s[t - 1] * s[t]) / (a[t] ** 2 * lam + s[t] ** 2) for t in range(1, n + 1)]
    norm2 = a[n] ** 2 * lam + s[n] ** 2
    w = math.exp(-ctau * norm2)
    T = math.prod(r)
    return w * r[-1] + (1 - w) * T, T, math.sqrt(norm2)


def test_strategy_curves_one_shot_against_its_closed_form_and_drawn_per_budget():
    sch = ld.Schedule.linear(6)
    lams = [0.3, 1.7, 6.0]
    data = plots.strategy_curves(sch, 6, ctaus=(0.2, 2.0), lams=lams, segments=3)
    assert set(data.values) == {"vanilla", "boot", "consistency", "progressive", "tract (3 segments)"}
    for j, ctau in enumerate((0.2, 2.0)):
        for i, lam in enumerate(lams):
            m, T, norm = _one_shot(sch, lam, ctau)
            assert data.values["vanilla"][j, i].item() == pytest.approx(m, rel=1e-12)
            assert data.w2["vanilla"][j, i].item() == pytest.approx(norm * abs(m - T), rel=1e-9)
            assert data.teacher[i].item() == pytest.approx(T, rel=1e-12)
    fig, grid = plt.subplots(2, 2)
    assert plots.plot_strategy_comparison(data, axes=grid) is fig
    np.testing.assert_allclose(grid[1, 1].lines[0].get_ydata(), (data.values["vanilla"][1] / data.teacher).numpy())
    with pytest.raises(ValueError, match="axes"):
        plots.plot_strategy_comparison(data, axes=grid[0])


def test_init_shrinkage_at_the_ends_of_the_budget():
    sch = ld.Schedule.cosine(5)
    lams = [0.5, 1.0, 3.0]
    r_top = torch.tensor([_one_shot(sch, lam, 0.0)[0] for lam in lams], dtype=F64)   # untrained: m = r_N
    T = torch.tensor([_one_shot(sch, lam, 0.0)[1] for lam in lams], dtype=F64)
    untrained = plots.init_shrinkage(sch, 5, ctau=0.0, lams=lams).ratios     # every student stays its start
    torch.testing.assert_close(untrained["teacher"], r_top / T)             # the teacher step at the top time
    torch.testing.assert_close(untrained["warm"], r_top / T)                # BOOT's first children down to N
    torch.testing.assert_close(untrained["zero"], torch.zeros(3, dtype=F64))
    torch.testing.assert_close(untrained["identity"], 1 / T)
    trained = plots.init_shrinkage(sch, 5, ctau=200.0, lams=lams).ratios     # w = e^(-200 ||v||^2): the teacher
    for init, ratio in trained.items():
        torch.testing.assert_close(ratio, torch.ones(3, dtype=F64), rtol=1e-9, atol=0, msg=init)
    fig, ax = plt.subplots()
    plots.plot_init_comparison(plots.init_shrinkage(sch, 5, ctau=0.0, lams=lams), ax=ax)
    drawn = {line.get_label(): line.get_ydata() for line in ax.lines}
    np.testing.assert_allclose(drawn["identity"], (1 / T).numpy())


def test_cost_front_against_the_pareto_dp_and_the_one_shot_formula(monkeypatch):
    from lineardistill import dp

    sch = ld.Schedule.cosine(5)
    lams = (0.5, 2.0, 4.0)
    result = ld.pareto_tree(sch, list(lams), 0.7, "warm", merges=True)
    monkeypatch.setattr(dp, "pareto_tree", lambda *a, **k: pytest.fail("recomputed the Pareto DP"))
    data = plots.training_cost_front(sch, 5, lams=lams, ctau=0.7, result=result)
    assert data.front == result.cost_front()
    parts = [_one_shot(sch, lam, 0.7) for lam in lams]
    one_shot = math.sqrt(sum((norm * (m - T)) ** 2 for m, T, norm in parts))
    assert data.named["vanilla"] == (1, pytest.approx(one_shot, rel=1e-9))
    assert data.front[0][0] == 1 and data.front[0][1] == pytest.approx(one_shot, rel=1e-9)  # one tree has 1 merge
    fig, ax = plt.subplots()
    plots.plot_cost_front(data, ax=ax)
    assert list(ax.lines[0].get_xdata()) == [f[0] for f in data.front]
    assert list(ax.lines[0].get_ydata()) == [f[1] for f in data.front]
    with pytest.raises(TypeError, match="result"):
        plots.training_cost_front(sch, 5, result="front")


def test_snapshots_optimum_is_the_brute_force_minimum():
    sch = ld.Schedule.cosine(5)
    data = plots.strategy_snapshots(sch, 5, lams=[0.7, 1.4, 3.0], ctau=0.8)
    for lam, table, best in zip(data.lams, data.w2, data.optima):
        every = ld.enumerate_values(sch, lam, 0.8).values.reshape(-1)
        T = ld.composite(sch, lam).item()
        norm = ld.vector_norms(sch, lam)[-1].item()
        assert table["optimal"] == pytest.approx(norm * (every - T).abs().min().item(), rel=1e-9, abs=1e-15)
        assert table["optimal"] <= min(table.values()) + 1e-15
        assert best.tree.num_steps == 5
    fig, grid = plt.subplots(2, 3)
    assert plots.plot_strategy_snapshots(data, axes=grid) is fig
    bars = [p.get_width() for p in grid[1, 2].patches]
    assert bars == pytest.approx(list(data.w2[2].values()))


def test_optimal_tree_scan_data_and_drawing(monkeypatch):
    from lineardistill import dp, phase

    sch = ld.Schedule.cosine(4)
    lams = torch.tensor([0.5, 1.5, 3.0], dtype=F64)
    data = plots.optimal_tree_scan(sch, 4, ctau=1.0, lams=lams, show=(0.5, 3.0))
    torch.testing.assert_close(data.phases.code, ld.classify(sch, lams, 1.0).code)
    assert [o.tree for o in data.optima] == [ld.optimal_tree(sch, v, 1.0).tree for v in (0.5, 3.0)]
    assert data.lambda_c == ld.lambda_c(sch)
    monkeypatch.setattr(phase, "classify", lambda *a, **k: pytest.fail("classified again"))
    monkeypatch.setattr(dp, "optimal_tree", lambda *a, **k: pytest.fail("optimised again"))
    fig = plots.plot_optimal_tree_scan(data)
    assert len(fig.axes) == 3
    boot = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(boot, (data.phases.boot / data.phases.teacher).numpy())
    fig, axes = plt.subplots(1, 3)
    assert plots.plot_optimal_tree_scan(data, axes=axes) is fig
    with pytest.raises(ValueError, match="axes"):
        plots.plot_optimal_tree_scan(data, axes=axes[:2])


def test_phase_figures_draw_the_diagrams_given():
    sch = ld.Schedule.cosine(4)
    grid = (torch.tensor([0.5, 1.5, 3.0], dtype=F64), torch.tensor([0.1, 1.0], dtype=F64))
    diagrams = [ld.phase_diagram(sch, *grid, init) for init in ("warm", "zero")]
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_phase_by_init(diagrams, axes=axes) is fig
    mesh = axes[1].collections[0].get_array().reshape(2, 3)
    np.testing.assert_array_equal(mesh, diagrams[1].code.T.numpy())
    assert axes[0].get_title() == "warm start"
    fig = plots.plot_phase_diagram(diagrams[:1])
    assert len(fig.axes) == 1 and fig.legends                   # its own figure carries the phase legend
    with pytest.raises(TypeError, match="diagrams"):
        plots.plot_phase_diagram(["not a diagram"])


def test_mixture_curves_density_gates_and_drawing():
    mix = ld.mixture.example_mixture()
    data = plots.mixture_denoiser_curves(ld.Schedule.cosine(6), mix, times=(1, 3), lo=-15.0, hi=15.0)
    x = data.grid.numpy()
    assert np.trapezoid(data.density.numpy(), x) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(data.gates.sum(-1), torch.ones_like(data.grid))
    assert data.gate_time == 3
    fig, axes = plt.subplots(1, 3)
    assert plots.plot_mixture_denoiser(data, axes=axes) is fig
    np.testing.assert_allclose(axes[1].lines[1].get_ydata(), data.denoised[1].numpy())
    with pytest.raises(ValueError, match="lo"):
        plots.mixture_denoiser_curves(lo=1.0, hi=-1.0)


def test_composite_piece_counts():
    mix = ld.mixture.example_mixture()
    data = plots.composite_piece_curves(ld.Schedule.cosine(6), mix, ks=(1, 3))
    assert data.counts[0] == 1                       # at t = N (alpha_N = 0) the gates are constant: affine
    assert all(c <= mix.num_components ** k for k, c in enumerate(data.counts, start=1))
    assert all(b > a for a, b in zip(data.breaks[3], data.breaks[3][1:]))
    fig, axes = plt.subplots(1, 2)
    assert plots.plot_composite_pieces(data, axes=axes) is fig
    assert list(axes[1].lines[0].get_ydata()) == data.counts
