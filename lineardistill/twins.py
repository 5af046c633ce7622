"""Kernel-free twins of the explorers (chapters 2 and 7).

An ipywidgets explorer (:mod:`lineardistill.widgets`) needs a running kernel:
in the HTML book its sliders do nothing. Each explorer here has a *twin*, a
plotly figure whose own slider steps through frames computed in advance, so
the figure moves in any browser with no kernel and no network. The HTML book
serves plotly.js itself (``scripts/fetch_vendor.sh`` puts it in ``_vendor/``
and ``scripts/book_fixes.py`` loads it on the pages that hold a twin).

A twin is displayed by its ``text/html`` representation: a ``<div>`` and a
script that draws into it with ``window.Plotly``. Where plotly.js is not on the
page (a plain Jupyter notebook), the div says so instead; ``twin.figure`` is
the plotly ``Figure`` for ``twin.figure.show()``.
"""

from __future__ import annotations

import html
import json
import math
import re

import torch

from ._checks import DTYPE, as_int, one_of
from .schedule import Schedule
from .teacher import (
    composite,
    flow_ratios,
    signal_noise_vectors,
    step_angles,
    teacher_multipliers,
    teacher_variance_ratio,
)

SCHEDULES = ("cosine", "linear")
"""Schedules a twin accepts by name."""

TWIN_CLASS = "ld-twin"
"""CSS class of a twin's ``<div>``; the book loads plotly.js on pages that hold one."""

_COLORS = {"BOOT": "#1f77b4", "one-shot": "#d62728", "optimal": "#6a3d9a", "mixed": "#ff7f0e", "tie": "#7f7f7f",
           "unresolved": "#bbbbbb"}


def _plotly():
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # pragma: no cover - plotly is a core dependency
        raise ImportError("the kernel-free twins need plotly (pip install plotly)") from exc
    return go


def _round(values, digits: int = 6) -> list:
    """Floats rounded to ``digits`` significant digits (small, stable stored outputs); NaN becomes None."""
    out = []
    for v in values:
        v = float(v)
        out.append(None if not math.isfinite(v) else float(f"{v:.{digits}g}"))
    return out


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", name):
        raise ValueError(f"name must be a short identifier (letters, digits, '-', '_'), got {name!r}")
    return name


def _check_grid(values, name: str, low: float, high: float) -> list[float]:
    try:
        grid = [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of numbers, got {values!r}") from None
    if len(grid) < 2:
        raise ValueError(f"{name} must hold at least two values (one frame per value), got {len(grid)}")
    if any(not math.isfinite(v) or v < low or v > high for v in grid):
        raise ValueError(f"{name} must hold finite values in [{low:g}, {high:g}], got {grid}")
    if any(b <= a for a, b in zip(grid, grid[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {grid}")
    return grid


class Twin:
    """A plotly figure with a slider over precomputed frames, displayed as HTML.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure
        The figure, its frames and its slider.
    name : str
        The ``id`` of the figure's ``<div>``; unique on a page.
    height : int
        Height of the figure in CSS pixels (its width follows the page).
    description : str
        One sentence for readers of the plain-text representation.
    """

    def __init__(self, figure, name: str, height: int, description: str):
        self.figure = figure
        self.name = _check_name(name)
        self.height = as_int(height, "height", minimum=100, maximum=4000)
        self.description = str(description)

    @property
    def num_frames(self) -> int:
        return len(self.figure.frames)

    def spec(self) -> dict:
        """The figure as plain JSON-ready data: ``data``, ``layout`` and ``frames``."""
        return json.loads(self.figure.to_json())

    def to_html(self) -> str:
        """A ``<div>`` and a script that draws the figure with the page's plotly.js."""
        spec = self.spec()
        payload = json.dumps({"data": spec["data"], "layout": spec["layout"], "frames": spec.get("frames", [])},
                             separators=(",", ":"), sort_keys=True)
        payload = payload.replace("</", "<\\/")  # never close the script tag early
        missing = ("This live figure is drawn by plotly.js, which the HTML book serves. In a notebook, "
                   "call .figure.show() on this object, or use the chapter's explorer (it needs a running kernel).")
        return (
            f'<div class="{TWIN_CLASS}" id="{self.name}" style="width:100%;height:{self.height}px" '
            f'role="figure" aria-label="{html.escape(self.description)}"></div>\n'
            '<script type="text/javascript">\n'
            "(function () {\n"
            f"  var spec = {payload};\n"
            "  function draw() {\n"
            f'    var el = document.getElementById("{self.name}");\n'
            "    if (!el || el.dataset.drawn) return;\n"
            "    if (!window.Plotly) {\n"
            f"      el.style.height = 'auto'; el.textContent = {json.dumps(missing)}; return;\n"
            "    }\n"
            "    el.dataset.drawn = '1';\n"
            "    window.Plotly.newPlot(el, spec.data, spec.layout, {responsive: true, displaylogo: false})\n"
            "      .then(function () { return window.Plotly.addFrames(el, spec.frames); });\n"
            "  }\n"
            "  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);\n"
            "  else draw();\n"
            "})();\n"
            "</script>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Twin {self.name!r}: {self.description} ({self.num_frames} frames, plotly)>"


def _slider(labels, prefix: str, frame_names, active: int) -> dict:
    steps = [{"label": label, "method": "animate",
              "args": [[fname], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                 "transition": {"duration": 0}}]}
             for label, fname in zip(labels, frame_names)]
    return {"active": active, "steps": steps, "currentvalue": {"prefix": prefix}, "pad": {"t": 50, "b": 0},
            "len": 1.0, "x": 0.0, "y": 0, "yanchor": "top"}


def _base_layout(title: str, height: int, legend_px: int = 120) -> dict:
    """Title on top; under the plot the slider with its ticks (about 140 px), then the legend (``legend_px`` tall)."""
    top, bottom = 95, 150 + legend_px
    plot_height = height - top - bottom
    return {"title": {"text": title, "font": {"size": 14}}, "height": height, "autosize": True,
            "margin": {"l": 55, "r": 15, "t": top, "b": bottom}, "font": {"size": 13}, "template": "plotly_white",
            "legend": {"orientation": "h", "x": 0, "xanchor": "left", "yanchor": "top",
                       "y": -150 / plot_height}}


# ------------------------------------------------------------ chapter 2
def ddim_geometry_twin(lams=None, num_steps: int = 8, schedule: str = "cosine", name: str = "twin-ddim-geometry",
                       height: int = 900) -> Twin:
    """Kernel-free twin of :func:`lineardistill.widgets.ddim_geometry_explorer` (chapter 2, R2/R3).

    One frame per variance in ``lams`` (default: 33 values from 0.01 to 100,
    evenly spaced in log). Top: the signal-noise vectors ``v_t`` with the
    middle step's ``v_t``, ``v_{t-1}`` and the projection ``r_t v_t``. Bottom:
    per step, the multiplier ``r_t``, the exact flow ratio and ``cos(theta_t)``.
    The slider's readout gives the composite teacher ``T`` and the kept
    variance ``prod cos^2(theta_t)``.
    """
    go = _plotly()
    from plotly.subplots import make_subplots

    grid = _check_grid([10 ** (k / 8) for k in range(-16, 17)] if lams is None else lams, "lams", 1e-6, 1e6)
    n = as_int(num_steps, "num_steps", minimum=1, maximum=200)
    sch = getattr(Schedule, one_of(schedule, "schedule", SCHEDULES))(n)
    lam = torch.tensor(grid, dtype=DTYPE)
    vec = signal_noise_vectors(sch, lam)                  # (L, N + 1, 2)
    r = teacher_multipliers(sch, lam)                     # (L, N)
    flow = flow_ratios(sch, lam)
    cos = torch.cos(step_angles(sch, lam))
    T = composite(sch, lam)
    kept = teacher_variance_ratio(sch, lam)
    t = (n + 1) // 2
    steps = list(range(1, n + 1))

    def traces(k):
        v = vec[k]
        foot = r[k, t - 1] * v[t]
        arrow = lambda p: ([0.0, float(p[0])], [0.0, float(p[1])])  # noqa: E731
        out = [
            go.Scatter(x=_round(v[:, 0]), y=_round(v[:, 1]), mode="lines+markers", name="v_0 ... v_N",
                       line={"color": "#888888", "width": 1}, marker={"size": 5}, legendgroup="a"),
            go.Scatter(x=_round(arrow(v[t])[0]), y=_round(arrow(v[t])[1]), mode="lines+markers",
                       name=f"v_{t}", line={"color": "#1f77b4", "width": 3}, legendgroup="a"),
            go.Scatter(x=_round(arrow(v[t - 1])[0]), y=_round(arrow(v[t - 1])[1]), mode="lines+markers",
                       name=f"v_{t - 1}", line={"color": "#2ca02c", "width": 3}, legendgroup="a"),
            go.Scatter(x=_round(arrow(foot)[0]), y=_round(arrow(foot)[1]), mode="lines+markers",
                       name=f"r_{t} v_{t} (projection)", line={"color": "#d62728", "width": 3}, legendgroup="a"),
            go.Scatter(x=_round([v[t - 1, 0], foot[0]]), y=_round([v[t - 1, 1], foot[1]]), mode="lines",
                       name="lost (orthogonal) part", line={"color": "#d62728", "dash": "dot"}, legendgroup="a"),
            go.Scatter(x=steps, y=_round(r[k]), mode="lines+markers", name="r_t (DDIM multiplier)",
                       line={"color": "#d62728"}, legendgroup="b"),
            go.Scatter(x=steps, y=_round(flow[k]), mode="lines+markers", name="‖v_t-1‖ / ‖v_t‖ (exact flow)",
                       line={"color": "#1f77b4", "dash": "dash"}, marker={"symbol": "square"}, legendgroup="b"),
            go.Scatter(x=steps, y=_round(cos[k]), mode="lines+markers", name="cos θ_t (projection loss)",
                       line={"color": "#2ca02c", "dash": "dot"}, marker={"symbol": "triangle-up"}, legendgroup="b"),
        ]
        return out

    def frame_layout(k):
        v = vec[k]
        xmax = 1.08 * max(1.0, float(v[:, 0].max()))
        ymax = 1.08 * max(1.0, float(v[:, 1].max()))
        values = torch.cat([r[k], flow[k], cos[k]])
        lo, hi = min(float(values.min()), 1.0), max(float(values.max()), 1.0)
        pad = 0.05 * (hi - lo) + 1e-3
        return {"xaxis.range": [-0.03 * xmax, xmax], "yaxis.range": [-0.03 * ymax, ymax],
                "yaxis2.range": [lo - pad, hi + pad]}

    labels = [f"{v:.3g}" for v in grid]
    readouts = [f"λ = {v:.3g}: composite teacher T = {float(T[k]):.4f},<br>kept variance ∏ cos² θ_t = {float(kept[k]):.4f}"
                for k, v in enumerate(grid)]
    active = min(range(len(grid)), key=lambda k: abs(math.log(grid[k])))  # start at the variance nearest 1
    fig = make_subplots(rows=2, cols=1, row_heights=[0.58, 0.42], vertical_spacing=0.14,
                        subplot_titles=(f"signal-noise plane: step {t} → {t - 1}",
                                        "r_t = (‖v_t-1‖ / ‖v_t‖) · cos θ_t, per step t"))
    circle = torch.linspace(0, math.pi / 2, 60, dtype=DTYPE)
    base = traces(active)
    for i, tr in enumerate(base):
        fig.add_trace(tr, row=1 if i < 5 else 2, col=1)
    fig.add_trace(go.Scatter(x=_round(torch.cos(circle)), y=_round(torch.sin(circle)), mode="lines",
                             name="unit circle", line={"color": "black", "dash": "dash", "width": 1}),
                  row=1, col=1)
    fig.add_hline(y=1.0, line={"color": "black", "width": 1}, opacity=0.5, row=2, col=1)
    names = [f"lam-{k}" for k in range(len(grid))]
    fig.frames = [go.Frame(name=names[k], data=traces(k), traces=list(range(8)),
                           layout={"title": {"text": readouts[k]}, **_expand(frame_layout(k))})
                  for k in range(len(grid))]
    layout = _base_layout(readouts[active], height, legend_px=150)
    fig.update_layout(**layout, sliders=[_slider(labels, "variance λ = ", names, active)])
    fig.update_layout(**_expand(frame_layout(active)))
    # Equal scales (angles are the point); the axes shrink their domain, not their range, to keep them, so
    # every frame's ranges are drawn exactly as given.
    fig.update_xaxes(title_text="signal component α_t √λ", constrain="domain", row=1, col=1)
    fig.update_yaxes(title_text="noise σ_t", scaleanchor="x", scaleratio=1, constrain="domain", row=1, col=1)
    fig.update_xaxes(title_text="step t (z_t → z_t-1)", dtick=1 if n <= 20 else None, row=2, col=1)
    fig.update_yaxes(title_text="factor", row=2, col=1)
    return Twin(fig, name, height, f"DDIM step geometry for {sch.name}, N = {n}, one frame per variance")


def _expand(flat: dict) -> dict:
    """``{"xaxis.range": v}`` to ``{"xaxis": {"range": v}}`` (plotly frames take nested layouts)."""
    out: dict = {}
    for key, value in flat.items():
        head, _, tail = key.partition(".")
        out.setdefault(head, {})[tail] = value
    return out


# ------------------------------------------------------------ chapter 7
def phase_twin(ctaus=None, num_steps: int = 8, schedule: str = "cosine", lams=None, init: str = "warm",
               name: str = "twin-phase", height: int = 680) -> Twin:
    """Kernel-free twin of :func:`lineardistill.widgets.optimal_tree_explorer` (chapter 7, R16/R17).

    One frame per budget in ``ctaus`` (default: ten values from 0.1 to 5).
    Top: against the variance (``lams``, default 121 values from 0.1 to 10,
    log-spaced), the W2 distance to the teacher of the BOOT chain, the one-shot
    tree and the optimal tree (:func:`lineardistill.phase.classify`, exact for
    ``N <= ENUMERATION_MAX_STEPS``). Bottom: the class of the optimal tree.
    Dashed lines mark ``lambda = 1``, ``lambda_b`` and ``lambda_c``.
    """
    go = _plotly()
    from plotly.subplots import make_subplots

    from .phase import PHASES, classify, lambda_boot, lambda_c
    from .student import INITS
    from .teacher import vector_norms

    budgets = _check_grid([0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0] if ctaus is None else ctaus,
                          "ctaus", 0.0, 1e4)
    grid = _check_grid([10 ** (k / 60) for k in range(-60, 61)] if lams is None else lams, "lams", 1e-6, 1e6)
    n = as_int(num_steps, "num_steps", minimum=2, maximum=64)
    sch = getattr(Schedule, one_of(schedule, "schedule", SCHEDULES))(n)
    init = one_of(init, "init", INITS)
    lam = torch.tensor(grid, dtype=DTYPE)
    ct = torch.tensor(budgets, dtype=DTYPE)
    phases = classify(sch, lam[:, None], ct[None, :], init)     # (L, B)
    norm_n = vector_norms(sch, lam)[..., -1][:, None]
    w2 = {"BOOT": phases.boot * norm_n, "one-shot": phases.one_shot * norm_n, "optimal": phases.best * norm_n}
    positive = [float(v[v > 0].min()) for v in w2.values() if bool((v > 0).any())]
    top = max(float(v[torch.isfinite(v)].max()) for v in w2.values())
    # Near an exact line W2 dips towards 0; six decades below the largest value is enough to see the dip.
    floor = max(min(positive) if positive else 1e-12, top * 1e-6)

    def traces(j):
        out = []
        for label, dash in (("BOOT", "solid"), ("one-shot", "dash"), ("optimal", "dot")):
            y = w2[label][:, j]
            y = torch.where(y > 0, y, torch.full_like(y, math.nan))  # an exact tree (W2 = 0) has no log
            out.append(go.Scatter(x=_round(grid), y=_round(y), mode="lines", name=f"W2 of {label}",
                                  line={"color": _COLORS[label], "dash": dash, "width": 3 if label == "optimal" else 2}))
        classes = [PHASES[c] for c in phases.code[:, j].tolist()]
        out.append(go.Scatter(x=_round(grid), y=classes, mode="markers", name="class of the optimal tree",
                              marker={"color": [_COLORS[c] for c in classes], "size": 7}, showlegend=False))
        return out

    lc, lb = lambda_c(sch), lambda_boot(sch)
    readouts = []
    for j, c in enumerate(budgets):
        codes = phases.code[:, j]
        mixed = [grid[i] for i in range(len(grid)) if PHASES[codes[i]] == "mixed"]
        band = f"mixed for λ in [{mixed[0]:.3g}, {mixed[-1]:.3g}]" if mixed else "no mixed point on the grid"
        readouts.append(f"{sch.name}, N = {n}, {init} start, budget cτ = {c:g}:<br>{band}")
    labels = [f"{c:g}" for c in budgets]
    active = min(range(len(budgets)), key=lambda j: abs(math.log(budgets[j]) if budgets[j] > 0 else 99))
    fig = make_subplots(rows=2, cols=1, row_heights=[0.72, 0.28], vertical_spacing=0.1, shared_xaxes=True)
    for i, tr in enumerate(traces(active)):
        fig.add_trace(tr, row=1 if i < 3 else 2, col=1)
    marks = ((1.0, "λ = 1", "right", 0), (lb, f"λ<sub>b</sub> = {lb:.4g}", "left", -14), (lc, f"λ<sub>c</sub> = {lc:.4g}", "left", -28))
    for x, text, anchor, shift in marks:
        if grid[0] <= x <= grid[-1]:
            for row in (1, 2):
                fig.add_vline(x=x, line={"color": "black", "dash": "dash", "width": 1}, opacity=0.6, row=row, col=1)
            fig.add_annotation(x=math.log10(x), y=1.0, xref="x", yref="paper", text=text, showarrow=False,
                               yanchor="top", xanchor=anchor, yshift=shift, font={"size": 11})
    names = [f"ctau-{j}" for j in range(len(budgets))]
    fig.frames = [go.Frame(name=names[j], data=traces(j), traces=[0, 1, 2, 3],
                           layout={"title": {"text": readouts[j]}}) for j in range(len(budgets))]
    fig.update_layout(**_base_layout(readouts[active], height, legend_px=60),
                      sliders=[_slider(labels, "budget cτ = ", names, active)])
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_xaxes(type="log", title_text="variance λ", row=2, col=1)
    fig.update_yaxes(type="log", title_text="W2 to the teacher",
                     range=[math.log10(floor) - 0.3, math.log10(max(top, floor)) + 0.3], row=1, col=1)
    order = [p for p in PHASES if p in {PHASES[c] for c in phases.code.reshape(-1).tolist()}]
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=order, title_text="optimal",
                     row=2, col=1)
    return Twin(fig, name, height, f"optimal merge class against the variance, {sch.name}, N = {n}, "
                                   "one frame per training budget")
