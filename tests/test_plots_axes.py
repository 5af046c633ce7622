"""Figures as reusable functions (issue 10): one-panel figures draw into a given Axes, and draw given data."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

import lineardistill as ld
from lineardistill import plots

ONE_PANEL = [
    ("plot_signal_noise_vectors", {}),
    ("plot_teacher_samples", {"num_samples": 500}),
    ("plot_merge_tree", {}),
    ("plot_lambda_c", {"num_steps": (2, 4)}),
    ("plot_dp_timing", {"timing": plots.DPTiming(sizes=[8, 16], times=[0.001, 0.008], slope=3.0)}),
    ("plot_cost_front", {"num_steps": 4, "lams": (0.5, 2.0)}),
    ("plot_spectra", {"spectra": {"toy": [3.0, 1.0, 0.5]}, "lambda_c": 2.1}),
    ("plot_strategy_w2", {"table": {"toy": {"boot": 0.1, "vanilla": 0.2}}}),
    ("plot_init_comparison", {"lams": [0.5, 2.0]}),
]


@pytest.mark.parametrize("name, kwargs", ONE_PANEL, ids=[n for n, _ in ONE_PANEL])
def test_one_panel_figures_draw_into_the_axes_given(name, kwargs):
    fig, (left, right) = plt.subplots(1, 2)
    out = getattr(plots, name)(ax=right, **kwargs)
    assert out is fig                          # the caller's figure, not a new one
    assert right.has_data() and not left.has_data()
    assert not any(hasattr(fig, a) for a in ("slope", "times", "gain", "errors"))
    plt.close(fig)


@pytest.mark.parametrize("name, kwargs", ONE_PANEL, ids=[n for n, _ in ONE_PANEL])
def test_one_panel_figures_refuse_what_is_not_an_axes(name, kwargs):
    with pytest.raises(TypeError, match="ax"):
        getattr(plots, name)(ax="left", **kwargs)


def test_dp_timing_figure_draws_a_measurement_it_was_given(monkeypatch):
    timing = plots.DPTiming(sizes=[8, 16, 32], times=[0.001, 0.008, 0.064], slope=3.0)
    monkeypatch.setattr(plots, "dp_timing", lambda *a, **k: pytest.fail("measured although given a timing"))
    fig = plots.plot_dp_timing(timing=timing)
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [8, 16, 32] and "3.00" in line.get_label()
    plt.close(fig)
    with pytest.raises(TypeError, match="timing"):
        plots.plot_dp_timing(timing={"slope": 3})


def test_dp_timing_measures_a_positive_time_per_size():
    timing = plots.dp_timing(sizes=(8, 16), repeats=1)
    assert timing.sizes == [8, 16] and all(t > 0 for t in timing.times)
    with pytest.raises(ValueError, match="sizes"):
        plots.dp_timing(sizes=())


def test_schedule_names_come_from_the_registry():
    assert plots.SCHEDULE_NAMES == ld.schedule.VP_SCHEDULE_NAMES
    assert set(plots.SCHEDULE_NAMES) <= set(ld.schedule.SCHEDULE_NAMES)
    sch = plots._named_schedule("linear", 5)
    torch.testing.assert_close(sch.alphas, ld.Schedule.named("linear", 5).alphas)


def test_cost_front_draws_a_pareto_result_it_was_given(monkeypatch):
    from lineardistill import dp

    sch = ld.Schedule.cosine(4)
    result = ld.pareto_tree(sch, [0.5, 2.0], 0.5, "warm", merges=True)
    monkeypatch.setattr(dp, "pareto_tree", lambda *a, **k: pytest.fail("recomputed the Pareto DP"))
    fig = plots.plot_cost_front(sch, 4, lams=(0.5, 2.0), ctau=0.5, result=result)
    xs = list(fig.axes[0].lines[0].get_xdata())
    assert xs == [f[0] for f in result.cost_front()]
    plt.close(fig)
    with pytest.raises(TypeError, match="result"):
        plots.plot_cost_front(sch, 4, result="front")


def test_optimal_tree_scan_draws_what_it_was_given(monkeypatch):
    from lineardistill import dp, phase

    sch = ld.Schedule.cosine(4)
    lams = torch.tensor([0.5, 1.5, 3.0], dtype=torch.float64)
    phases = ld.classify(sch, lams, 1.0, "warm")
    trees = [ld.optimal_tree(sch, v, 1.0).tree for v in (0.5, 3.0)]
    monkeypatch.setattr(phase, "classify", lambda *a, **k: pytest.fail("classified again"))
    monkeypatch.setattr(dp, "optimal_tree", lambda *a, **k: pytest.fail("optimised again"))
    fig = plots.plot_optimal_tree_scan(sch, 4, lams=lams, show=(0.5, 3.0), phases=phases, trees=trees)
    assert len(fig.axes) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="trees"):
        plots.plot_optimal_tree_scan(sch, 4, lams=lams, show=(0.5, 3.0), phases=phases, trees=trees[:1])
