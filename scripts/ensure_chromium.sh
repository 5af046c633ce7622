#!/usr/bin/env bash
# Print the path of a Chrome or Chromium that scripts/check_pages.py can drive through Playwright
# (no browser download at run time). Looked for in this order: $CHROMIUM, a chromium or chrome on
# PATH, the usual macOS application bundles, Playwright's own browsers (`playwright install
# chromium`), and only then Debian's package through apt-get when we are root (or have sudo) on
# a Debian-like system. Fails with one line that says how to get a browser.
set -euo pipefail
found() { [ -n "$1" ] && [ -x "$1" ] && { echo "$1"; exit 0; }; return 0; }
found "${CHROMIUM:-}"
for name in chromium chromium-browser google-chrome google-chrome-stable chrome; do
  found "$(command -v "$name" 2>/dev/null || true)"
done
for app in "/Applications/Chromium.app/Contents/MacOS/Chromium" \
           "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do
  found "$app"
done
for cache in "${PLAYWRIGHT_BROWSERS_PATH:-}" "$HOME/.cache/ms-playwright" "$HOME/Library/Caches/ms-playwright"; do
  [ -n "$cache" ] && [ -d "$cache" ] || continue
  for exe in "$cache"/chromium-*/chrome-linux/chrome "$cache"/chromium-*/chrome-mac/Chromium.app/Contents/MacOS/Chromium \
             "$cache"/chromium_headless_shell-*/chrome-linux/headless_shell; do
    found "$exe"
  done
done
if [ -z "${ENSURE_CHROMIUM_NO_INSTALL:-}" ] && command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; }; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "ensure_chromium: installing chromium from the Debian archive" >&2
  export DEBIAN_FRONTEND=noninteractive
  if $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends chromium >&2; then
    found "$(command -v chromium 2>/dev/null || echo /usr/bin/chromium)"
  fi
fi
echo "ensure_chromium: no Chrome or Chromium found; install one (Debian: apt-get install chromium;" \
     "macOS: brew install --cask chromium) or run '.venv/bin/python -m playwright install chromium'," \
     "or set CHROMIUM=/path/to/chrome" >&2
exit 1
