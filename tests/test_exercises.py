"""Every chapter ends with at least three exercises (a derivation, a computation, an exploration),
each with a gated, collapsed solution whose code ran without error.

Whether a solution's code runs is decided by nbval, which executes every cell of every chapter
afresh in ``make test`` (``pytest --nbval book``); a stored output alone proves nothing (it may be
stale). So this file checks that nbval will run each solution cell and judge it: no tag that
makes nbval skip a cell or accept an exception, and a stored output for it to compare with.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTER_NAME = re.compile(r"^(\d\d[a-z]?)_")  # "07_...", and a chapter inserted after it: "07b_..."
CHAPTERS = sorted(p for p in (ROOT / "book").glob("[0-9][0-9]*_*.ipynb") if CHAPTER_NAME.match(p.name))


def label_prefix(name: str) -> str:
    """The exercise label prefix of a chapter file: 'ch' and the file name up to its first underscore."""
    match = CHAPTER_NAME.match(name)
    if match is None:
        raise ValueError(f"name {name!r} is not a chapter file name (NN_ or NNx_)")
    return f"ch{match.group(1)}-"
KINDS = {"derivation": ("derivation", "derive"), "computation": ("computation", "compute"),
         "exploration": ("exploration", "explore")}

# tags with which nbval skips a cell or lets it raise (nbval-ignore-output still runs the cell)
NOT_JUDGED_BY_NBVAL = {"nbval-skip", "raises-exception", "skip-execution"}
EXERCISE = re.compile(r"^\s*```\{exercise-start\}\s*\n:label:\s*(\S+)")
SOLUTION = re.compile(r"^\s*```\{solution-start\}\s+(\S+)")


def exercises(nb):
    """[(label, question text, solution cells or None)] in the order of the notebook."""
    out, open_solution = [], None
    for i, cell in enumerate(nb.cells):
        src = cell.source
        if cell.cell_type == "markdown" and (m := EXERCISE.match(src)):
            question = nb.cells[i + 1].source if i + 1 < len(nb.cells) else ""
            out.append([m.group(1), question, None, i])
        elif cell.cell_type == "markdown" and (m := SOLUTION.match(src)):
            assert open_solution is None, f"cell {i}: solution-start inside another solution"
            open_solution = (m.group(1), [], ":class: dropdown" in src)
        elif cell.cell_type == "markdown" and "{solution-end}" in src:
            assert open_solution is not None, f"cell {i}: solution-end without solution-start"
            label, cells, dropdown = open_solution
            match = [e for e in out if e[0] == label]
            assert match, f"solution for {label!r} comes before (or without) its exercise"
            assert match[0][2] is None, f"two solutions for {label!r}"
            match[0][2] = (cells, dropdown)
            open_solution = None
        elif open_solution is not None:
            open_solution[1].append(cell)
    assert open_solution is None, f"the solution for {open_solution[0]!r} is never closed"
    return out


def test_chapter_files_and_label_prefixes():
    assert label_prefix("07_phase_transition.ipynb") == "ch07-"
    assert label_prefix("07b_what_the_transition_depends_on.ipynb") == "ch07b-"
    assert label_prefix("12c_later.ipynb") == "ch12c-"
    with pytest.raises(ValueError, match="name"):
        label_prefix("intro.ipynb")
    assert "07b_what_the_transition_depends_on.ipynb" in [p.name for p in CHAPTERS]
    assert not [p.name for p in CHAPTERS if not CHAPTER_NAME.match(p.name)]


@pytest.mark.skipif(not CHAPTERS, reason="no chapters yet")
def test_exercise_labels_are_unique_across_the_book():
    labels = [e[0] for path in CHAPTERS for e in exercises(nbformat.read(path, as_version=4))]
    assert len(labels) == len(set(labels)), sorted(lab for lab in labels if labels.count(lab) > 1)


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_ends_with_three_kinds_of_exercises_with_runnable_solutions(path):
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, need at least 3"
    prefix = label_prefix(path.name)
    heading = [i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
               and re.search(r"^##\s+Exercises\s*$", c.source, re.M)]
    assert heading, f"{path.name}: no '## Exercises' section"
    for label, question, solution, index in found:
        assert label.startswith(prefix), f"{label!r} should start with {prefix!r}"
        assert index > heading[0], f"{label} sits before the Exercises section"
        assert solution is not None, f"{label} has no gated solution (solution-start / solution-end)"
        cells, dropdown = solution
        assert dropdown, f"the solution of {label} is not a collapsed dropdown (:class: dropdown)"
        code = [c for c in cells if c.cell_type == "code"]
        assert code, f"the solution of {label} has no code cell"
        for cell in code:
            tags = set(cell.metadata.get("tags", []))
            assert not tags & NOT_JUDGED_BY_NBVAL, f"nbval would not judge the solution of {label}: {tags}"
            assert not cell.metadata.get("nbval-skip"), f"nbval would skip the solution of {label}"
            assert cell.execution_count is not None, f"a code cell of the solution of {label} was never run"
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, f"the solution of {label} raises {errors[0].ename}"
    text = [q.lower()[:80] for _, q, _, _ in found]
    for kind, words in KINDS.items():
        assert any(any(w in t for w in words) for t in text), f"{path.name}: no {kind} exercise"


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_chapter_code_depends_on_a_solution(path):
    """The student book deletes the solutions and still executes the chapter, so no code cell
    outside a solution may come after the first solution (it could use what a solution defined)."""
    nb = nbformat.read(path, as_version=4)
    inside = seen = False
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and SOLUTION.match(cell.source):
            inside = seen = True
        elif cell.cell_type == "markdown" and "{solution-end}" in cell.source:
            inside = False
        elif cell.cell_type == "code" and seen and not inside:
            raise AssertionError(f"{path.name}, cell {i}: code after a solution, outside any solution")
