"""``make student`` on the real chapters: no solution text survives in the prepared sources (issue 16).

Runs ``scripts/student_book.py prepare`` (the first step of ``make student``) as a program on the
real book, then looks for the solutions itself, with its own reading of the markers (not the
script's): every line of the original chapters between ``{solution-start}`` and ``{solution-end}``,
inside a plain ``{solution}`` block, or between the assignments' ``### BEGIN SOLUTION`` /
``### BEGIN HIDDEN TESTS`` markers, that is long enough to be distinctive and occurs nowhere
outside the solutions, must be absent from the prepared copy (cell sources and stored outputs).

Building the whole student HTML (``jupyter-book build _student_src``) takes minutes: it is done by
``make student`` and its ``verify`` step, not here.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MIN_CHARS = 30
FENCE_OPEN = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}")


def _cell_texts(cell):
    texts = [cell.source]
    for out in cell.get("outputs", []):
        if "text" in out:
            texts.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
        for value in out.get("data", {}).values():
            if isinstance(value, str):
                texts.append(value)
    return texts


def _split(nb):
    """(solution lines, other lines) of one original notebook, by our own reading of the markers."""
    inside, sol, other = False, [], []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == "markdown" and "{solution-start}" in src:
            inside = True
            continue
        if cell.cell_type == "markdown" and "{solution-end}" in src:
            inside = False
            continue
        if inside:
            sol += [line for text in _cell_texts(cell) for line in text.splitlines()]
            continue
        fence, block = None, None
        for line in src.splitlines():
            if block is None and cell.cell_type == "markdown" and (m := FENCE_OPEN.match(line)):
                fence, block = m.group(1), []
                continue
            if block is not None:
                if line.strip() == fence:
                    sol += block
                    block = None
                else:
                    block.append(line)
                continue
            other.append(line)
        if cell.cell_type == "code":
            code = src.splitlines()
            for begin, end in (("### BEGIN SOLUTION", "### END SOLUTION"),
                               ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")):
                hidden = False
                for line in code:
                    if begin in line:
                        hidden = True
                    elif end in line:
                        hidden = False
                    elif hidden:
                        sol.append(line)
            other += [line for text in _cell_texts(cell)[1:] for line in text.splitlines()]
    return sol, other


def _distinctive(sol, other):
    others = {line.strip() for line in other}
    return {line.strip() for line in sol
            if len(line.strip()) >= MIN_CHARS and len(line.split()) >= 3 and line.strip() not in others}


def test_prepare_on_the_real_book_leaves_no_solution_line(tmp_path):
    out = tmp_path / "student_src"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "student_book.py"), "prepare", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    originals = sorted((ROOT / "book").rglob("*.ipynb"))
    assert originals
    checked = 0
    for path in originals:
        rel = path.relative_to(ROOT)
        if "_build" in rel.parts or ".ipynb_checkpoints" in rel.parts:
            continue
        nb = nbformat.read(path, as_version=4)
        lines = _distinctive(*_split(nb))
        copy = out / rel
        if rel.as_posix().startswith("book/instructors"):
            assert not copy.exists()
            continue
        assert copy.exists(), f"{rel} is missing from the student sources"
        kept = nbformat.read(copy, as_version=4)
        text = "\n".join(t for cell in kept.cells for t in _cell_texts(cell))
        leaked = sorted(line for line in lines if line in text)
        assert not leaked, f"{rel}: solution lines in the student copy: {leaked[:3]}"
        checked += len(lines)
    # the check has teeth: the book's solutions give many distinctive lines
    assert checked >= 50, checked
    for path in (out / "book").rglob("*.md"):
        text = path.read_text()
        assert "{solution" not in text, f"{path.relative_to(out)} keeps a solution directive"
