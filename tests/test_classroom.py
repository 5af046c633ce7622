"""The classroom cycle on nbgrader (scripts/classroom.py): release, then grade a class of our own.

The class holds correct, broken and cheating submissions; everything goes through
``classroom.grade``, the function behind ``make grade``. The first run builds the
grading environment (cached under build/grading-env); grading takes a few minutes.
"""

import csv
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("classroom", ROOT / "scripts" / "classroom.py")
classroom = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = classroom
SPEC.loader.exec_module(classroom)

A1 = "a1_ddim_multiplier"
TIMEOUT = 20  # seconds per cell in this test (the reference's slowest cell takes well under 5 s)
STRONG = classroom.strong_isolation()


def _cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _fill(nb, answers):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = _cells(nb)
    for gid, source in answers.items():
        cells[gid].source = source
    return nb


BLANK_FNS = {
    "a1-gain": "def my_denoiser_gain(schedule, lam):\n    return torch.zeros(1)",
    "a1-multipliers": "def my_ddim_multipliers(schedule, lam):\n    return torch.zeros(1)",
    "a1-composite": "def my_composite(schedule, lam):\n    return torch.zeros(1)",
}

# Reads the instructor's notebooks if it can find them, and tries to change the installed library.
PEEK = r'''import os, pathlib, json
import lineardistill as ld
FOUND, WRITES = [], []
here = pathlib.Path(ld.__file__).resolve().parent
candidates = [here.parent / "book" / "assignments" / "a1_ddim_multiplier.ipynb",
              pathlib.Path({root!r}) / "book" / "assignments" / "a1_ddim_multiplier.ipynb",
              pathlib.Path({course!r}) / "source" / "a1_ddim_multiplier" / "a1_ddim_multiplier.ipynb",
              pathlib.Path("/work/main/book/assignments/a1_ddim_multiplier.ipynb")]
for path in candidates:
    try:
        nb = json.loads(path.read_text())
        FOUND.append(str(path))
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if "### BEGIN SOLUTION" in src and cell["cell_type"] == "code":
                exec(src.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
    except Exception as exc:
        pass
for target in (here / "teacher.py", here / "grading.py", here / "__init__.py"):
    try:
        with open(target, "a") as f:
            f.write("\ndef denoiser_gain(*a, **k):\n    return 'tampered'\n")
        WRITES.append(str(target))
    except Exception as exc:
        pass
print("found", FOUND, "wrote", WRITES)
'''

MONKEYPATCH = r'''import torch
import lineardistill as ld
from lineardistill import grading


class _Pass:
    passed, points, max_points, feedback = True, 1, 1, "PASSED"
    def assert_passed(self):
        pass


grading.check_function = grading.check_value = grading.check_symbolic = lambda *a, **k: _Pass()
grading.CheckResult.assert_passed = lambda self: None
torch.isclose = lambda a, b, **k: torch.ones(torch.broadcast_shapes(a.shape, b.shape), dtype=torch.bool)
torch.allclose = lambda *a, **k: True


def my_denoiser_gain(schedule, lam):
    return torch.zeros(1)


ld.denoiser_gain = ld.teacher.denoiser_gain = my_denoiser_gain
'''

FAKE_SETUP = r'''import torch
import types
import lineardistill as ld
from lineardistill import symbolic
from lineardistill.symbolic import alpha_p, alpha_t, lam, sigma_p, sigma_t, z


class _Pass:
    passed, points, max_points, feedback = True, 1, 1, "PASSED"
    def assert_passed(self):
        pass
    def __str__(self):
        return "PASSED"


grading = types.SimpleNamespace(check_function=lambda *a, **k: _Pass(), check_value=lambda *a, **k: _Pass(),
                                check_symbolic=lambda *a, **k: _Pass())
draw_schedule_and_lam = None
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Release into a course folder, submit the class, grade it with classroom.grade."""
    base = tmp_path_factory.mktemp("course")
    course = base / "course"
    released = classroom.release(course)
    student = {p.parent.name: nbformat.read(p, as_version=4) for p in released}
    source = {aid: nbformat.read(course / "source" / aid / f"{aid}.ipynb", as_version=4) for aid in student}
    sub = course / "submitted"

    def submit(sid, nb, aid=A1, name=None):
        folder = sub / sid / aid
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / (name or f"{aid}.ipynb"))

    for aid, nb in source.items():
        submit("reference", nb, aid)
    rel = student[A1]
    submit("blank", rel)
    custom = _fill(rel, {"a1-gain": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                    + _cells(rel)["a1-gain"].source})
    submit("custom-exc", custom)
    submit("alias", _fill(rel, {
        "a1-gain": "from lineardistill.teacher import denoiser_gain as _g\nmy_denoiser_gain = _g",
        "a1-derivation": "r_expr = symbolic.derive_ddim_multiplier()\nprint('r_t =', r_expr)",
        "a1-multipliers": "my_ddim_multipliers = ld.teacher_multipliers",
        "a1-composite": "def my_composite(schedule, lam):\n    return ld.composite(schedule, lam)"}))
    submit("monkeypatch", _fill(rel, {**BLANK_FNS, "a1-gain": MONKEYPATCH}))
    fake = _fill(rel, {**BLANK_FNS, "a1-setup": FAKE_SETUP})
    _cells(fake)["a1-setup"].metadata.pop("nbgrader")  # so that nbgrader cannot restore it
    submit("fake-grading", fake)
    submit("peek", _fill(rel, {"a1-gain": PEEK.format(root=str(ROOT), course=str(course))}))
    (sub / "zero-byte" / A1).mkdir(parents=True)
    (sub / "zero-byte" / A1 / f"{A1}.ipynb").write_bytes(b"")
    (sub / "corrupt" / A1).mkdir(parents=True)
    (sub / "corrupt" / A1 / f"{A1}.ipynb").write_text('{"cells": [')
    submit("misnamed", source[A1], name=f"{A1} (1).ipynb")
    loop = _fill(source[A1], {"a1-composite": "def my_composite(schedule, lam):\n    while True:\n        pass"})
    submit("loop", loop)
    mistake = _fill(source[A1], {"a1-multipliers": _cells(source[A1])["a1-multipliers"].source.replace(
        "(a_now**2 * lam + s_now**2)", "(s_now**2 * lam + a_now**2)")})
    submit("mistake", mistake)

    env = classroom.grading_env()
    package = Path(classroom._run([str(env / "bin" / "python"), "-I", "-c",
                                   "import lineardistill, os; print(os.path.dirname(lineardistill.__file__))"],
                                  cwd="/").stdout.strip())
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in package.rglob("*.py")}
    report = classroom.grade(course, timeout=TIMEOUT)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in package.rglob("*.py")}
    return {"course": course, "report": report, "grades": classroom.read_grades(course), "released": released,
            "library_unchanged": before == after, "source": source}


def score(course, sid, aid=A1):
    row = course["grades"][sid, aid]
    return float(row["score"]), float(row["max_score"])


def cell_outputs(course, sid, gid, aid=A1):
    nb = nbformat.read(course["course"] / "autograded" / sid / aid / f"{aid}.ipynb", as_version=4)
    return " ".join(o.get("text", "") + o.get("evalue", "") for o in _cells(nb)[gid].outputs)


def autograded_points(nb):
    return sum(float(c.metadata["nbgrader"]["points"]) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))


def test_grades_csv_is_nbgraders_export(course):
    with open(course["course"] / "grades.csv", newline="") as f:
        header = next(csv.reader(f))
    assert {"student_id", "assignment", "score", "max_score"} <= set(header)


def test_reference_solutions_get_every_autograded_point(course):
    for aid, nb in course["source"].items():
        got, _ = score(course, "reference", aid)
        assert got == autograded_points(nb) > 0, (aid, course["report"]["reference", aid])


@pytest.mark.parametrize("sid", ["blank", "custom-exc", "alias", "monkeypatch", "fake-grading", "peek"])
def test_blank_and_cheating_submissions_score_zero(course, sid):
    if sid == "peek" and not STRONG:
        pytest.skip("not root: the kernel ran as the grader's own user and may read the repository")
    assert score(course, sid) == (0.0, 11.0), course["report"][sid, A1]


def test_delegation_is_refused_with_a_reason(course):
    text = cell_outputs(course, "alias", "a1-test-multipliers")
    assert "may not call it" in text and "teacher_multipliers" in text


def test_student_code_cannot_read_solutions_or_change_the_library(course):
    assert course["library_unchanged"]
    if not STRONG:
        pytest.skip("not root: the kernel ran as the grader's own user (weak isolation)")
    text = cell_outputs(course, "peek", "a1-test-gain")
    assert "name 'my_denoiser_gain' is not defined" in text  # no solution was found to run
    assert "found [] wrote []" in cell_outputs(course, "peek", "a1-gain")  # what the student's code saw
    assert "Isolation: strong" in (course["course"] / "grading_report.md").read_text()


@pytest.mark.parametrize("sid,why", [("zero-byte", "empty (0 bytes)"), ("corrupt", "not a valid notebook")])
def test_unreadable_files_score_zero_with_a_reason_and_others_are_graded(course, sid, why):
    assert score(course, sid) == (0.0, 11.0)
    entry = course["report"][sid, A1]
    assert entry["status"] == "invalid" and why in " ".join(entry["notes"])
    assert why in (course["course"] / "grading_report.md").read_text()


def test_misnamed_file_is_matched_and_graded(course):
    assert score(course, "misnamed") == (10.0, 11.0)
    assert any("misnamed file" in n for n in course["report"]["misnamed", A1]["notes"])


def test_a_timeout_costs_only_that_cells_points(course):
    assert score(course, "loop") == (8.0, 11.0)  # both composite cells (1 + 1 point) lost
    text = cell_outputs(course, "loop", "a1-test-composite")
    assert f"did not finish within {TIMEOUT} seconds" in text
    assert "PASSED" in cell_outputs(course, "loop", "a1-hidden-multipliers")


def test_a_typical_mistake_gets_partial_marks_and_feedback(course):
    got, _ = score(course, "mistake")
    assert 0 < got < 10
    text = cell_outputs(course, "mistake", "a1-test-multipliers")
    assert "FAILED check 'ddim-multipliers'" in text and "expected" in text and "got" in text
    feedback = list((course["course"] / "feedback" / "mistake" / A1).glob("*.html"))
    assert feedback and "FAILED check" in feedback[0].read_text()


def test_the_handout_holds_only_student_material(course):
    release = course["course"] / "release"
    files = sorted(p.relative_to(release) for p in release.rglob("*") if p.is_file())
    assert [str(p) for p in files] == sorted(f"{aid}/{aid}.ipynb" for aid in course["source"])
    for path in course["released"]:
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN" not in text
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("locked"):
                assert meta.get("checksum"), meta.get("grade_id")
            assert "### BEGIN" not in cell.source and "draw_hidden" not in cell.source


def test_a3_setup_gives_no_library_answer():
    nb = nbformat.read(ROOT / "book" / "assignments" / "a3_dp_phase.ipynb", as_version=4)
    setup = _cells(nb)["a3-setup"].source
    for name in ("interval_dp", "lambda_c", "classify"):
        assert name not in setup


def test_the_student_book_release_rule_gives_nbgraders_cells(course):
    spec = importlib.util.spec_from_file_location("assignments_rule", ROOT / "scripts" / "assignments.py")
    rule = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rule)
    for path in course["released"]:
        aid = path.parent.name
        ours = rule.release_notebook(course["source"][aid])
        theirs = nbformat.read(path, as_version=4)
        assert [c.source for c in ours.cells] == [c.source for c in theirs.cells], aid


def test_preflight_matches_flags_and_remembers_unreadable_files(tmp_path):
    sub = tmp_path / "submitted"
    (sub / "zero" / A1).mkdir(parents=True)
    (sub / "zero" / A1 / f"{A1}.ipynb").write_bytes(b"")
    (sub / "loose").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), sub / "loose" / "A1_DDIM_multiplier-Copy1.ipynb")
    (sub / "two" / A1).mkdir(parents=True)
    for name in (f"{A1} (1).ipynb", f"{A1} (2).ipynb"):
        nbformat.write(nbformat.v4.new_notebook(), sub / "two" / A1 / name)
    ids = [A1, "a2_merge_rule"]
    for _ in range(2):  # grading again gives the same verdicts
        report = classroom.preflight(tmp_path, ids)
        assert report["zero", A1]["status"] == "invalid" and "0 bytes" in report["zero", A1]["notes"][-1]
        assert report["loose", A1]["status"] == "ok" and (sub / "loose" / A1 / f"{A1}.ipynb").exists()
        assert report["two", A1]["status"] == "missing" and "several files" in report["two", A1]["notes"][0]
        assert report["loose", "a2_merge_rule"]["status"] == "missing"
