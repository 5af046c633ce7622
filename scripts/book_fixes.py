"""Sphinx extension: small fixes for the HTML book, each found by scripts/check_pages.py.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        book_fixes: scripts/

1. Sphinx 7.4 writes every inline script registered before the build twice (once as
   filename ``None``, once as ``''``), so ``const THEBE_JS_URL`` was declared twice:
   a JavaScript error on every page. Duplicates are dropped here.
2. The theme's first page view logged "Got invalid theme mode" because no default mode
   was set; it is set to ``auto`` (what the theme falls back to anyway).
3. The Jupyter widgets HTML manager calls the MathJax 2 API ``MathJax.Hub.Queue``; a shim
   (``book_static/mathjax2-hub-shim.js``) routes it to MathJax 3.
4. The widget manager finds its icon fonts next to the AMD module's URL; a RequireJS
   ``paths`` entry points that URL at ``_static/html-manager/``, where
   ``scripts/fetch_vendor.sh`` puts the fonts.
5. ``book_static/reader.css``: figures fill the text column; text outputs, display
   equations and tables stay inside their boxes at desktop and phone widths (the
   overflow rules of the browser check).
6. A page that holds a kernel-free twin (``<div class="ld-twin">``, from
   :mod:`lineardistill.twins`) loads the book's own plotly.js (``_static/plotly/``,
   fetched by ``scripts/fetch_vendor.sh``), before RequireJS: plotly.js defines an
   anonymous AMD module when RequireJS is already there ("Mismatched anonymous
   define()"), and sets ``window.Plotly`` when it is not.
"""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "book_static"
SHIM = "mathjax2-hub-shim.js"
EMBED_AMD = "html-manager/embed-amd.js"
REQUIRE_JS = "requirejs/require.js"
CSS = "reader.css"
PLOTLY_JS = "plotly/plotly.min.js"
TWIN_MARKER = 'class="ld-twin"'


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def _fix_page(app, pagename, templatename, context, doctree):
    if not context.get("default_mode"):  # a template variable of the theme (html_context)
        context["default_mode"] = "auto"
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, kept = set(), []
    for js in scripts:
        filename = getattr(js, "filename", js)
        key = (filename or "", getattr(js, "priority", 500),
               tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept
    names = [str(getattr(js, "filename", js) or "") for js in scripts]
    if TWIN_MARKER in (context.get("body") or "") and scripts:
        first_amd = next((i for i, name in enumerate(names) if name.endswith(REQUIRE_JS)), None)
        position = first_amd if first_amd is not None else len(scripts)
        template = scripts[position if position < len(scripts) else -1]
        plotly_js = type(template)("_static/" + PLOTLY_JS, priority=getattr(template, "priority", 500))
        scripts.insert(position, plotly_js)
        names.insert(position, plotly_js.filename)
    if any(name.endswith(EMBED_AMD) for name in names):
        # Before the widget manager loads: its module id maps to _static/html-manager/.
        target = context["pathto"]("_static/html-manager", 1)
        body = "require.config({paths: %s});" % json.dumps({"@jupyter-widgets/html-manager/dist": target})
        position = next(i for i, name in enumerate(names) if name.endswith(EMBED_AMD))
        config_js = type(scripts[position])(None, priority=scripts[position].priority, body=body)
        scripts.insert(position, config_js)


def setup(app):
    app.connect("builder-inited", _add_static)
    app.connect("html-page-context", _fix_page, priority=900)
    app.add_js_file(SHIM, priority=510, defer="defer")
    app.add_css_file(CSS)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
