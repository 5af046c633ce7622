#!/usr/bin/env bash
# Fetch the JavaScript the HTML book needs (MathJax, RequireJS, the Jupyter widgets
# HTML manager, plotly.js for the kernel-free twins of the explorers) from the npm registry
# into _vendor/, so that pages typeset math, render widgets and draw the twins with no CDN.
# Versions are pinned here; the folder is rebuilt only
# when this script changes (stamp file). The widget manager's icon fonts sit beside
# embed-amd.js, where scripts/book_fixes.py points RequireJS.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=mathjax@3.2.2
REQUIREJS=requirejs@2.3.7
HTML_MANAGER=@jupyter-widgets/html-manager@1.0.15
# plotly.js: the version that the pinned Python plotly (constraints.txt) was built against
# (python -c "import plotly.offline as p; print(p.get_plotlyjs_version())").
PLOTLY=plotly.js-dist-min@4.1.1
stamp="_vendor/.stamp"
want="$MATHJAX $REQUIREJS $HTML_MANAGER $PLOTLY fonts"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
command -v npm >/dev/null || { echo "fetch_vendor: npm is needed to fetch MathJax and the widget manager" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack --silent "$MATHJAX" "$REQUIREJS" "$HTML_MANAGER" "$PLOTLY" >/dev/null )
rm -rf _vendor && mkdir -p _vendor/mathjax _vendor/requirejs _vendor/html-manager _vendor/plotly
tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp" && mv "$tmp"/package/es5/* _vendor/mathjax/ && rm -rf "$tmp"/package
tar -xzf "$tmp"/requirejs-*.tgz -C "$tmp" && cp "$tmp"/package/require.js _vendor/requirejs/ && rm -rf "$tmp"/package
tar -xzf "$tmp"/jupyter-widgets-html-manager-*.tgz -C "$tmp" && cp "$tmp"/package/dist/embed-amd.js "$tmp"/package/dist/*.{woff,woff2,ttf,eot,svg} _vendor/html-manager/ && rm -rf "$tmp"/package
tar -xzf "$tmp"/plotly.js-dist-min-*.tgz -C "$tmp" && cp "$tmp"/package/plotly.min.js _vendor/plotly/ && rm -rf "$tmp"/package
echo "$want" > "$stamp"
echo "fetch_vendor: MathJax, RequireJS, the widget manager and plotly.js are in _vendor/"
