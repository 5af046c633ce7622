#!/usr/bin/env python
"""Release and autograde the book's assignments, following nbgrader's conventions.

The instructor's notebooks live in ``book/assignments/`` with their solutions.
They use nbgrader's cell metadata (``"nbgrader": {"grade", "grade_id", "points",
"solution", "locked", "schema_version": 3}``) and its text markers, so that
nbgrader itself can release and grade them too. This script is a small,
dependency-light tool that does the same two jobs:

``release [--out DIR]``
    writes the student versions (default ``assignments_release/``): in solution
    cells, code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
    ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` and a written answer becomes
    ``YOUR ANSWER HERE``; every block between ``### BEGIN HIDDEN TESTS`` and
    ``### END HIDDEN TESTS`` is removed; outputs are cleared.

``grade SUBMISSIONS_DIR [--out DIR] [--jobs K]``
    grades ``SUBMISSIONS_DIR/<student>/<assignment>.ipynb``. As nbgrader does, the
    test cells (and every other locked cell) are first restored from the
    instructor's version by ``grade_id``, which puts the hidden tests back and
    undoes any edits to tests; the notebook then runs top to bottom in a fresh
    kernel (nbclient). A test cell scores its points when it runs without an
    error and 0 otherwise, with the error message (the feedback of
    :mod:`lineardistill.grading`) recorded. Written answers are listed as
    manual points. Writes ``scores.csv``, ``checks.csv`` and one feedback file
    per student and assignment (``feedback/<student>/<assignment>.md``), and
    prints a markdown table.

``demo [--out DIR]``
    release, then grade two demonstration submissions: the reference solutions
    and one typical mistake per assignment (:data:`TYPICAL_MISTAKES`).
"""

from __future__ import annotations

import argparse
import copy
import csv
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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

# One typical mistake per assignment: (what the student did wrong, text in the
# reference solution, the student's version of it). Used by `demo` and the tests.
TYPICAL_MISTAKES = {
    "a1_ddim_multiplier": (
        "lambda multiplies sigma_t^2 instead of alpha_t^2 in the denominator of r_t",
        "(a_now**2 * lam + s_now**2)",
        "(s_now**2 * lam + a_now**2)",
    ),
    "a2_merge_rule": (
        "cold start: the student starts from 0 instead of the first child",
        "return w * start + (1 - w) * product",
        "return (1 - w) * product",
    ),
    "a3_dp_phase": (
        "the DP always keeps the largest candidate (max instead of min)",
        "pick = min if opt == \"min\" else max",
        "pick = max",
    ),
}


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


# ---------------------------------------------------------------- grading
@dataclass
class CheckScore:
    student: str
    assignment: str
    check: str
    status: str          # "passed", "failed", "manual"
    points: float        # earned (0 for manual: pending)
    max_points: float
    feedback: str


def _error_of(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def _first_line_of_stdout(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            return output.get("text", "").strip().split("\n")[0]
    return "ran without error"


def prepare_submission(submitted, instructor):
    """Restore the instructor's locked and test cells (by grade_id) into a submitted notebook.

    Returns ``(notebook, missing)`` with the grade_ids of test cells absent from the submission.
    """
    nb = copy.deepcopy(submitted)
    reference = {grade_id(c): c for c in instructor.cells if grade_id(c)}
    seen = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None or gid not in reference:
            continue
        seen.add(gid)
        ref = reference[gid]
        meta = nbgrader_meta(ref)
        if is_autograded_test(ref) or (meta.get("locked") and not is_solution(ref)):
            cell.source = ref.source
            cell.cell_type = ref.cell_type
            cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
    missing = [grade_id(c) for c in instructor.cells if is_autograded_test(c) and grade_id(c) not in seen]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb, missing


def execute(nb, cwd: Path, timeout: int = 300):
    """Run ``nb`` in a fresh python3 kernel, recording errors as outputs; return (nb, problem or None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except (CellTimeoutError, DeadKernelError) as exc:
        return nb, f"the notebook stopped early: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return nb, None


def grade_notebook(path: Path | None, instructor_path: Path, student: str, timeout: int = 300) -> list[CheckScore]:
    """Grade one submitted notebook (``None``: not submitted) against the instructor's version."""
    instructor = nbformat.read(instructor_path, as_version=4)
    assignment = instructor_path.stem
    tests = [c for c in instructor.cells if is_autograded_test(c)]
    manual = [c for c in instructor.cells if is_manual(c)]
    rows = []
    if path is None or not Path(path).exists():
        rows += [CheckScore(student, assignment, grade_id(c), "failed", 0.0, points(c), "not submitted") for c in tests]
    else:
        submitted = nbformat.read(path, as_version=4)
        nb, missing = prepare_submission(submitted, instructor)
        nb, problem = execute(nb, Path(path).parent, timeout)
        by_id = {grade_id(c): c for c in nb.cells if grade_id(c)}
        for ref in tests:
            gid = grade_id(ref)
            if gid in missing:
                rows.append(CheckScore(student, assignment, gid, "failed", 0.0, points(ref),
                                       "this test cell was deleted from the submission"))
                continue
            cell = by_id[gid]
            error = _error_of(cell)
            if error is None and cell.get("execution_count") is None:
                error = problem or "this cell did not run"
            if error is None:
                rows.append(CheckScore(student, assignment, gid, "passed", points(ref), points(ref),
                                       _first_line_of_stdout(cell)))
            else:
                rows.append(CheckScore(student, assignment, gid, "failed", 0.0, points(ref), error))
    rows += [CheckScore(student, assignment, grade_id(c), "manual", 0.0, points(c), "graded by hand")
             for c in manual]
    return rows


def grade(submissions_dir: Path, source_dir: Path = SOURCE_DIR, out_dir: Path | None = None,
          jobs: int = 1, timeout: int = 300, echo: bool = True) -> list[CheckScore]:
    """Grade every ``submissions_dir/<student>/<assignment>.ipynb``; write the tables into ``out_dir``."""
    submissions_dir = Path(submissions_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"submissions directory {submissions_dir} does not exist")
    students = sorted(p for p in submissions_dir.iterdir() if p.is_dir())
    if not students:
        raise FileNotFoundError(f"{submissions_dir} holds no student folders (expected <student>/<assignment>.ipynb)")
    sources = source_notebooks(source_dir)
    jobs_list = [(s, src) for s in students for src in sources]

    def work(item):
        student_dir, src = item
        path = student_dir / src.name
        return grade_notebook(path if path.exists() else None, src, student_dir.name, timeout)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(work, jobs_list))
    rows = [row for part in results for row in part]
    out_dir = Path(out_dir) if out_dir is not None else submissions_dir.parent / "grades"
    write_tables(rows, out_dir)
    if echo:
        print(markdown_table(rows))
    return rows


def summarize(rows) -> list[dict]:
    """One row per (student, assignment): autograded score, its maximum, manual points pending."""
    table: dict[tuple[str, str], dict] = {}
    for r in rows:
        entry = table.setdefault((r.student, r.assignment), {
            "student": r.student, "assignment": r.assignment, "score": 0.0, "max_score": 0.0,
            "manual_pending": 0.0, "failed_checks": []})
        if r.status == "manual":
            entry["manual_pending"] += r.max_points
        else:
            entry["score"] += r.points
            entry["max_score"] += r.max_points
            if r.status == "failed":
                entry["failed_checks"].append(r.check)
    return list(table.values())


def write_tables(rows, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "checks.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "check", "status", "points", "max_points", "feedback"])
        for r in rows:
            writer.writerow([r.student, r.assignment, r.check, r.status, f"{r.points:g}", f"{r.max_points:g}", r.feedback])
    with open(out_dir / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "score", "max_score", "manual_pending", "failed_checks"])
        for s in summarize(rows):
            writer.writerow([s["student"], s["assignment"], f"{s['score']:g}", f"{s['max_score']:g}",
                             f"{s['manual_pending']:g}", " ".join(s["failed_checks"])])
    write_feedback(rows, out_dir)


def write_feedback(rows, out_dir: Path) -> list[Path]:
    """One markdown file per student and assignment, ``feedback/<student>/<assignment>.md``, to hand back."""
    written = []
    for s in summarize(rows):
        mine = [r for r in rows if r.student == s["student"] and r.assignment == s["assignment"]]
        lines = [f"# {s['assignment']}: feedback for {s['student']}", "",
                 f"Autograded score: {s['score']:g} / {s['max_score']:g}"
                 + (f" (plus {s['manual_pending']:g} points graded by hand)" if s["manual_pending"] else ""), ""]
        for r in mine:
            mark = {"passed": "passed", "failed": "FAILED", "manual": "graded by hand"}[r.status]
            lines.append(f"## {r.check}: {mark} ({r.points:g} / {r.max_points:g})")
            if r.status != "manual":
                lines += ["", "```text", r.feedback, "```"]
            lines.append("")
        path = Path(out_dir) / "feedback" / s["student"] / f"{s['assignment']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines))
        written.append(path)
    return written


def markdown_table(rows) -> str:
    lines = ["| student | assignment | autograded score | manual (pending) | failed checks |",
             "|---|---|---|---|---|"]
    for s in summarize(rows):
        failed = ", ".join(s["failed_checks"]) or "none"
        lines.append(f"| {s['student']} | {s['assignment']} | {s['score']:g} / {s['max_score']:g} | "
                     f"{s['manual_pending']:g} | {failed} |")
    failures = [r for r in rows if r.status == "failed"]
    if failures:
        lines += ["", "Feedback on failed checks:", ""]
        for r in failures:
            text = r.feedback.replace("\n", "\n      ")
            lines.append(f"- {r.student} / {r.assignment} / {r.check}:\n      {text}")
    return "\n".join(lines)


# ------------------------------------------------------------------- demo
def with_mistake(nb, assignment: str):
    """A copy of the reference notebook with the typical mistake of :data:`TYPICAL_MISTAKES` made."""
    _, old, new = TYPICAL_MISTAKES[assignment]
    nb = copy.deepcopy(nb)
    hits = [c for c in nb.cells if is_solution(c) and old in c.source]
    if len(hits) != 1 or hits[0].source.count(old) != 1:
        raise ValueError(f"{assignment}: the reference text {old!r} must occur exactly once in a solution cell")
    hits[0].source = hits[0].source.replace(old, new)
    return nb


def demo(out_dir: Path = RELEASE_DIR, source_dir: Path = SOURCE_DIR, jobs: int = 2) -> list[CheckScore]:
    out_dir = Path(out_dir)
    released = release(source_dir, out_dir)
    print(f"released {len(released)} student notebooks into {out_dir}")
    submissions = out_dir / "demo_submissions"
    for student in ("reference", "typical-mistakes"):
        (submissions / student).mkdir(parents=True, exist_ok=True)
    for path in source_notebooks(source_dir):
        nb = nbformat.read(path, as_version=4)
        nbformat.write(nb, submissions / "reference" / path.name)
        if path.stem in TYPICAL_MISTAKES:
            nbformat.write(with_mistake(nb, path.stem), submissions / "typical-mistakes" / path.name)
    return grade(submissions, source_dir, out_dir / "grades", jobs=jobs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="write the student versions")
    p.add_argument("--out", type=Path, default=RELEASE_DIR)
    p = sub.add_parser("grade", help="autograde SUBMISSIONS_DIR/<student>/<assignment>.ipynb")
    p.add_argument("submissions", type=Path)
    p.add_argument("--out", type=Path, default=None, help="where scores.csv and checks.csv go")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    p = sub.add_parser("demo", help="release, then grade the reference and typical-mistake submissions")
    p.add_argument("--out", type=Path, default=RELEASE_DIR)
    p.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "release":
        for path in release(SOURCE_DIR, args.out):
            print(f"wrote {path}")
    elif args.command == "grade":
        grade(args.submissions, SOURCE_DIR, args.out, jobs=args.jobs, timeout=args.timeout)
    else:
        demo(args.out, SOURCE_DIR, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
