"""Figure and widget functions behind chapters 1 to 3 (plots.teacher, widgets.py).

Each figure function must return an opaque white matplotlib Figure with
labelled axes, draw the numbers its data function computed, and reject bad
input with an error that names the parameter; each data function must agree
with the closed forms written out here.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lineardistill as ld  # noqa: E402
from lineardistill import plots, widgets  # noqa: E402

FIGURES = [
    plots.plot_schedules,
    plots.plot_denoiser_fit,
    plots.plot_signal_noise_vectors,
    plots.plot_ddim_geometry,
    plots.plot_teacher_samples,
    plots.plot_teacher_shrinkage,
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("make", FIGURES, ids=lambda f: f.__name__)
def test_figure_is_opaque_white_and_labelled(make):
    fig = make()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.patch.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
    for ax in fig.axes:
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_legend() is not None


def test_vectors_figure_draws_the_library_vectors():
    sch = ld.Schedule.linear(6)
    fig = plots.plot_signal_noise_vectors(sch, lams=[0.5, 2.0])
    drawn = [line.get_xydata() for line in fig.axes[0].lines if line.get_marker() == "o"]
    expected = ld.signal_noise_vectors(sch, [0.5, 2.0]).numpy()
    assert len(drawn) == 2
    for got, want in zip(drawn, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_geometry_figure_draws_multipliers_as_flow_times_cosine():
    sch = ld.Schedule.cosine(5)
    fig = plots.plot_ddim_geometry(plots.ddim_geometry(sch, lams=[3.0]), step=2)
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[1].lines}
    r = next(v for k, v in lines.items() if k.startswith("$r_t$"))
    flow = next(v for k, v in lines.items() if "exact flow" in k)
    cos = next(v for k, v in lines.items() if "loss" in k)
    np.testing.assert_allclose(r, ld.teacher_multipliers(sch, 3.0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(r, flow * cos, rtol=1e-12)


def test_shrinkage_figure_loss_decays_like_one_over_n():
    ns = [64, 128, 256, 512]
    fig = plots.plot_teacher_shrinkage(plots.teacher_shrinkage_curves(num_steps=ns, lams=[1.0], schedules=["cosine"]))
    loss = fig.axes[1].lines[0].get_ydata()
    slope = np.polyfit(np.log(ns), np.log(loss), 1)[0]
    assert -1.01 < slope < -0.98
    # at lambda = 1 the cosine teacher keeps cos(pi / 2N)^(2N)
    kept = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(kept, [np.cos(np.pi / (2 * n)) ** (2 * n) for n in ns], rtol=1e-10)


def test_denoiser_fit_line_is_the_gain():
    sch = ld.Schedule.cosine(6)
    fig = plots.plot_denoiser_fit(plots.denoiser_samples(sch, lams=[2.0], t=3, num_samples=50, seed=1))
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    np.testing.assert_allclose(y, ld.denoiser_gain(sch, 2.0)[..., 3].item() * x, rtol=1e-12)


@pytest.mark.parametrize("call, word", [
    (lambda: plots.plot_schedules(num_steps=1), "num_steps"),
    (lambda: plots.plot_schedules(schedules=["quadratic"]), "schedule"),
    (lambda: plots.plot_signal_noise_vectors(lams=[1.0, -2.0]), "lams"),
    (lambda: plots.plot_signal_noise_vectors(lams=[]), "lams"),
    (lambda: plots.plot_ddim_geometry(step=0), "step"),
    (lambda: plots.plot_ddim_geometry("cosine"), "data"),
    (lambda: plots.plot_denoiser_fit(plots.denoiser_samples(lams=[1.0, 2.0]), axes=[None]), "axes"),
    (lambda: plots.denoiser_samples(t=11), "t"),
    (lambda: plots.teacher_samples(lam=[1.0, 2.0]), "lam"),
    (lambda: plots.teacher_shrinkage_curves(num_steps=[8]), "num_steps"),
    (lambda: plots.teacher_shrinkage_curves(schedules=["ve"]), "schedules"),
    (lambda: widgets.ddim_geometry_explorer(lam=0.0), "lam"),
    (lambda: widgets.ddim_geometry_explorer(schedule="edm"), "schedule"),
])
def test_bad_input_names_the_parameter(call, word):
    with pytest.raises((ValueError, TypeError), match=word):
        call()


def test_explorer_updates_with_its_controls():
    import ipywidgets

    explorer = widgets.ddim_geometry_explorer(lam=1.0, num_steps=4, schedule="cosine")
    assert isinstance(explorer, ipywidgets.interactive)
    controls = {c.description: c for c in explorer.children if hasattr(c, "description")}
    assert set(controls) >= {"variance", "N", "schedule"}
    controls["variance"].value = 2.5          # not equal to N: a swapped control would draw other data
    assert explorer.kwargs == {"lam": pytest.approx(2.5), "num_steps": 4, "schedule": "cosine"}
    # ipywidgets swallows exceptions raised in the callback: call the update function itself and
    # check what it draws (more in tests/test_widgets_callbacks.py)
    plt.close("all")
    explorer.f(**explorer.kwargs)
    r = ld.teacher_multipliers(ld.Schedule.cosine(4), explorer.kwargs["lam"]).numpy()
    drawn = [np.asarray(line.get_ydata(), dtype=float) for ax in plt.gcf().axes for line in ax.get_lines()]
    assert any(d.shape == r.shape and np.allclose(d, r, rtol=1e-12, atol=0) for d in drawn)
    plt.close("all")


def test_denoiser_samples_regression_slope_is_the_gain_formula():
    sch = ld.Schedule.linear(6)
    data = plots.denoiser_samples(sch, lams=[0.5, 3.0], t=4, num_samples=20_000, seed=2)
    a, s = sch.alphas[4].item(), sch.sigmas[4].item()
    for k, lam in enumerate((0.5, 3.0)):
        want = a * lam / (a * a * lam + s * s)            # E[x0 | z] = g z for Gaussian data, written out
        assert data.gains[k].item() == pytest.approx(want, rel=1e-12)
        z, x = data.latents[:, k], data.data[:, k]
        slope = float((z * x).sum() / (z * z).sum())      # least squares through the origin
        stderr = float(((x - slope * z).var() / (z * z).sum()).sqrt())
        assert abs(slope - want) < 5 * stderr          # within five standard errors
    again = plots.denoiser_samples(sch, lams=[0.5, 3.0], t=4, num_samples=20_000, seed=2)
    assert torch.equal(again.latents, data.latents)       # seeded


def test_teacher_samples_ratio_is_the_product_of_squared_cosines():
    sch = ld.Schedule.cosine(5)
    data = plots.teacher_samples(sch, lam=2.0, num_samples=40_000, seed=0)
    v = ld.signal_noise_vectors(sch, 2.0)
    cos = (v[1:] * v[:-1]).sum(-1) / (v[1:].norm(dim=-1) * v[:-1].norm(dim=-1))
    assert data.ratio == pytest.approx(float((cos ** 2).prod()), rel=1e-12)
    assert data.outputs.var().item() == pytest.approx(2.0 * data.ratio, rel=0.03)
    fig, ax = plt.subplots()
    assert plots.plot_teacher_samples(data, ax=ax) is fig
    red = ax.lines[1]                                     # N(0, lam ratio) density
    peak = 1 / np.sqrt(2 * np.pi * 2.0 * data.ratio)
    assert max(red.get_ydata()) == pytest.approx(peak, rel=1e-3)


def test_shrinkage_curves_kept_and_lost_add_to_one():
    data = plots.teacher_shrinkage_curves(num_steps=(3, 7), lams=[0.4, 5.0], schedules=["linear", "cosine"])
    assert data.kept.shape == (2, 2, 2)
    torch.testing.assert_close(data.kept + data.lost, torch.ones_like(data.kept), rtol=0, atol=1e-14)
    torch.testing.assert_close(data.kept[0, 1], ld.teacher_variance_ratio(ld.Schedule.linear(7), [0.4, 5.0]))


def test_geometry_and_schedules_draw_into_given_axes():
    data = plots.ddim_geometry(ld.Schedule.cosine(4), lams=[0.5, 2.0])
    fig, grid = plt.subplots(2, 2)
    assert plots.plot_ddim_geometry(data, axes=grid) is fig
    np.testing.assert_allclose(grid[1, 1].lines[1].get_ydata(), data.multipliers[1].numpy(), rtol=0)
    with pytest.raises(ValueError, match="axes"):
        plots.plot_ddim_geometry(data, axes=grid[0])
    fig, (left, right) = plt.subplots(1, 2)
    sch = ld.Schedule.cosine(6)
    assert plots.plot_schedules(sch, axes=[left, right]) is fig
    np.testing.assert_allclose(left.lines[0].get_ydata(), sch.alphas.numpy())
    snr = right.lines[0].get_ydata()
    np.testing.assert_allclose(snr, np.log(sch.alphas[1:-1].numpy() ** 2 / sch.sigmas[1:-1].numpy() ** 2))
