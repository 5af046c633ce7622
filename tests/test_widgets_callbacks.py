"""The explorers' update functions, called directly (issue 16).

ipywidgets catches any exception raised in an ``interactive`` callback and only displays it, so
moving a slider in a test proves nothing. Here each explorer's update function
(``interactive.f``, ipywidgets' public attribute) is called with chosen control values, and the
data it draws and prints are checked against the library computed independently for those values.
"""

import io
import re
from contextlib import redirect_stdout

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lineardistill as ld  # noqa: E402
from lineardistill import widgets  # noqa: E402


def _call(explorer, **controls):
    """Run the explorer's update function with these control values; return (figure, printed text)."""
    plt.close("all")
    out = io.StringIO()
    with redirect_stdout(out):
        explorer.f(**controls)
    return plt.gcf(), out.getvalue()


def _lines(fig):
    return [line for ax in fig.axes for line in ax.get_lines()]


def _has_line(fig, y, x=None):
    y = np.asarray(y, dtype=float)
    for line in _lines(fig):
        yd = np.asarray(line.get_ydata(), dtype=float)
        if yd.shape == y.shape and np.allclose(yd, y, rtol=1e-12, atol=1e-14):
            if x is None or np.allclose(np.asarray(line.get_xdata(), dtype=float), x, rtol=1e-12, atol=1e-14):
                return True
    return False


def _number(text, label):
    match = re.search(re.escape(label) + r"\s*=?\s*([-+0-9.eE]+)", text)
    assert match, (label, text)
    return float(match.group(1))


@pytest.mark.parametrize("lam, num_steps, schedule", [(0.3, 5, "cosine"), (4.0, 7, "linear"), (1.7, 3, "cosine"),
                                                      (0.05, 12, "linear")])
def test_ddim_explorer_draws_the_multipliers_of_its_variance_and_steps(lam, num_steps, schedule):
    explorer = widgets.ddim_geometry_explorer(lam=1.0, num_steps=4, schedule="cosine")
    fig, text = _call(explorer, lam=lam, num_steps=num_steps, schedule=schedule)
    sch = getattr(ld.Schedule, schedule)(num_steps)
    r = ld.teacher_multipliers(sch, lam).numpy()
    assert _has_line(fig, r), "no line draws r_t for the chosen variance and N"
    # the vectors v_t = (alpha_t sqrt(lam), sigma_t), from the schedule arrays
    assert _has_line(fig, sch.sigmas.numpy(), x=(sch.alphas * lam**0.5).numpy())
    # a wrong wiring of the controls (N passed as the variance) draws other multipliers
    assert not np.allclose(r, ld.teacher_multipliers(sch, float(num_steps)).numpy())
    T = float(torch.exp(torch.log(ld.teacher_multipliers(sch, lam)).sum()))
    assert _number(text, "composite teacher T") == pytest.approx(T, abs=6e-5)
    kept = float(torch.prod(torch.cos(ld.step_angles(sch, lam)) ** 2))
    assert _number(text, "prod cos^2") == pytest.approx(kept, abs=6e-5)
    plt.close("all")


def test_optimal_tree_explorer_draws_every_strategy_and_the_optimum():
    lam, ctau, n = 1.3, 0.8, 5
    explorer = widgets.optimal_tree_explorer(lam=1.0, ctau=1.0, num_steps=4)
    fig, text = _call(explorer, lam=lam, ctau=ctau, num_steps=n, schedule="cosine", init="warm")
    sch = ld.Schedule.cosine(n)
    widths = sorted(p.get_width() for ax in fig.axes for p in ax.patches if p.get_width() > 0)
    assert widths, "no bars drawn"
    # every named strategy's W2, from merge_value, is one of the bars
    for name in ld.STRATEGIES:
        value = ld.merge_value(ld.MergeTree.named(name, n), sch, lam, ctau)
        w = float(ld.w2(value, sch, lam, dim=None))
        assert any(abs(b - w) <= 1e-9 * w + 1e-300 for b in widths), (name, w, widths)
    # the least bar is the optimum over all 45 trees (brute force)
    values = torch.stack([ld.merge_value(t, sch, lam, ctau) for t in ld.all_trees(n)])
    best = float(ld.w2(values, sch, lam, dim=None).min())
    assert widths[0] == pytest.approx(best, rel=1e-9)
    assert _number(text, "lambda_c") == pytest.approx(ld.lambda_c(sch), abs=6e-5)
    assert ld.classify(sch, lam, ctau).names() in text
    plt.close("all")


def test_explorer_callbacks_raise_instead_of_hiding_errors():
    """A direct call surfaces an error the widget would only have displayed."""
    explorer = widgets.ddim_geometry_explorer()
    with pytest.raises(ValueError, match="lam"):
        explorer.f(lam=-1.0, num_steps=4, schedule="cosine")
    plt.close("all")
