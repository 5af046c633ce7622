"""The graded assignments (book/assignments/): metadata, the release rule, what the visible tests cover.

Grading itself (nbgrader, the sandboxed kernel, cheating submissions) is tested in
tests/test_classroom.py.
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


def test_there_are_three_assignments():
    assert NAMES == ["a1_ddim_multiplier", "a2_merge_rule", "a3_dp_phase"]


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


@pytest.mark.parametrize("path", SOURCES, ids=NAMES)
def test_released_version_has_no_solution_code_and_no_hidden_tests(tmp_path, path):
    nb = load(path)
    tool.release(out_dir=tmp_path)
    student = load(tmp_path / path.name)
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


def test_command_line_release(tmp_path, capsys):
    assert tool.main(["release", "--out", str(tmp_path / "rel")]) == 0
    assert sorted(p.name for p in (tmp_path / "rel").glob("*.ipynb")) == sorted(p.name for p in SOURCES)
    assert "wrote" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.main(["grade"])  # grading is nbgrader's job now (scripts/classroom.py)


# ------------------------------------------------------ what the visible tests cover
def _cell(nb, gid):
    return next(c for c in nb.cells if tool.grade_id(c) == gid)


def _visible_inputs(path, draw_cell, draw_name, trials, seed):
    """Replay the draws of a visible test: the inputs a student's function receives."""
    import torch

    import lineardistill as ld
    from lineardistill import grading

    nb = load(path)
    ns = {"torch": torch, "ld": ld, "grading": grading}
    setup = _cell(nb, draw_cell).source
    exec("\n".join(line for line in setup.split("\n") if not line.startswith(("from lineardistill.symbolic",
                                                                                "import sympy"))), ns)
    gen = torch.Generator().manual_seed(seed)
    return [ns[draw_name](gen) for _ in range(trials)]


def _argmax_t(schedule):
    import torch

    a, s, n = schedule.alphas, schedule.sigmas, schedule.num_steps
    t = torch.arange(1, n)
    ratio = s[t] * (s[t] - s[t - 1]) / (a[t] * (a[t - 1] - a[t]))
    return int(ratio.argmax()) + 1


def test_visible_lambda_c_test_draws_n_2_and_a_maximum_after_t_1():
    path = ROOT / "book" / "assignments" / "a3_dp_phase.ipynb"
    inputs = _visible_inputs(path, "a3-lambda-c-draw", "draw_schedule", 5, 0)
    steps = [kw["schedule"].num_steps for kw in inputs]
    assert 2 in steps
    assert any(_argmax_t(kw["schedule"]) >= 2 for kw in inputs), steps


def test_lambda_c_at_the_first_step_only_fails_the_visible_test():
    import torch

    import lineardistill as ld
    from lineardistill import grading

    def first_step_only(schedule):
        a, s = schedule.alphas, schedule.sigmas
        return float(s[1] * (s[1] - s[0]) / (a[1] * (a[0] - a[1])))

    path = ROOT / "book" / "assignments" / "a3_dp_phase.ipynb"
    nb = load(path)
    ns = {"torch": torch, "ld": ld, "grading": grading}
    exec(_cell(nb, "a3-lambda-c-draw").source, ns)
    result = grading.check_function(first_step_only, ld.lambda_c, ns["draw_schedule"], name="lambda-c",
                                    points=1, trials=5, seed=0)
    assert not result.passed and "expected" in result.feedback
    # and the schedule built for it really has its maximum at t = 2
    ac = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64), 0)
    schedule = ld.Schedule.from_alphas_cumprod(ac, [0, 400, 999])
    assert _argmax_t(schedule) == 2 and ld.lambda_c(schedule) > first_step_only(schedule) + 1


@pytest.mark.parametrize("path,cell,draw", [
    (ROOT / "book" / "assignments" / "a1_ddim_multiplier.ipynb", "a1-setup", "draw_schedule_and_lam"),
    (ROOT / "book" / "assignments" / "a2_merge_rule.ipynb", "a2-setup", "draw_weights"),
])
def test_visible_tests_pass_python_floats_and_tensors(path, cell, draw):
    import torch

    inputs = _visible_inputs(path, cell, draw, 5, 0)
    kinds = {type(kw["lam"]) for kw in inputs}
    assert float in kinds and torch.Tensor in kinds, kinds
