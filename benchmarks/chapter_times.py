"""Time each notebook of the book in a fresh kernel (what a reader waits for).

Usage: python benchmarks/chapter_times.py [NOTEBOOK ...]   (default: every book/*.ipynb)
Prints a markdown table and returns the rows to benchmarks/run_all.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def time_notebook(path: Path) -> float:
    """Execute ``path`` in a fresh ``python3`` kernel from its own folder; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def chapter_rows(paths=None) -> list[tuple[str, float]]:
    paths = [Path(p) for p in paths] if paths else sorted((ROOT / "book").glob("*.ipynb"))
    return [(p.relative_to(ROOT).as_posix() if p.is_absolute() else p.as_posix(), time_notebook(p)) for p in paths]


def main(argv=None) -> int:
    rows = chapter_rows(argv if argv else None)
    print("| notebook | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **all** | {sum(s for _, s in rows):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
