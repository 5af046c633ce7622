"""The browser check of the built book (scripts/check_pages.py) can fail.

Two tiny local pages, no book needed: a good one must pass, and a bad one (raw
``$x$``, a broken link, a missing image, a JavaScript error, a CDN script, a widget
view that never renders) must
fail with one problem of each kind, the page named. Needs Debian's Chromium
(``scripts/ensure_chromium.sh``) and Playwright; outside CI the browser test is
skipped when they are absent, in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
import zlib
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_pages.py"
spec = importlib.util.spec_from_file_location("check_pages", SCRIPT)
check_pages = importlib.util.module_from_spec(spec)
sys.modules.setdefault("check_pages", check_pages)  # dataclasses look their module up here
spec.loader.exec_module(check_pages)


def _png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG, written with the standard library."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


GOOD = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>good</title></head><body>
<h1 id="top">A good page</h1>
<p>Plain prose with no TeX, a <a href="#top">same-page anchor</a>, a
<a href="other.html#part-two">link to another page's anchor</a>, a <a href="sub/">folder index</a>
and an <a href="https://example.org/paper">external link</a> that is counted, not followed.</p>
<pre>code may hold $x$ and \\(y\\) freely</pre>
<p>Inline <code>$z$</code> code is fine too.</p>
<img src="fig.png" alt="a figure">
</body></html>
"""

OTHER = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>other</title></head><body>
<h2 id="part-two">Part two</h2><p>Nothing to see.</p></body></html>
"""

BAD = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title>
<script src="https://cdn.example.org/lib.js"></script></head><body>
<h1>A bad page</h1>
<p>The variance is $x$ here, untypeset.</p>
<p><a href="missing.html">a page that does not exist</a> and
<a href="other.html#no-such-anchor">an anchor that does not exist</a>.</p>
<img src="no-such-figure.png" alt="missing">
<div class="cell_output"><script type="application/vnd.jupyter.widget-view+json">{"version_major": 2, "version_minor": 0, "model_id": "abc123"}</script></div>
<script>window.undefinedFunctionForTheCheck();</script>
</body></html>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "good.html").write_text(GOOD)
    (root / "other.html").write_text(OTHER)
    (root / "bad.html").write_text(BAD)
    (root / "fig.png").write_bytes(_png())
    (root / "sub").mkdir()
    (root / "sub" / "index.html").write_text(OTHER)
    (root / "_static").mkdir()
    (root / "_static" / "skipped.html").write_text(BAD)
    return root


def test_find_pages_skips_underscore_folders(site):
    assert check_pages.find_pages(site) == ["bad.html", "good.html", "other.html", "sub/index.html"]
    assert check_pages.screenshot_name("sub/index.html") == "sub__index.png"


def test_raw_math_pattern():
    assert check_pages.raw_math_problems("no math at all, costs nothing") == []
    for raw in ("the $x$ value", "a $$y$$ block", r"inline \(a\)", r"display \[b\]", r"left \frac{1}{2} over"):
        assert check_pages.raw_math_problems(raw), raw


def test_spelled_out_greek_in_typeset_math():
    assert check_pages.greek_name_problems([r"\alpha_t \sigma_{t-1} + \lambda", r"\text{alpha} \theta"]) == []
    found = check_pages.greek_name_problems([r"\alpha_{t} alpha_{t-1} \lambda", r"x + sigma_{t}"])
    assert len(found) == 2 and "'alpha'" in found[0] and "'sigma'" in found[1]


def test_redirect_stub_is_recognised(tmp_path):
    stub = tmp_path / "index.html"
    stub.write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    assert check_pages.meta_refresh_target(stub) == "book/intro.html"
    stub.write_text("<p>no redirect here</p>")
    assert check_pages.meta_refresh_target(stub) is None


def _browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI is set but playwright is not installed (pip install -e '.[test]')")
        return False
    if not Path(check_pages.CHROMIUM).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {check_pages.CHROMIUM} is missing (run scripts/ensure_chromium.sh)")
        return False
    return True


def test_checker_passes_good_page_and_fails_bad_one(site, tmp_path):
    if not _browser_available():
        pytest.skip("headless Chromium or playwright is absent (scripts/ensure_chromium.sh; outside CI only)")
    shots = tmp_path / "shots"
    # A short timeout: the bad page's widget view never renders and is waited for half of it.
    reports = {r.page: r for r in check_pages.check_site(site, ["good.html", "bad.html"], shots, timeout_ms=6000)}

    good = reports["good.html"]
    assert good.problems == [], good.problems
    assert good.images == 1
    assert good.links_checked == 3 and good.links_external == 1
    assert (shots / "good.png").stat().st_size > 0

    bad = reports["bad.html"]
    assert not bad.ok
    text = "\n".join(bad.problems)
    expected = {
        "raw $x$": "untypeset math '$x$'",
        "missing page": "broken link 'missing.html'",
        "missing anchor": "no anchor #no-such-anchor in other.html",
        "missing image": "missing figure: <img src='no-such-figure.png'>",
        "JavaScript error": "JavaScript error",
        "CDN script": "tried to fetch a non-local script: https://cdn.example.org/lib.js",
        "unrendered widget": "widget view 1 (model abc123) did not render",
    }
    for what, needle in expected.items():
        assert needle in text, f"{what} not reported; problems were:\n{text}"
    # One line per problem, each naming what is wrong on this page (no blank lines).
    assert all(p.strip() and "\n" not in p for p in bad.problems)
    assert "FAIL bad.html" in bad.summary() and bad.widgets == "0/1"


def test_notebook_figures_need_alt_text_and_a_caption():
    """A cell-output image with myst-nb's default alt (its file name) or no caption fails."""
    good = {"src": "../_images/ab12.png", "alt": "Line plot of the shrinkage against N", "output": True,
            "captioned": True}
    assert check_pages.figure_text_problems(good) == []
    default_alt = dict(good, alt="../_images/ab12.png", captioned=False)
    problems = check_pages.figure_text_problems(default_alt)
    assert any("alt text" in p for p in problems) and any("caption" in p for p in problems)
    assert check_pages.figure_text_problems(dict(good, alt="")) != []
    # Theme images (logos) are not notebook figures.
    assert check_pages.figure_text_problems({"src": "logo.png", "alt": "", "output": False}) == []


# ------------------------------------------------------------------ overflow and kernel-free twins
WIDE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>wide</title>
<style>article { width: 300px; } .box { overflow: hidden; width: 200px; } .scroll { overflow-x: auto; }
pre { margin: 0; }</style></head><body><article>
<h1>Overflow</h1>
<div class="box"><span style="display:inline-block; width: 400px">a formula cut off by its box</span></div>
<p><span style="display:inline-block; width: 1600px">a line that runs off the window</span></p>
<div class="cell_output"><div class="scroll"><pre>%s</pre></div></div>
</article></body></html>
""" % ("x" * 150)

NARROW = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>narrow</title>
<style>article { max-width: 100%%; } pre { overflow-x: auto; margin: 0; }</style></head><body><article>
<h1>Fits</h1><p>Short prose.</p>
<div class="cell_output"><pre>%s</pre></div>
<table><tr><td>a</td><td>b</td></tr></table>
</article></body></html>
""" % ("y" * 30)


def test_overflow_rules_at_desktop_and_phone(tmp_path):
    if not _browser_available():
        pytest.skip("headless Chromium or playwright is absent (scripts/ensure_chromium.sh; outside CI only)")
    (tmp_path / "wide.html").write_text(WIDE)
    (tmp_path / "narrow.html").write_text(NARROW)
    shots = tmp_path / "shots"
    reports = {r.page: r for r in check_pages.check_site(tmp_path, ["wide.html", "narrow.html"], shots,
                                                         timeout_ms=6000)}
    assert reports["narrow.html"].problems == [], reports["narrow.html"].problems
    assert (shots / "narrow.png").is_file() and (shots / "narrow@390.png").is_file()
    text = "\n".join(reports["wide.html"].problems)
    assert "clipped at 1280 px: div.box" in text and "clipped at 390 px: div.box" in text
    assert "beyond the window at 1280 px: span" in text and "runs off the window" in text
    # The 150-character output scrolls in its own box: a problem at desktop width, reachable on a phone.
    assert "text output wider than its container at 1280 px" in text
    assert "text output wider than its container at 390 px" not in text


def test_overflow_problem_wording():
    result = {"width": 390, "clipped": [], "beyond": [], "pageScroll": False,
              "wide": [{"kind": "table", "what": "table", "need": 500, "room": 358, "scrolls": True},
                       {"kind": "display equation", "what": "mjx-container", "need": 420, "room": 358,
                        "scrolls": False}]}
    phone = check_pages.overflow_problems(result, desktop=False)
    assert phone == ["display equation wider than its container at 390 px and not in a scroll box: mjx-container "
                     "needs 420 px, has 358 px"]
    desktop = check_pages.overflow_problems(dict(result, width=1280), desktop=True)
    assert len(desktop) == 2 and all("wider than its container at 1280 px" in p for p in desktop)


def _twin_site(tmp_path, frozen: bool):
    """A page with one kernel-free twin, served with the book's own plotly.js."""
    plotly_js = Path(__file__).resolve().parent.parent / "_vendor" / "plotly" / "plotly.min.js"
    if not plotly_js.is_file():
        pytest.skip("no _vendor/plotly/plotly.min.js (scripts/fetch_vendor.sh)")
    from lineardistill.twins import ddim_geometry_twin

    twin = ddim_geometry_twin(lams=[0.25, 1.0, 4.0], name="probe")
    if frozen:  # every frame shows the same data: the slider moves, the figure does not
        for frame in twin.figure.frames:
            frame.data = twin.figure.frames[1].data
            frame.layout = twin.figure.frames[1].layout
    (tmp_path / "plotly.min.js").write_bytes(plotly_js.read_bytes())
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>twin</title>'
            '<script src="plotly.min.js"></script></head><body><article>' + twin.to_html() + "</article></body></html>")
    (tmp_path / "twin.html").write_text(page)
    return tmp_path


@pytest.mark.parametrize("frozen", [False, True])
def test_the_check_moves_a_twin_slider_and_sees_the_figure_change(tmp_path, frozen):
    if not _browser_available():
        pytest.skip("headless Chromium or playwright is absent (scripts/ensure_chromium.sh; outside CI only)")
    site = _twin_site(tmp_path, frozen)
    (report,) = check_pages.check_site(site, ["twin.html"], None, timeout_ms=20000)
    twin_problems = [p for p in report.problems if p.startswith("twin")]
    if frozen:
        assert twin_problems == ["twin 1 (#probe): clicking its slider did not change the figure"], report.problems
        assert report.twins == "0/1"
    else:
        assert twin_problems == [], report.problems
        assert report.twins == "1/1"


def test_a_twin_without_plotly_is_reported(tmp_path):
    if not _browser_available():
        pytest.skip("headless Chromium or playwright is absent (scripts/ensure_chromium.sh; outside CI only)")
    from lineardistill.twins import phase_twin

    twin = phase_twin(ctaus=[0.5, 1.0], lams=[0.5, 1.0, 3.0], name="lonely")
    (tmp_path / "t.html").write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>'
                                    "<article>" + twin.to_html() + "</article></body></html>")
    (report,) = check_pages.check_site(tmp_path, ["t.html"], None, timeout_ms=3000)
    assert any(p.startswith("twin 1 (#lonely) did not draw: This live figure is drawn by plotly.js")
               for p in report.problems), report.problems
