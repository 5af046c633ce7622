#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is at /usr/bin/chromium, which
# scripts/check_pages.py drives through Playwright (no browser download).
# Idempotent and silent when Chromium is already installed; needs root (or sudo)
# to install it.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "ensure_chromium: /usr/bin/chromium is missing and installing it needs root" >&2; exit 1; }
  SUDO=sudo
fi
echo "ensure_chromium: installing chromium from the Debian archive"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ] || { echo "ensure_chromium: apt-get ran but /usr/bin/chromium is still missing" >&2; exit 1; }
echo "ensure_chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)"
