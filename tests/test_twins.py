"""Kernel-free twins (lineardistill.twins) and the book's figure style (lineardistill.style)."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lineardistill as ld  # noqa: E402
from lineardistill import style, twins  # noqa: E402


def _frame_y(twin, k, trace):
    return twin.spec()["frames"][k]["data"][trace]["y"]


def test_ddim_twin_frames_hold_the_library_values():
    lams = [0.25, 1.0, 4.0]
    twin = twins.ddim_geometry_twin(lams=lams, num_steps=6, name="t1")
    assert twin.num_frames == 3
    r = ld.teacher_multipliers(ld.Schedule.cosine(6), torch.tensor(lams, dtype=torch.float64))
    for k in range(3):
        assert _frame_y(twin, k, 5) == pytest.approx(r[k].tolist(), rel=1e-5)   # trace 5: r_t
    # The slider has one step per frame and each step animates to its own frame.
    steps = twin.spec()["layout"]["sliders"][0]["steps"]
    assert [s["args"][0][0] for s in steps] == [f["name"] for f in twin.spec()["frames"]]
    assert _frame_y(twin, 0, 5) != _frame_y(twin, 2, 5)


def test_phase_twin_classes_match_classify():
    sch = ld.Schedule.cosine(8)
    lams, ctaus = [0.5, 1.0, 1.6, 3.0], [0.3, 1.0]
    twin = twins.phase_twin(ctaus=ctaus, lams=lams, name="t2")
    phases = ld.classify(sch, torch.tensor(lams, dtype=torch.float64)[:, None],
                         torch.tensor(ctaus, dtype=torch.float64)[None, :])
    for j in range(2):
        assert _frame_y(twin, j, 3) == [ld.PHASES[c] for c in phases.code[:, j].tolist()]
    assert _frame_y(twin, 0, 3)[0] == "BOOT" and _frame_y(twin, 0, 3)[-1] == "one-shot"


def test_twin_html_is_deterministic_and_safe():
    a = twins.ddim_geometry_twin(lams=[0.5, 2.0], name="same").to_html()
    b = twins.ddim_geometry_twin(lams=[0.5, 2.0], name="same").to_html()
    assert a == b
    assert 'class="ld-twin" id="same"' in a and "window.Plotly" in a
    script = a[a.index("<script"):]
    assert script.count("</script>") == 1   # the payload cannot close the script early
    assert "cdn" not in a.lower() and "https://" not in a


@pytest.mark.parametrize("call, name, error", [
    (lambda: twins.ddim_geometry_twin(lams=[1.0]), "lams", ValueError),
    (lambda: twins.ddim_geometry_twin(lams=[2.0, 1.0]), "lams", ValueError),
    (lambda: twins.ddim_geometry_twin(lams=[-1.0, 1.0]), "lams", ValueError),
    (lambda: twins.ddim_geometry_twin(lams="ab"), "lams", TypeError),
    (lambda: twins.ddim_geometry_twin(num_steps=0), "num_steps", ValueError),
    (lambda: twins.ddim_geometry_twin(schedule="edm"), "schedule", ValueError),
    (lambda: twins.ddim_geometry_twin(name="bad id"), "name", ValueError),
    (lambda: twins.phase_twin(ctaus=[1.0, float("nan")]), "ctaus", ValueError),
    (lambda: twins.phase_twin(num_steps=1), "num_steps", ValueError),
    (lambda: twins.phase_twin(init="hot"), "init", ValueError),
])
def test_twins_validate_their_input(call, name, error):
    with pytest.raises(error, match=name):
        call()


def test_fit_text_makes_every_text_readable_at_the_column_width():
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot([1, 2], [3, 4], label="a line")
    ax.set_title("title", fontsize=6)
    ax.legend(fontsize=5)
    ax.annotate("note", (1, 3), fontsize=4)
    least = style.fit_text(fig)
    assert least == pytest.approx(style.min_font_size(10))
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text() and t.get_visible()]
    sizes += [label.get_fontsize() for label in ax.get_xticklabels() + ax.get_yticklabels()]
    assert min(sizes) >= least - 1e-9
    assert style.displayed_size(least, 10) == pytest.approx(style.MIN_DISPLAYED_PT)
    png = style.figure_png(fig)
    width = int.from_bytes(png[16:20], "big")
    assert width >= 0.9 * style.CONTENT_WIDTH_PX   # rendered about as wide as the column it fills
    plt.close(fig)


@pytest.mark.parametrize("args, error", [((0,), ValueError), ((float("inf"),), ValueError), (("7",), TypeError),
                                         ((1.0, -5), ValueError)])
def test_style_validates(args, error):
    with pytest.raises(error):
        style.min_font_size(*args)
    with pytest.raises(TypeError, match="fig"):
        style.fit_text("not a figure")


def test_explorers_say_they_need_a_kernel():
    from lineardistill import widgets

    explorer = widgets.ddim_geometry_explorer(lam=1.0, num_steps=4)
    assert "Needs a running kernel" in explorer.children[0].value
    assert re.search(r"live figure", explorer.children[0].value)
