#!/usr/bin/env python3
"""Open every page of the built book in headless Chromium and check that it renders.

Usage: ``python scripts/check_pages.py [--root _build/html] [--screenshots _build/screenshots]``

The book is served from ``127.0.0.1`` on a free port (stdlib ``http.server`` in a
thread) and each page is opened by a Chrome or Chromium (Debian's ``/usr/bin/chromium`` here,
see ``scripts/ensure_chromium.sh``) through Playwright; Playwright downloads no
browser. Every request that does not go to ``127.0.0.1`` is aborted, so the
check also proves the book works offline.

Pages checked: every ``.html`` file under the root except those in folders whose
name starts with ``_`` (``_static``, ``_sources``, ``_images``, ...). That keeps
``genindex.html`` and ``search.html``: a reader reaches them from every page. A
redirect stub (Jupyter Book's top ``index.html``) is not opened; its target must
exist. Each page gets a fresh browser context, so each is checked as a reader's
first visit (empty local storage).

A page fails, with one line per problem naming the page, when it has

- a request for a non-local URL (reported with its resource type; the request is
  blocked), or a local file that does not load (HTTP >= 400 or a failed request);
- a JavaScript error (an uncaught exception or a console error);
- math that MathJax did not typeset: after ``MathJax.startup.promise`` resolves,
  raw ``$...$``, ``$$``, ``\\(``, ``\\)``, ``\\[``, ``\\]`` or a TeX command left in
  the text outside code (``pre``/``code``; closed dropdowns included), any
  ``mjx-merror`` element, math markup on a page where MathJax never started or
  did not finish, or a typeset formula that spells a Greek letter's name without
  its backslash (``alpha_{t-1}``, typeset as the letters a-l-p-h-a);
- an ``<img>`` that did not load (``naturalWidth == 0``); a figure made by a
  notebook cell without alt text (empty, or the file name that myst-nb puts
  there by default) or without a caption;
- a link to a local page that does not exist, or to an ``#anchor`` that the target
  page does not define (external links are counted, not followed: the check is
  offline);
- widget views (``application/vnd.jupyter.widget-view+json``) that the widget
  manager did not render into visible ``.jupyter-widgets`` elements, or rendered
  as "Error displaying widget";
- horizontal overflow, checked at two widths, a desktop (1280 px) and a phone
  (390 px) viewport (:data:`WIDTHS`):

  * *clipped* content, at either width: an element of the page's article whose
    ``overflow-x`` is ``hidden`` or ``clip`` while its content is wider than its
    box (the reader cannot reach the cut part);
  * content *beyond the viewport*, at either width: an element of the article
    that reaches past the right edge of the window without a scroll container
    between it and the article (the whole page would scroll sideways, or the
    part is lost);
  * at the desktop width, a *table, a cell output, a display equation or a box
    (theorem, proof, exercise, admonition) wider than its container or than its
    own box* (it needs a scroll bar there); at the phone width such an
    element may scroll inside its own box (reachable, not cut), and only the two
    rules above apply;

- a Binder or Colab launch link that does not open a notebook of this repository:
  its organisation, repository or branch differ from ``repository`` in
  ``_config.yml``, or the file it names does not exist in the checkout (see
  :func:`launch_link_problems`);
- a kernel-free twin (a plotly figure, ``.ld-twin`` or ``.js-plotly-plot``) that
  did not draw, has no slider, or whose drawn figure does not change when the
  check clicks near the far end of its slider's rail with the mouse.

A full-page screenshot of each page goes to ``<screenshots>/<page>.png`` at the
desktop width and ``<screenshots>/<page>@390.png`` at the phone width (the
page's path with ``/`` replaced by ``__``). Exit status 0 when every page passes,
1 when any problem was found, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import posixpath
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent


def _find_chromium() -> str:
    """The browser scripts/ensure_chromium.sh finds ($CHROMIUM, PATH, macOS apps, Playwright's own),
    without installing anything; Debian's path when none is found (the caller reports it)."""
    try:
        out = subprocess.run([str(REPO / "scripts" / "ensure_chromium.sh")], capture_output=True, text=True,
                             timeout=30, env={**os.environ, "ENSURE_CHROMIUM_NO_INSTALL": "1"}, check=False)
    except (OSError, subprocess.SubprocessError):
        return "/usr/bin/chromium"
    path = out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else ""
    return path or "/usr/bin/chromium"


CHROMIUM = _find_chromium()
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOST = "127.0.0.1"
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WIDTHS = (VIEWPORT, PHONE)
"""The desktop and phone viewports at which the overflow rules are checked."""

# Raw TeX left in the text: $...$ (not spanning lines), $$, \( \) \[ \], or a TeX command.
RAW_MATH = re.compile(
    r"\$\$"
    r"|\$[^$\s][^$\n]{0,200}?\$"
    r"|\\[()\[\]]"
    r"|\\(?:frac|sqrt|sum|prod|int|mathbb|mathbf|mathrm|mathcal|operatorname|begin|end|left|right"
    r"|alpha|beta|gamma|sigma|lambda|theta|tau|eta|le|ge|leq|geq|cdot|cdots|ldots|infty|partial)(?![A-Za-z])"
)


# ------------------------------------------------------------------ local server
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The browser drops connections it no longer needs (a page closed mid-download):
        # not a problem of the book, so no traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(root: Path):
    """Serve ``root`` over HTTP on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _QuietServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="check-pages-http", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------ pages and anchors
def find_pages(root: Path) -> list[str]:
    """Every ``.html`` page under ``root`` (relative POSIX paths), skipping folders named ``_*``."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if any(part.startswith("_") or part.startswith(".") for part in rel.parts[:-1]):
            continue
        pages.append(rel.as_posix())
    return pages


class _IdCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def static_anchors(path: Path) -> frozenset[str]:
    """The ``id`` (and ``<a name>``) values defined in an HTML file."""
    parser = _IdCollector()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def resolve_local(root: Path, url_path: str) -> Path:
    """The file that a URL path on the local server maps to."""
    target = root / unquote(url_path).lstrip("/")
    if url_path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


META_REFRESH = re.compile(r"""<meta[^>]+http-equiv=["']?refresh["']?[^>]*content=["']?\s*\d+\s*;\s*url=([^"'>\s]+)""",
                          re.IGNORECASE)


def meta_refresh_target(path: Path) -> str | None:
    """The URL an HTML redirect stub (``<meta http-equiv="refresh">``) sends the reader to, else None."""
    match = META_REFRESH.search(path.read_text(encoding="utf-8", errors="replace")[:4000])
    return match.group(1) if match else None


def screenshot_name(page: str, width: int | None = None) -> str:
    """``sub/page.html`` -> ``sub__page.png`` (desktop) or ``sub__page@390.png`` (another width)."""
    stem = page[:-5] if page.endswith(".html") else page
    suffix = "" if width in (None, VIEWPORT["width"]) else f"@{width}"
    return stem.replace("/", "__") + suffix + ".png"


# ------------------------------------------------------------------ in-page analysis (JavaScript)
WAIT_MATHJAX_JS = """
async (timeoutMs) => {
  const t0 = Date.now();
  const ready = () => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
  while (window.MathJax && !ready() && Date.now() - t0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 50));
  }
  if (!ready()) return {present: !!window.MathJax, started: false, finished: false};
  const left = Math.max(1000, timeoutMs - (Date.now() - t0));
  const finished = await Promise.race([window.MathJax.startup.promise.then(() => true),
                                       new Promise(r => setTimeout(() => r(false), left))]);
  return {present: true, started: true, finished: finished};
}
"""

WAIT_IMAGES_JS = """
async (timeoutMs) => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  const settle = img => img.complete ? Promise.resolve() :
    new Promise(r => { img.addEventListener('load', r, {once: true}); img.addEventListener('error', r, {once: true}); });
  await Promise.race([Promise.all(imgs.map(settle)), new Promise(r => setTimeout(r, timeoutMs))]);
  return imgs.length;
}
"""

WAIT_WIDGETS_JS = """
async (timeoutMs) => {
  const views = () => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  const rendered = v => {
    const prev = v.previousElementSibling;
    return !!(prev && prev.classList.contains('widget-subarea') && prev.querySelector('.jupyter-widgets'));
  };
  const t0 = Date.now();
  while (views().some(v => !rendered(v)) && Date.now() - t0 < timeoutMs) {
    await new Promise(r => setTimeout(r, 100));
  }
  // Give the views a moment to lay out after the last one appears.
  await new Promise(r => setTimeout(r, 200));
  return views().length;
}
"""

ANALYZE_JS = r"""
() => {
  const out = {};
  // Math: typeset containers, MathJax errors, raw TeX left in the text outside code.
  out.math = document.querySelectorAll('mjx-container').length;
  out.mathMarkup = document.querySelectorAll('.math, span.math, div.math').length;
  out.tex = [];  // the TeX source of every typeset formula, for the spelled-out Greek check
  try { for (const item of window.MathJax.startup.document.math) out.tex.push(String(item.math)); } catch (e) {}
  out.merrors = Array.from(document.querySelectorAll('mjx-merror')).map(e =>
      (e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 120));
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, kbd, samp, script, style, noscript, template, textarea, svg, mjx-container, .highlight')
       .forEach(e => e.remove());
  // Separate block-level text so that a match cannot span two elements.
  clone.querySelectorAll('p, div, li, td, th, h1, h2, h3, h4, h5, h6, dt, dd, summary, caption, figcaption, br')
       .forEach(e => e.insertAdjacentText('afterend', '\n'));
  out.text = clone.textContent;
  // Images.
  out.images = Array.from(document.images).map(img => ({
    src: img.getAttribute('src') || '', url: img.currentSrc || img.src,
    ok: img.complete && img.naturalWidth > 0, alt: img.getAttribute('alt') || '',
    output: !!img.closest('.cell_output') && !img.closest('.jupyter-widgets'),  // widget views draw their own images
    captioned: !!(img.closest('figure') && img.closest('figure').querySelector('figcaption'))}));
  // Links.
  out.links = Array.from(document.querySelectorAll('a[href]')).map(a => ({raw: a.getAttribute('href'), url: a.href}));
  out.ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id)
      .concat(Array.from(document.querySelectorAll('a[name]')).map(e => e.getAttribute('name')));
  // Widgets.
  const views = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  out.widgetState = document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length;
  out.widgetViews = views.length;
  out.widgetElements = document.querySelectorAll('.jupyter-widgets').length;
  const insideClosedDetails = e => { for (let p = e.parentElement; p; p = p.parentElement)
      if (p.tagName === 'DETAILS' && !p.open) return true; return false; };
  out.widgetProblems = [];
  let renderedViews = 0;
  views.forEach((v, i) => {
    let model = '?';
    try { model = JSON.parse(v.textContent).model_id; } catch (e) {}
    const prev = v.previousElementSibling;
    const area = prev && prev.classList.contains('widget-subarea') ? prev : null;
    const widgets = area ? Array.from(area.querySelectorAll('.jupyter-widgets')) : [];
    if (!widgets.length) { out.widgetProblems.push(`widget view ${i + 1} (model ${model}) did not render`); return; }
    const text = area.textContent || '';
    if (text.includes('Error displaying widget') || text.includes('Could not create a view')) {
      out.widgetProblems.push(`widget view ${i + 1} (model ${model}) rendered an error: ${text.trim().slice(0, 120)}`); return; }
    const visible = widgets.some(w => { const r = w.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
    if (!visible && !insideClosedDetails(area)) {
      out.widgetProblems.push(`widget view ${i + 1} (model ${model}) rendered with zero size`); return; }
    renderedViews += 1;
  });
  out.widgetRendered = renderedViews;
  if ((out.widgetState || out.widgetElements) && !views.length)
    out.widgetProblems.push('page holds widget state but no widget views');
  return out;
}
"""


OVERFLOW_JS = r"""
() => {
  // The article: the part of the page a reader reads (the theme's sidebars and header are not checked).
  const root = document.querySelector('#main-content article') || document.querySelector('article')
            || document.querySelector('main') || document.body;
  const vw = document.documentElement.clientWidth;
  const out = {width: vw, clipped: [], beyond: [], wide: [], scrolled: 0,
               pageScroll: document.documentElement.scrollWidth > vw + 1};
  const name = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = (typeof el.className === 'string' ? el.className : '').split(/\s+/).filter(Boolean).slice(0, 2);
    if (cls.length) s += '.' + cls.join('.');
    const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
    return text ? `${s} ("${text}")` : s;
  };
  const hidden = el => {
    for (let p = el; p && p !== document.body; p = p.parentElement) {
      if (p.tagName === 'DETAILS' && !p.open && p !== el) return true;
      const cs = getComputedStyle(p);
      if (cs.display === 'none' || cs.visibility === 'hidden') return true;
    }
    const r = el.getBoundingClientRect();
    return r.width === 0 || r.height === 0;
  };
  // Not content: MathJax's copy for screen readers (clipped to 1 px on purpose), the inside of a plotly
  // figure (an SVG drawing), and the theme's visually hidden helpers.
  const skip = el => !!el.closest('mjx-assistive-mml, .js-plotly-plot, .sr-only, .visually-hidden, script, style');
  const scrolls = cs => cs.overflowX === 'auto' || cs.overflowX === 'scroll';
  const scrollAncestor = el => {
    for (let p = el.parentElement; p && p !== root.parentElement; p = p.parentElement) {
      if (scrolls(getComputedStyle(p))) return p;
    }
    return null;
  };
  const contained = el => {  // inside a box that scrolls (reachable) or clips (reported as clipped)
    for (let p = el.parentElement; p && p !== root.parentElement; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const all = Array.from(root.querySelectorAll('*')).filter(el => !skip(el));
  for (const el of all) {
    const cs = getComputedStyle(el);
    if ((cs.overflowX === 'hidden' || cs.overflowX === 'clip') && el.clientWidth > 0
        && el.scrollWidth > el.clientWidth + 1 && !hidden(el)) {
      out.clipped.push(`${name(el)} shows ${el.clientWidth} of ${el.scrollWidth} px (overflow-x: ${cs.overflowX})`);
    }
  }
  for (const el of all) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 && r.width > 0 && !contained(el) && !hidden(el)) {
      // Report the outermost offender only.
      const parent = el.parentElement;
      const pr = parent ? parent.getBoundingClientRect() : null;
      if (pr && pr.right > vw + 1 && parent !== root && root.contains(parent) && !skip(parent)) continue;
      out.beyond.push(`${name(el)} reaches ${Math.round(r.right)} px, past the ${vw} px window`);
    }
  }
  // Tables, cell outputs and display equations wider than their container.
  const kinds = [['table', 'table'], ['div.cell_output pre, div.output pre, .cell_output .output_area pre', 'text output'],
                 ['mjx-container[display="true"]', 'display equation'], ['div.cell_output', 'cell output'],
                 ['div.admonition, div.proof, div.exercise, div.solution', 'theorem or admonition box']];
  const seen = new Set();
  for (const [selector, kind] of kinds) {
    for (const el of root.querySelectorAll(selector)) {
      if (seen.has(el) || skip(el) || hidden(el)) continue;
      seen.add(el);
      const parent = el.parentElement;
      const pcs = getComputedStyle(parent);
      const room = parent.clientWidth - parseFloat(pcs.paddingLeft) - parseFloat(pcs.paddingRight);
      const width = el.getBoundingClientRect().width;
      const inner = el.scrollWidth - el.clientWidth;
      if (inner > 1 || width > room + 1) {
        const box = scrolls(getComputedStyle(el)) ? el : scrollAncestor(el);
        out.wide.push({kind: kind, what: name(el), need: Math.round(Math.max(el.scrollWidth, width)),
                       room: Math.round(inner > 1 ? el.clientWidth : room), scrolls: !!box});
      }
    }
  }
  return out;
}
"""

TWINS_JS = r"""
async ([timeoutMs]) => {
  const twins = Array.from(document.querySelectorAll('.ld-twin, .js-plotly-plot'))
      .filter((el, i, all) => !all.some(o => o !== el && o.contains(el)));
  const t0 = Date.now();
  const drawn = el => !!el.querySelector('.main-svg');
  while (twins.some(el => !drawn(el)) && Date.now() - t0 < timeoutMs) await new Promise(r => setTimeout(r, 100));
  return twins.map((el, i) => ({index: i, id: el.id || '', drawn: drawn(el),
                                text: (el.textContent || '').trim().slice(0, 120),
                                sliders: el.querySelectorAll('.slider-container').length}));
}
"""

# What the reader sees of a drawn plotly figure: the drawn lines, points and bars (their SVG geometry) and
# the title text; not the slider's own readout, which changes whenever the slider moves.
TWIN_SIGNATURE_JS = r"""
(el) => {
  const geometry = Array.from(el.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.point, '
                                                  + '.barlayer path, .scatterlayer .points path'))
      .map(e => (e.getAttribute('d') || '') + '@' + (e.getAttribute('transform') || ''));
  const titles = Array.from(el.querySelectorAll('.infolayer .gtitle')).map(e => e.textContent);
  return JSON.stringify([geometry, titles]);
}
"""


def overflow_problems(result: dict, desktop: bool, limit: int = 8) -> list[str]:
    """Problems from :data:`OVERFLOW_JS`'s ``result`` at one width (``desktop``: the stricter rules)."""
    width = result["width"]
    at = f"at {width} px"
    problems = [f"clipped {at}: {c}" for c in result["clipped"]]
    problems += [f"beyond the window {at}: {b}" for b in result["beyond"]]
    for w in result["wide"]:
        if desktop:
            problems.append(f"{w['kind']} wider than its container {at}: {w['what']} needs {w['need']} px, "
                            f"has {w['room']} px")
        elif not w["scrolls"]:
            problems.append(f"{w['kind']} wider than its container {at} and not in a scroll box: {w['what']} "
                            f"needs {w['need']} px, has {w['room']} px")
    if result.get("pageScroll") and not result["beyond"]:
        problems.append(f"the page scrolls sideways {at} (document wider than the window)")
    if len(problems) > limit:
        problems = problems[:limit] + [f"overflow {at}: {len(problems) - limit} more problems"]
    return problems


def check_twins(pg, timeout_ms: int) -> tuple[list[str], int]:
    """Every plotly twin on the page is drawn, has a slider, and changes when the slider is clicked.

    The click is a real mouse click (Playwright) near the far end of the slider's rail from its current
    position. Returns (problems, number of twins that moved).
    """
    problems, moved = [], 0
    twins = pg.evaluate(TWINS_JS, [timeout_ms])
    handles = pg.query_selector_all(".ld-twin, .js-plotly-plot")
    handles = [h for h in handles if not h.evaluate("(el) => !!el.parentElement.closest('.ld-twin, .js-plotly-plot')")]
    for info, handle in zip(twins, handles):
        label = f"twin {info['index'] + 1}" + (f" (#{info['id']})" if info["id"] else "")
        if not info["drawn"]:
            problems.append(f"{label} did not draw: {_short(info['text']) or 'empty'}")
            continue
        if not info["sliders"]:
            problems.append(f"{label} has no slider")
            continue
        rail = handle.query_selector(".slider-container .slider-rail-touch-rect") or \
            handle.query_selector(".slider-container .slider-rail-rect")
        grip = handle.query_selector(".slider-container .slider-grip-rect")
        if rail is None:
            problems.append(f"{label}: no slider rail to click")
            continue
        rail.scroll_into_view_if_needed()
        box, grip_box = rail.bounding_box(), grip.bounding_box() if grip else None
        if not box:
            problems.append(f"{label}: the slider rail is not visible")
            continue
        grip_x = (grip_box["x"] + grip_box["width"] / 2) if grip_box else box["x"]
        far_right = grip_x < box["x"] + box["width"] / 2
        x = box["x"] + box["width"] * (0.95 if far_right else 0.05)
        y = box["y"] + box["height"] / 2
        before = handle.evaluate(TWIN_SIGNATURE_JS)
        pg.mouse.click(x, y)
        changed = False
        for _ in range(30):  # up to 3 s for the frame to be drawn
            pg.wait_for_timeout(100)
            if handle.evaluate(TWIN_SIGNATURE_JS) != before:
                changed = True
                break
        if changed:
            moved += 1
        else:
            problems.append(f"{label}: clicking its slider did not change the figure")
    return problems, moved


# ------------------------------------------------------------------ results
@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    math: int = 0
    images: int = 0
    widgets: str = "-"
    twins: str = "-"
    links_checked: int = 0
    links_external: int = 0
    seconds: float = 0.0
    redirect: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        status = "ok  " if self.ok else "FAIL"
        where = f"{self.page} (redirects to {self.redirect})" if self.redirect else self.page
        return (f"{status} {where}: math={self.math} images={self.images} widgets={self.widgets} twins={self.twins} "
                f"links={self.links_checked} (+{self.links_external} external, not followed) "
                f"problems={len(self.problems)} [{self.seconds:.1f}s]")


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# A Greek letter's name typed without its backslash ("alpha_{t-1}", often a SymPy symbol name)
# is typeset as italic letters a-l-p-h-a; text inside \text{}, \mathrm{} etc. is ignored.
GREEK_NAME = re.compile(r"(?<![\\A-Za-z])(alpha|beta|gamma|delta|epsilon|sigma|lambda|theta|omega)(?![A-Za-z])")
TEX_TEXT = re.compile(r"\\(?:text\w*|mathrm|operatorname|mbox)\s*\{[^{}]*\}")


def greek_name_problems(formulas: list[str], limit: int = 3) -> list[str]:
    """One problem per typeset formula that spells a Greek letter's name without ``\\``."""
    bad = [(m.group(1), tex) for tex in formulas if (m := GREEK_NAME.search(TEX_TEXT.sub("", tex)))]
    problems = [f"math spells out {name!r} (no backslash, typeset as letters) in: {_short(tex)!r}"
                for name, tex in bad[:limit]]
    if len(bad) > limit:
        problems.append(f"math spells out Greek letter names in {len(bad) - limit} more formulas")
    return problems



def figure_text_problems(img: dict) -> list[str]:
    """A notebook figure needs alt text (not just its file name) and a caption."""
    if not img.get("output"):
        return []
    problems = []
    alt = img.get("alt", "").strip()
    name = img["src"].rsplit("/", 1)[-1]
    shown = _short(img["src"])
    if not alt or name in alt or alt.endswith((".png", ".svg", ".jpg")):
        problems.append(f"figure without alt text: <img src={shown!r}> has alt={_short(alt)!r}")
    if not img.get("captioned"):
        problems.append(f"figure without a caption: <img src={shown!r}> is not in a captioned <figure>")
    return problems

def raw_math_problems(text: str, limit: int = 5) -> list[str]:
    """One problem per raw-TeX match in ``text`` (the first ``limit``, then a count)."""
    problems = []
    matches = list(RAW_MATH.finditer(text))
    for m in matches[:limit]:
        context = text[max(0, m.start() - 30): m.end() + 30]
        problems.append(f"untypeset math {m.group(0)!r} in: {_short(context)!r}")
    if len(matches) > limit:
        problems.append(f"untypeset math: {len(matches) - limit} more matches")
    return problems


def link_problems(root: Path, base: str, page: str, links: list[dict], live_ids: set[str]) -> tuple[list[str], int, int]:
    """Check local links against the files under ``root`` and their anchors.

    Returns (problems, number of local links checked, number of external links).
    """
    base_parts = urlsplit(base)
    problems, checked, external = [], 0, 0
    page_file = resolve_local(root, "/" + page)
    seen = set()
    for link in links:
        raw, url = link["raw"] or "", link["url"] or ""
        parts = urlsplit(url)
        if parts.scheme in ("mailto", "javascript", "tel", "data"):
            continue
        if parts.scheme in ("http", "https") and parts.netloc != base_parts.netloc:
            external += 1
            continue
        if parts.scheme not in ("http", "https"):
            problems.append(f"link {raw!r} uses the scheme {parts.scheme!r}, which does not work for a reader")
            continue
        checked += 1
        if url in seen:
            continue
        seen.add(url)
        target = resolve_local(root, parts.path)
        if not target.is_file():
            problems.append(f"broken link {raw!r}: no file {target.relative_to(root).as_posix()}")
            continue
        fragment = unquote(parts.fragment)
        if not fragment or target.suffix not in (".html", ".htm"):
            continue
        anchors = set(static_anchors(target))
        if target.resolve() == page_file.resolve():
            anchors |= live_ids
        if fragment not in anchors:
            problems.append(f"broken link {raw!r}: no anchor #{fragment} in {target.relative_to(root).as_posix()}")
    return problems, checked, external


LAUNCH_HOSTS = {"mybinder.org": "binder", "colab.research.google.com": "colab"}


@functools.lru_cache(maxsize=None)
def repository(config: Path = REPO / "_config.yml") -> tuple[str, str, str]:
    """``(org, repo, branch)`` from ``repository`` in ``_config.yml``."""
    import yaml

    repo = (yaml.safe_load(Path(config).read_text()) or {}).get("repository") or {}
    parts = urlsplit(str(repo.get("url", ""))).path.strip("/").split("/")
    if len(parts) != 2:
        raise ValueError(f"repository.url in {config} must be https://github.com/<org>/<repo>")
    return parts[0], parts[1], str(repo.get("branch", "main"))


def launch_target(url: str) -> tuple[str, str, str, str, str] | None:
    """``(service, org, repo, branch, path in the repository)`` of a Binder or Colab link, else None."""
    from urllib.parse import parse_qs

    parts = urlsplit(url)
    service = LAUNCH_HOSTS.get(parts.netloc)
    if service is None:
        return None
    segments = parts.path.strip("/").split("/")
    if service == "binder":  # /v2/gh/<org>/<repo>/<branch>?urlpath=lab/tree/<path>
        if segments[:2] != ["v2", "gh"] or len(segments) != 5:
            return (service, "", "", "", "")
        urlpath = parse_qs(parts.query).get("urlpath", [""])[0]
        for prefix in ("lab/tree/", "tree/", "notebooks/"):
            if urlpath.startswith(prefix):
                urlpath = urlpath[len(prefix):]
                break
        return (service, segments[2], segments[3], segments[4], urlpath)
    # colab: /github/<org>/<repo>/blob/<branch>/<path>
    if len(segments) < 6 or segments[0] != "github" or segments[3] != "blob":
        return (service, "", "", "", "")
    return (service, segments[1], segments[2], segments[4], "/".join(segments[5:]))


def launch_link_problems(links: list[dict], repo_root: Path = REPO, expected=None) -> list[str]:
    """Binder and Colab links must open an existing notebook of this repository at its branch."""
    problems = []
    for link in links:
        target = launch_target(link.get("url") or "")
        if target is None:
            continue
        expected = expected or repository()
        service, org, repo, branch, path = target
        if (org, repo, branch) != expected:
            problems.append(f"{service} link {_short(link['url'])!r} names {org}/{repo}@{branch}, "
                            f"not {expected[0]}/{expected[1]}@{expected[2]} (repository in _config.yml)")
        elif not path.endswith(".ipynb") or not (repo_root / path).is_file():
            problems.append(f"{service} link {_short(link['url'])!r} opens {path!r}, which is not a notebook "
                            "of this repository")
    return problems


def check_page(browser_context, root: Path, base: str, page: str, screenshot: Path | None,
               timeout_ms: int = 30000) -> PageReport:
    """Open one page, wait for MathJax, images and widgets, and collect its problems."""
    from playwright.sync_api import Error as PlaywrightError

    report = PageReport(page)
    start = time.monotonic()
    problems = report.problems
    blocked: list[tuple[str, str]] = []
    failed: list[tuple[str, str, str]] = []
    errors: list[str] = []

    def route(route, request):
        url = request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            blocked.append((request.resource_type, url))
            route.abort()

    def on_response(response):
        if response.status >= 400:
            failed.append((response.request.resource_type, response.url, f"{response.url} (HTTP {response.status})"))

    def on_request_failed(request):
        if urlsplit(request.url).hostname == LOCAL_HOST:
            failed.append((request.resource_type, request.url, f"{request.url} ({request.failure})"))

    def on_console(message):
        # "Failed to load resource" repeats a blocked or missing request reported above.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(f"console error: {_short(message.text, 200)}")

    def on_page_error(error):
        errors.append(f"JavaScript error: {_short(str(error), 200)}")

    redirect = meta_refresh_target(resolve_local(root, "/" + page))
    if redirect is not None:  # a redirect stub (Jupyter Book's index.html): its target must exist
        report.redirect = redirect
        target = resolve_local(root, "/" + posixpath.join(posixpath.dirname(page), urlsplit(redirect).path))
        if not target.is_file():
            problems.append(f"redirects to {redirect!r}, which does not exist")
        report.seconds = time.monotonic() - start
        return report

    pg = browser_context.new_page()
    try:
        pg.route("**/*", route)
        pg.on("response", on_response)
        pg.on("requestfailed", on_request_failed)
        pg.on("console", on_console)
        pg.on("pageerror", on_page_error)
        try:
            pg.goto(base + page, wait_until="load", timeout=timeout_ms)
        except Exception as exc:  # a page that does not load at all is one problem
            problems.append(f"page did not load: {_short(str(exc), 200)}")
            return report
        for attempt in range(3):  # a page whose script navigates away is analyzed where it lands
            try:
                mathjax = pg.evaluate(WAIT_MATHJAX_JS, timeout_ms // 2)
                pg.evaluate(WAIT_IMAGES_JS, timeout_ms // 2)
                pg.evaluate(WAIT_WIDGETS_JS, timeout_ms // 2)
                data = pg.evaluate(ANALYZE_JS)
                break
            except PlaywrightError as exc:
                if attempt == 2 or "context was destroyed" not in str(exc):
                    raise
                pg.wait_for_load_state("load", timeout=timeout_ms)
        final = urlsplit(pg.url).path.lstrip("/")
        if final != page:
            report.redirect = final
        # Overflow at the desktop width, then the twins (their sliders are clicked), then the phone width.
        layout_problems = overflow_problems(pg.evaluate(OVERFLOW_JS), desktop=True)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(screenshot), full_page=True)
        twin_problems, moved = check_twins(pg, timeout_ms // 2)
        total_twins = pg.evaluate("() => document.querySelectorAll('.ld-twin').length")
        if total_twins or twin_problems or moved:
            report.twins = f"{moved}/{max(total_twins, moved)}"
        pg.set_viewport_size(PHONE)
        pg.wait_for_timeout(600)  # the theme and plotly re-lay out on resize
        layout_problems += overflow_problems(pg.evaluate(OVERFLOW_JS), desktop=False)
        if screenshot is not None:
            phone_shot = screenshot.with_name(screenshot.stem + f"@{PHONE['width']}.png")
            pg.screenshot(path=str(phone_shot), full_page=True)
    finally:
        pg.close()

    for kind, url in dict.fromkeys(blocked):
        problems.append(f"tried to fetch a non-local {kind}: {url} (blocked)")
    broken_images = {img["url"] for img in data["images"] if not img["ok"]}
    reported = set()
    for kind, url, what in failed:  # each failing URL once (a 404 is also a failed request)
        if url not in reported and not (kind == "image" and url in broken_images):  # that is a missing figure
            problems.append(f"local {kind} did not load: {what}")
        reported.add(url)
    for error, count in Counter(errors).items():
        problems.append(error if count == 1 else f"{error} ({count} times)")

    report.math = data["math"]
    if data["mathMarkup"] and not mathjax["started"]:
        problems.append(f"{data['mathMarkup']} math elements but MathJax never started "
                        f"({'configured but not loaded' if mathjax['present'] else 'not on the page'})")
    if mathjax["started"] and not mathjax["finished"]:
        problems.append(f"MathJax did not finish typesetting within {timeout_ms // 2000} s")
    for err in data["merrors"]:
        problems.append(f"MathJax error (mjx-merror): {_short(err)!r}")
    problems.extend(raw_math_problems(data["text"]))
    problems.extend(greek_name_problems(data["tex"]))

    report.images = len(data["images"])
    for img in data["images"]:
        if not img["ok"]:
            problems.append(f"missing figure: <img src={img['src']!r}> did not load (naturalWidth 0)")
        problems.extend(figure_text_problems(img))

    link_issues, report.links_checked, report.links_external = link_problems(
        root, base, report.redirect or page, data["links"], set(data["ids"]))
    problems.extend(link_issues)
    problems.extend(launch_link_problems(data["links"]))

    if data["widgetViews"] or data["widgetState"] or data["widgetElements"]:
        report.widgets = f"{data['widgetRendered']}/{data['widgetViews']}"
        problems.extend(data["widgetProblems"])
    problems.extend(twin_problems)
    problems.extend(layout_problems)
    report.seconds = time.monotonic() - start
    return report


def check_site(root, pages=None, screenshots=None, chromium: str = CHROMIUM,
               timeout_ms: int = 30000, echo=None) -> list[PageReport]:
    """Serve ``root``, open each page (default: :func:`find_pages`) and return one report per page.

    ``echo`` (for example ``print``) receives each page's summary as soon as it is done.
    """
    from playwright.sync_api import sync_playwright  # imported here: find_pages etc. work without it

    root = Path(root).resolve()
    pages = find_pages(root) if pages is None else list(pages)
    reports = []
    with serve(root) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=LAUNCH_ARGS)
        try:
            for page in pages:
                shot = Path(screenshots) / screenshot_name(page) if screenshots is not None else None
                # A fresh context per page: every page is checked as a first visit (empty storage).
                context = browser.new_context(viewport=VIEWPORT, service_workers="block")
                try:
                    report = check_page(context, root, base, page, shot, timeout_ms)
                finally:
                    context.close()
                reports.append(report)
                if echo is not None:
                    echo(report.summary())
        finally:
            browser.close()
    return reports


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(REPO / "_build" / "html"), help="the built HTML book")
    parser.add_argument("--screenshots", default=str(REPO / "_build" / "screenshots"),
                        help="folder for one full-page PNG per page")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium binary (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per page for loading and rendering")
    parser.add_argument("pages", nargs="*", help="pages to check, relative to --root (default: all)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not (root / "index.html").is_file() and not args.pages:
        print(f"check_pages: no book at {root} (no index.html); run `make book` first", file=sys.stderr)
        return 2
    if not Path(args.chromium).is_file():
        print(f"check_pages: no Chromium at {args.chromium}; run scripts/ensure_chromium.sh", file=sys.stderr)
        return 2
    pages = args.pages or find_pages(root)
    print(f"check_pages: {len(pages)} pages under {root}, screenshots in {args.screenshots}")
    reports = check_site(root, pages, args.screenshots, args.chromium, int(args.timeout * 1000), echo=print)
    bad = [r for r in reports if not r.ok]
    for report in bad:
        for problem in report.problems:
            print(f"FAIL {report.page}: {problem}")
    total = sum(len(r.problems) for r in reports)
    print(f"check_pages: {len(reports) - len(bad)}/{len(reports)} pages pass; {total} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
