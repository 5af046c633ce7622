#!/usr/bin/env python
"""The student version of an assignment notebook, by nbgrader's rules (for the student book).

The instructor's notebooks live in ``book/assignments/`` with their solutions and
nbgrader's cell metadata. Courses are released and graded by nbgrader itself,
through ``scripts/classroom.py`` (``make release`` / ``make grade``). What remains
here is the release rule alone, without nbgrader, because the student book
(``scripts/student_book.py``, ``make student``) shows the student versions and
needs only the book's dependencies: in solution cells, code between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` /
``raise NotImplementedError()`` and a written answer becomes ``YOUR ANSWER HERE``;
every block between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is
removed; outputs are cleared. tests/test_classroom.py checks that this gives the
same cell sources as ``nbgrader generate_assignment``.

``release [--out DIR]`` writes the student versions (default ``assignments_release/``).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "book" / "assignments"
RELEASE_DIR = ROOT / "assignments_release"

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # exactly what nbgrader writes
TEXT_STUB = "YOUR ANSWER HERE"
READER_TAGS = ("hide-input",)  # tags that only serve the reader's book; dropped on release

# ------------------------------------------------------------ cell metadata
def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution", False))


def is_grade(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade", False))


def is_autograded_test(cell) -> bool:
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def is_manual(cell) -> bool:
    return is_grade(cell) and is_solution(cell)


def points(cell) -> float:
    return float(nbgrader_meta(cell).get("points", 0.0))


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


# --------------------------------------------------------------- releasing
def _regions(lines, begin, end, where):
    """Yield (start, stop) line indices of each begin..end region, checking that they pair up."""
    start = None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise ValueError(f"{where}: nested '{begin}' at line {i + 1}")
            start = i
        elif text == end:
            if start is None:
                raise ValueError(f"{where}: '{end}' without '{begin}' at line {i + 1}")
            yield start, i
            start = None
    if start is not None:
        raise ValueError(f"{where}: '{begin}' at line {start + 1} is never closed")


def replace_regions(source: str, begin: str, end: str, stub: str | None, where: str = "cell") -> str:
    """Replace each ``begin``..``end`` region (markers included) by ``stub`` at the marker's indentation.

    ``stub=None`` removes the regions.
    """
    lines = source.split("\n")
    out, last = [], 0
    for start, stop in _regions(lines, begin, end, where):
        out.extend(lines[last:start])
        if stub is not None:
            indent = re.match(r"\s*", lines[start]).group(0)
            out.extend(indent + line for line in stub.split("\n"))
        last = stop + 1
    out.extend(lines[last:])
    return "\n".join(out)


def has_markers(source: str) -> bool:
    return any(m in source for m in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN))


def release_notebook(nb, where: str = "notebook"):
    """The student version of an instructor's notebook (a new object; ``nb`` is unchanged)."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        here = f"{where}, cell {index} ({grade_id(cell) or 'no grade_id'})"
        source = cell.source
        if BEGIN_HIDDEN in source or END_HIDDEN in source:
            if not is_autograded_test(cell):
                raise ValueError(f"{here}: hidden tests may only sit in a graded test cell")
            source = replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, None, here).rstrip("\n")
        if BEGIN_SOLUTION in source or END_SOLUTION in source:
            if not is_solution(cell):
                raise ValueError(f"{here}: solution markers in a cell without nbgrader solution metadata")
            stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
            source = replace_regions(source, BEGIN_SOLUTION, END_SOLUTION, stub, here)
        elif is_solution(cell):
            source = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        cell.source = source
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t not in READER_TAGS]
        if "tags" in cell.get("metadata", {}):
            if tags:
                cell.metadata["tags"] = tags
            else:
                del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)  # timings of the instructor's run
    return nb


def source_notebooks(source_dir: Path = SOURCE_DIR) -> list[Path]:
    paths = sorted(Path(source_dir).glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no assignment notebooks in {source_dir}")
    return paths


def release(source_dir: Path = SOURCE_DIR, out_dir: Path = RELEASE_DIR) -> list[Path]:
    """Write the student version of every assignment into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in source_notebooks(source_dir):
        nb = nbformat.read(path, as_version=4)
        student = release_notebook(nb, where=path.name)
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="write the student versions (a preview; courses use scripts/classroom.py)")
    p.add_argument("--out", type=Path, default=RELEASE_DIR)
    args = parser.parse_args(argv)
    for path in release(SOURCE_DIR, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
