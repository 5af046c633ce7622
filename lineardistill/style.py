"""The book's figure style: figures fill the text width and their text reads at 9 pt or more.

Used by every chapter (its first code cell calls :func:`use_book_style`); the
HTML book stretches every notebook figure to the width of the text column
(``scripts/book_static/reader.css``). A figure ``W`` inches wide shown across
``CONTENT_WIDTH_PX`` CSS pixels is scaled by ``CONTENT_WIDTH_PX / (96 W)``,
so its text of ``f`` points reads as ``f * CONTENT_WIDTH_PX / (96 W)`` points.
:func:`fit_text` raises every text of a figure to at least
:func:`min_font_size` of it, which makes that at least ``MIN_DISPLAYED_PT``;
:func:`use_book_style` applies it to every figure the notebook displays, and
renders it at least ``CONTENT_WIDTH_PX`` pixels wide so that it is not blown up.
"""

from __future__ import annotations

import io
import math

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.text import Text

CONTENT_WIDTH_PX = 688
"""Width in CSS pixels of the book's text column in a 1280 px wide window (measured in the built
book: the article is 752 px wide with 32 px padding each side; a phone scales everything down alike)."""

MIN_DISPLAYED_PT = 9.0
"""Smallest text size, in points as displayed, of any figure at desktop width."""

CSS_PX_PER_INCH = 96.0

BOOK_RC = {
    "figure.figsize": (CONTENT_WIDTH_PX / 100.0, 0.42 * CONTENT_WIDTH_PX / 100.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.titlesize": 12,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
}
"""rcParams of the book: a default figure that spans the text column at 100 dpi, text 10-12 pt."""


def min_font_size(width_in: float, content_px: float = CONTENT_WIDTH_PX,
                  min_pt: float = MIN_DISPLAYED_PT) -> float:
    """The least font size (points, in figure units) that reads as ``min_pt`` when a figure
    ``width_in`` inches wide is shown ``content_px`` CSS pixels wide."""
    for value, name in ((width_in, "width_in"), (content_px, "content_px"), (min_pt, "min_pt")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return min_pt * CSS_PX_PER_INCH * width_in / content_px


def displayed_size(fontsize: float, width_in: float, content_px: float = CONTENT_WIDTH_PX) -> float:
    """The size in points at which text of ``fontsize`` reads in a figure ``width_in`` wide shown
    ``content_px`` CSS pixels wide."""
    return fontsize / min_font_size(width_in, content_px, 1.0)


def fit_text(fig: Figure, content_px: float = CONTENT_WIDTH_PX, min_pt: float = MIN_DISPLAYED_PT) -> float:
    """Raise every visible text of ``fig`` (titles, labels, ticks, legends, annotations) to at least
    :func:`min_font_size`, then redo the layout; returns that size."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    least = min_font_size(fig.get_figwidth(), content_px, min_pt)
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if tick.label1.get_fontsize() < least:
                    axis.set_tick_params(which="both", labelsize=least)
                    break
    for text in fig.findobj(Text):
        if text.get_text() and text.get_visible() and text.get_fontsize() < least:
            text.set_fontsize(least)
    engine = fig.get_layout_engine()
    if engine is None:
        try:
            fig.tight_layout()
        except (ValueError, RuntimeError):  # an axes layout tight_layout cannot handle: keep it
            pass
    return least


def figure_png(fig: Figure, content_px: float = CONTENT_WIDTH_PX) -> bytes:
    """The PNG the book shows for ``fig``: text fitted (:func:`fit_text`), at least ``content_px``
    pixels wide, cropped to its content like the inline backend does."""
    fit_text(fig, content_px)
    dpi = max(float(mpl.rcParams["savefig.dpi"]) if mpl.rcParams["savefig.dpi"] != "figure" else fig.dpi,
              math.ceil(content_px / fig.get_figwidth()))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def use_book_style(content_px: float = CONTENT_WIDTH_PX) -> None:
    """Set the book's rcParams and, in IPython, show every figure through :func:`figure_png`."""
    min_font_size(1.0, content_px)  # validates content_px
    plt.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the rcParams are all there is to set
        return
    shell = get_ipython()
    if shell is None:
        return
    # The inline backend registers its own PNG printer when it loads, lazily, at the first figure; load it
    # now so that it cannot replace the printer registered below.
    plt.close(plt.figure())
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, lambda fig: figure_png(fig, content_px))
