"""The graded assignments (book/assignments/) and their release / autograde tool (scripts/assignments.py).

The expensive part, executing notebooks, happens once per module: the reference
solutions and one typical mistake per assignment are graded together (six
notebooks, two at a time).
"""

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("assignments_tool", ROOT / "scripts" / "assignments.py")
tool = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = tool  # dataclasses look their module up there
SPEC.loader.exec_module(tool)

SOURCES = tool.source_notebooks()
NAMES = [p.stem for p in SOURCES]


def load(path):
    return nbformat.read(path, as_version=4)


def solution_lines(nb):
    """Non-trivial lines of every solution region and every written answer of the instructor's notebook."""
    lines = []
    for cell in nb.cells:
        if not tool.is_solution(cell):
            continue
        src = cell.source.split("\n")
        regions = list(tool._regions(src, tool.BEGIN_SOLUTION, tool.END_SOLUTION, "test"))
        body = [line for a, b in regions for line in src[a + 1:b]] if regions else src
        lines += [line.strip() for line in body if len(line.strip()) > 12]
    return lines


def hidden_lines(nb):
    lines = []
    for cell in nb.cells:
        src = cell.source.split("\n")
        for a, b in tool._regions(src, tool.BEGIN_HIDDEN, tool.END_HIDDEN, "test"):
            lines += [line.strip() for line in src[a + 1:b] if len(line.strip()) > 12]
    return lines


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Release into a scratch folder, then grade 'reference' and 'typical-mistakes' submissions."""
    base = tmp_path_factory.mktemp("classroom")
    released = tool.release(out_dir=base / "release")
    subs = base / "submissions"
    for student in ("reference", "typical-mistakes"):
        (subs / student).mkdir(parents=True)
    for path in SOURCES:
        nb = load(path)
        nbformat.write(nb, subs / "reference" / path.name)
        nbformat.write(tool.with_mistake(nb, path.stem), subs / "typical-mistakes" / path.name)
    rows = tool.grade(subs, out_dir=base / "grades", jobs=2, echo=False)
    return {"rows": rows, "released": released, "base": base}


def test_there_are_three_assignments_each_with_a_typical_mistake():
    assert len(SOURCES) >= 3
    assert set(NAMES) <= set(tool.TYPICAL_MISTAKES)


@pytest.mark.parametrize("path", SOURCES, ids=NAMES)
def test_nbgrader_metadata_is_complete_and_points_match_the_checks(path):
    nb = load(path)
    ids = [tool.grade_id(c) for c in nb.cells if tool.grade_id(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    tests = [c for c in nb.cells if tool.is_autograded_test(c)]
    assert len(tests) >= 4 and any(tool.BEGIN_HIDDEN in c.source for c in tests)
    assert any(tool.is_manual(c) for c in nb.cells)
    for cell in nb.cells:
        meta = tool.nbgrader_meta(cell)
        if meta:
            assert meta["schema_version"] == 3
            assert set(meta) >= {"grade", "grade_id", "locked", "solution"}
    for cell in tests:
        assert tool.nbgrader_meta(cell)["locked"] is True
        # the points printed by the check equal the points nbgrader awards for the cell
        stated = [float(x) for x in re.findall(r"\bpoints=(\d+(?:\.\d+)?)", cell.source)]
        assert stated == [tool.points(cell)], tool.grade_id(cell)
    for cell in nb.cells:
        if tool.is_solution(cell) and cell.cell_type == "code":
            assert tool.BEGIN_SOLUTION in cell.source and tool.END_SOLUTION in cell.source


def test_instructor_page_states_the_points_of_each_assignment():
    page = (ROOT / "book" / "instructors.md").read_text()
    for path in SOURCES:
        nb = load(path)
        auto = sum(tool.points(c) for c in nb.cells if tool.is_autograded_test(c))
        manual = sum(tool.points(c) for c in nb.cells if tool.is_manual(c))
        row = re.search(rf"\{{doc\}}`assignments/{path.stem}` \|[^|]*\| (\d+) \| (\d+) \|", page)
        assert row, path.stem
        assert (float(row.group(1)), float(row.group(2))) == (auto, manual)


def test_reference_solutions_get_full_marks(graded):
    rows = [r for r in graded["rows"] if r.student == "reference"]
    assert {r.assignment for r in rows} == set(NAMES)
    auto = [r for r in rows if r.status != "manual"]
    assert auto and all(r.status == "passed" for r in auto), [(r.check, r.feedback) for r in auto if r.status != "passed"]
    for s in tool.summarize(rows):
        assert s["score"] == s["max_score"] > 0 and s["manual_pending"] > 0
    scores = (graded["base"] / "grades" / "scores.csv").read_text()
    assert "reference,a1_ddim_multiplier,10,10,1," in scores


@pytest.mark.parametrize("name", NAMES)
def test_typical_mistake_gets_partial_marks_and_feedback_naming_the_failed_check(graded, name):
    rows = [r for r in graded["rows"] if r.student == "typical-mistakes" and r.assignment == name]
    summary = tool.summarize(rows)[0]
    assert 0 < summary["score"] < summary["max_score"]
    failed = [r for r in rows if r.status == "failed"]
    passed = [r for r in rows if r.status == "passed"]
    assert failed and passed
    for r in failed:
        # the feedback names the check that failed and shows expected against obtained
        assert re.search(r"FAILED check '[a-z0-9-]+' \[0/\d+ points\]", r.feedback), r.feedback
        assert "AssertionError" in r.feedback
        assert "expected" in r.feedback and "got" in r.feedback
    checks = (graded["base"] / "grades" / "checks.csv").read_text()
    assert f"typical-mistakes,{name},{failed[0].check},failed,0," in checks
    handed_back = (graded["base"] / "grades" / "feedback" / "typical-mistakes" / f"{name}.md").read_text()
    assert f"Autograded score: {summary['score']:g} / {summary['max_score']:g}" in handed_back
    assert f"## {failed[0].check}: FAILED" in handed_back and failed[0].feedback in handed_back


def test_each_typical_mistake_fails_the_check_it_targets(graded):
    failed = {(r.assignment, r.check) for r in graded["rows"] if r.status == "failed"}
    assert ("a1_ddim_multiplier", "a1-test-multipliers") in failed
    assert ("a1_ddim_multiplier", "a1-test-gain") not in failed          # the gain was right
    assert ("a2_merge_rule", "a2-test-merge") in failed
    assert ("a2_merge_rule", "a2-test-weights") not in failed
    assert ("a3_dp_phase", "a3-test-dp-min") in failed
    assert ("a3_dp_phase", "a3-test-dp-max") not in failed               # max was what it computed


@pytest.mark.parametrize("path", SOURCES, ids=NAMES)
def test_released_version_has_no_solution_code_and_no_hidden_tests(graded, path):
    nb = load(path)
    student = load(graded["base"] / "release" / path.name)
    text = "\n".join(c.source for c in student.cells)
    for marker in (tool.BEGIN_SOLUTION, tool.END_SOLUTION, tool.BEGIN_HIDDEN, tool.END_HIDDEN):
        assert marker not in text
    sol, hid = solution_lines(nb), hidden_lines(nb)
    assert sol and hid
    # lines that occur only inside solutions or hidden tests (not, say, 'print(result)')
    instructor_only = [line for line in sol + hid
                       if not any(line in cell.source for cell in nb.cells if not tool.is_solution(cell)
                                  and tool.BEGIN_HIDDEN not in cell.source)]
    assert len(instructor_only) >= 10
    kept = {line.strip() for c in student.cells for line in c.source.split("\n")}
    leaked = [line for line in instructor_only if line in kept]
    assert not leaked, leaked
    assert "draw_hidden" not in text and "-hidden" not in text
    # the same cells with the same grading metadata; stubs where solutions were; no outputs
    assert [tool.grade_id(c) for c in student.cells] == [tool.grade_id(c) for c in nb.cells]
    assert [tool.points(c) for c in student.cells] == [tool.points(c) for c in nb.cells]
    for cell, ref in zip(student.cells, nb.cells):
        if tool.is_solution(ref):
            assert ("raise NotImplementedError()" if ref.cell_type == "code" else tool.TEXT_STUB) in cell.source
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None and "execution" not in cell.metadata
            assert "hide-input" not in cell.metadata.get("tags", [])


def test_release_refuses_misplaced_or_unclosed_markers():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION")]
    with pytest.raises(ValueError, match="without nbgrader solution metadata"):
        tool.release_notebook(nb)
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "c", "locked": False,
                                        "schema_version": 3}
    assert tool.release_notebook(nb).cells[0].source == "x = 1\n" + tool.CODE_STUB
    nb.cells[0].source = "### BEGIN SOLUTION\ny = 2"
    with pytest.raises(ValueError, match="never closed"):
        tool.release_notebook(nb)


def _tiny_assignment(folder):
    """A torch-free assignment, quick to execute: one solution, one visible and one hidden test."""
    meta = {"schema_version": 3, "locked": True, "solution": False, "grade": False}
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                                  metadata={"nbgrader": {**meta, "grade_id": "sol", "locked": False, "solution": True}}),
        nbformat.v4.new_code_cell("assert add(1, 2) == 3, 'add(1, 2) should be 3'",
                                  metadata={"nbgrader": {**meta, "grade_id": "t1", "grade": True, "points": 1}}),
        nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0, 'add(-1, 1) should be 0'\n"
                                  "### END HIDDEN TESTS",
                                  metadata={"nbgrader": {**meta, "grade_id": "t2", "grade": True, "points": 2}}),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "tiny.ipynb")
    return nb


def test_grader_restores_tests_runs_hidden_tests_and_handles_missing_work(tmp_path):
    source = _tiny_assignment(tmp_path / "source")
    subs = tmp_path / "subs"
    # 'tamper': a wrong solution (right for the visible test only) and the visible test edited away
    tamper = tool.release_notebook(source)
    tamper.cells[0].source = "def add(a, b):\n    return 3"
    tamper.cells[1].source = "pass"
    # 'deleted': removed the hidden-test cell
    deleted = nbformat.from_dict(nbformat.v4.new_notebook())
    deleted.cells = [c.copy() for c in source.cells[:2]]
    deleted.metadata = source.metadata
    for student, nb in (("tamper", tamper), ("deleted", deleted)):
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "tiny.ipynb")
    (subs / "absent").mkdir()
    rows = tool.grade(subs, source_dir=tmp_path / "source", out_dir=tmp_path / "grades", jobs=2, echo=False)
    score = {(r.student, r.check): (r.points, r.feedback) for r in rows}
    # the visible test is restored, so the student's 'pass' does not count; the hidden test runs
    assert score["tamper", "t1"][0] == 1
    assert score["tamper", "t2"] == (0.0, "AssertionError: add(-1, 1) should be 0")
    assert score["deleted", "t1"][0] == 1 and score["deleted", "t2"][0] == 0
    assert "deleted" in score["deleted", "t2"][1]
    assert score["absent", "t1"] == (0.0, "not submitted") and score["absent", "t2"][0] == 0
    table = tool.markdown_table(rows)
    assert "| tamper | tiny | 1 / 3 | 0 | t2 |" in table


def test_command_line_release(tmp_path, capsys):
    assert tool.main(["release", "--out", str(tmp_path / "rel")]) == 0
    assert sorted(p.name for p in (tmp_path / "rel").glob("*.ipynb")) == sorted(p.name for p in SOURCES)
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.main(["grade"])  # the submissions folder is required
