#!/usr/bin/env python3
"""Insert or update the install cell at the top of every chapter notebook.

Usage: ``python scripts/install_cell.py [--check] [NOTEBOOK ...]`` (default: ``book/*.ipynb``).

A reader who opens a chapter on Colab or Binder from the book's launch buttons
gets the notebook alone, without the library. The first cell of every chapter
installs ``lineardistill`` from the book's repository (``repository.url`` and
``repository.branch`` in ``_config.yml``, the same values the launch buttons
use) when it runs on Colab (``google.colab`` imported) or Binder (a
``BINDER_*`` variable set) and the library is not importable yet; anywhere else
it does nothing. The cell carries the ``remove-cell`` tag, so the HTML book
does not show it, and a fixed cell id (``install-lineardistill``) so that
running this script again replaces it instead of adding a second one.

``--check`` changes nothing and exits 1 when a notebook lacks the current cell.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CELL_ID = "install-lineardistill"
TAG = "remove-cell"


def repository(config_path: Path = REPO / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` of the book's repository from ``_config.yml``."""
    config = yaml.safe_load(Path(config_path).read_text())
    repo = config.get("repository") or {}
    url, branch = str(repo.get("url", "")).rstrip("/"), str(repo.get("branch", "main"))
    if not url.startswith("https://github.com/") or url.count("/") != 4:
        raise ValueError(f"repository.url in {config_path} must be https://github.com/<org>/<repo>, got {url!r}")
    return url, branch


def cell_source(url: str, branch: str) -> str:
    """The install cell's code for the repository ``url`` at ``branch``."""
    return (
        "# On Colab or Binder only: install the book's library, lineardistill, from its repository.\n"
        "# Locally (after `make book` or `pip install -e .`) this cell does nothing.\n"
        "import importlib.util, os, subprocess, sys\n"
        "\n"
        "ON_COLAB = \"google.colab\" in sys.modules\n"
        "ON_BINDER = any(key.startswith(\"BINDER_\") for key in os.environ)\n"
        "if (ON_COLAB or ON_BINDER) and importlib.util.find_spec(\"lineardistill\") is None:\n"
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        f"                           \"lineardistill @ git+{url}@{branch}\"])"
    )


def make_cell(url: str, branch: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": CELL_ID,
            "metadata": {"tags": [TAG]}, "outputs": [], "source": cell_source(url, branch).splitlines(True)}


def has_cell(nb: dict, url: str, branch: str) -> bool:
    """True when the notebook's first cell is the current install cell."""
    if not nb.get("cells"):
        return False
    first = nb["cells"][0]
    source = "".join(first.get("source", []))
    return (first.get("cell_type") == "code" and source == cell_source(url, branch)
            and TAG in first.get("metadata", {}).get("tags", []))


def update(nb: dict, url: str, branch: str) -> bool:
    """Put the current install cell first (replacing an older one); True when ``nb`` changed."""
    if has_cell(nb, url, branch) and nb["cells"][0].get("id", CELL_ID) == CELL_ID:
        return False
    cells = [c for c in nb.get("cells", []) if c.get("id") != CELL_ID]
    cell = make_cell(url, branch)
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5):
        del cell["id"]  # cell ids exist from nbformat 4.5 on
        cells = [c for c in cells if "".join(c.get("source", [])) != cell_source(url, branch)]
    nb["cells"] = [cell] + cells
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook lacks the cell")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "book").glob("*.ipynb"))
    url, branch = repository()
    stale = []
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if args.check:
            if not has_cell(nb, url, branch):
                stale.append(path)
            continue
        if update(nb, url, branch):
            # The layout nbformat writes (one-space indent, a final newline), so diffs stay small.
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            print(f"install_cell: updated {path}")
    if stale:
        print("install_cell: no current install cell in " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
