"""Tests for the command line (lineardistill.__main__): outputs, figures and one-line errors."""

import os
import subprocess
import sys

import pytest

import lineardistill as ld
from lineardistill.__main__ import figure_functions, main
from lineardistill.trees import MergeTree


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_optimal_prints_the_tree_and_the_table(capsys):
    code, out, err = run(["optimal", "--steps", "6", "--variance", "0.5", "--budget", "1"], capsys)
    assert code == 0 and err == ""
    best = ld.optimal_tree(ld.Schedule.cosine(6), 0.5, 1.0)
    assert f"optimal tree: {best.tree}" in out
    assert f"W2 = {best.w2:.6g}" in out
    assert "min-DP" in out
    for name in ld.STRATEGIES:
        assert f"\n{name} " in out
    # lam <= 1: BOOT is optimal (R16), so its row has ratio 1
    boot_row = next(line for line in out.splitlines() if line.startswith("boot "))
    assert boot_row.split()[-1] == "1"
    assert str(MergeTree.boot(6)) in boot_row


def test_optimal_with_several_variances_uses_the_pareto_dp(capsys):
    code, out, _ = run(["optimal", "--schedule", "linear", "--steps", "5", "--variance", "0.5,1.5", "3",
                        "--budget", "0.5", "--init", "teacher"], capsys)
    assert code == 0
    result = ld.pareto_tree(ld.Schedule.linear(5), [0.5, 1.5, 3.0], 0.5, "teacher")
    assert f"optimal shared tree: {result.tree}" in out
    assert "Pareto DP over 3 coordinates" in out


def test_optimal_in_the_window_says_enumeration(capsys):
    code, out, _ = run(["optimal", "--steps", "8", "--variance", "1.3", "--budget", "1"], capsys)
    assert code == 0 and "enumeration of all 4279 trees" in out


def test_phase_prints_lambda_c_and_writes_the_figure(tmp_path, capsys):
    path = tmp_path / "phase.png"
    code, out, _ = run(["phase", "--steps", "8", "--variances", "9", "--budgets", "3", "--out", str(path)], capsys)
    assert code == 0
    assert f"lambda_c = {ld.lambda_c(ld.Schedule.cosine(8)):.6g}" in out
    assert path.exists() and path.stat().st_size > 1000
    ve_path = tmp_path / "ve.png"
    code, out, _ = run(["phase", "--schedule", "ve", "--steps", "6", "--variances", "5", "--budgets", "2",
                        "--out", str(ve_path)], capsys)
    assert code == 0 and "lambda_c = inf" in out and "one-shot" not in out and ve_path.exists()
    code, out, _ = run(["phase", "--steps", "4", "--variances", "3", "--budgets", "2", "--out", ""], capsys)
    assert code == 0 and "wrote" not in out


def test_figure_registry_finds_every_plot_function():
    from lineardistill import plots
    from lineardistill.__main__ import skipped_figures

    registry, skipped = figure_functions(), skipped_figures()
    everything = {n for n in dir(plots) if n.startswith("plot_") and callable(getattr(plots, n))}
    assert set(registry) | set(skipped) == everything and not set(registry) & set(skipped)
    # behaviour, not the signature inspection the registry itself does: a skipped function really
    # cannot run without arguments (the registered ones are all drawn in tests/test_figures_command.py)
    for name in skipped:
        with pytest.raises(TypeError):
            getattr(plots, name)()
    assert {"plot_phase_diagram", "plot_lambda_c", "plot_optimal_tree_scan", "plot_cost_front"} <= set(registry)


def test_figures_writes_the_requested_files(tmp_path, capsys):
    code, out, _ = run(["figures", "--out", str(tmp_path), "--only", "plot_lambda_c", "plot_merge_tree"], capsys)
    assert code == 0
    assert sorted(os.listdir(tmp_path)) == ["plot_lambda_c.png", "plot_merge_tree.png"]
    code, out, _ = run(["figures", "--list"], capsys)
    assert code == 0 and "plot_phase_diagram" in out.split()


@pytest.mark.parametrize("argv, needle", [
    ([], "required"),
    (["optimal", "--steps", "0"], "--steps"),
    (["optimal", "--steps", "two"], "--steps"),
    (["optimal", "--variance", "-1"], "--variance must be > 0"),
    (["optimal", "--variance", "abc"], "--variance"),
    (["optimal", "--budget", "-2"], "--budget"),
    (["optimal", "--init", "cold"], "--init"),
    (["optimal", "--schedule", "foo"], "--schedule"),
    (["phase", "--variances", "0"], "--variances"),
    (["figures", "--only", "plot_nothing", "--out", "unused_dir"], "unknown figure"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_nonzero_with_one_line(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "error" in lines[0]


def test_help_of_each_command():
    for command in ([], ["optimal"], ["phase"], ["figures"]):
        result = subprocess.run([sys.executable, "-m", "lineardistill", *command, "--help"], capture_output=True,
                                text=True, timeout=60, check=False)
        assert result.returncode == 0 and "usage: lineardistill" in result.stdout


def test_module_entry_point_exit_status():
    result = subprocess.run([sys.executable, "-m", "lineardistill", "optimal", "--steps", "-3"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1


# ---------------------------------------------------------------- hostile input (issue 10)
def _hostile_cases(tmp):
    a_file = tmp / "a_file.txt"
    a_file.write_text("not a folder")
    return [
        (["optimal", "--steps", "100000"], "--steps"),
        (["optimal", "--steps", "1e30"], "--steps"),
        (["optimal", "--steps", "9" * 40], "--steps"),
        (["optimal", "--steps", "20", "--variance", "1,2"], "--steps"),
        (["optimal", "--steps", "4", "--variance", ",".join(["1"] * 9)], "--variance"),
        (["optimal", "--variance", "nan"], "--variance"),
        (["optimal", "--variance", "1e400"], "--variance"),
        (["optimal", "--budget", "inf"], "--budget"),
        (["phase", "--steps", "100000"], "--steps"),
        (["phase", "--steps", "4", "--variances", "1000", "--budgets", "1000"], "--variances"),
        (["phase", "--steps", "4", "--out", str(tmp / "missing" / "x.png")], "does not exist"),
        (["phase", "--steps", "4", "--out", str(tmp)], "is a folder"),
        (["figures", "--out", str(a_file), "--only", "plot_lambda_c"], "is a file"),
        (["figures", "--out", str(a_file / "sub"), "--only", "plot_lambda_c"], "--out"),
    ]


HOSTILE_CLI_COUNT = 14


@pytest.mark.parametrize("index", range(HOSTILE_CLI_COUNT))
def test_hostile_arguments_get_one_line_and_status_2(index, tmp_path, capsys):
    argv, needle = _hostile_cases(tmp_path)[index]
    code, out, err = run(argv, capsys)
    assert code == 2, (argv, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "error" in lines[0], err
    assert len(lines[0]) < 500


def test_hostile_case_count_matches():
    import pathlib
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        assert len(_hostile_cases(pathlib.Path(tmp))) == HOSTILE_CLI_COUNT


def test_phase_checks_its_output_before_computing(tmp_path, capsys, monkeypatch):
    from lineardistill import phase

    def must_not_run(*args, **kwargs):
        raise AssertionError("phase_diagram ran before --out was checked")

    monkeypatch.setattr(phase, "phase_diagram", must_not_run)
    code, out, err = run(["phase", "--steps", "4", "--out", str(tmp_path / "no" / "such" / "x.png")], capsys)
    assert code == 2 and out == "" and "does not exist" in err
    # an unwritable target is found before computing too, and no probe file is left behind
    good = tmp_path / "fine.png"
    monkeypatch.undo()
    code, _, _ = run(["phase", "--steps", "4", "--variances", "3", "--budgets", "2", "--out", str(good)], capsys)
    assert code == 0 and good.exists()


def test_figures_checks_its_folder_before_drawing(tmp_path, capsys, monkeypatch):
    from lineardistill import plots

    calls = []

    def fake():
        calls.append(1)

    fake.__module__ = plots.plot_lambda_c.__module__   # a figure of one of the plots modules (plots.merging)
    monkeypatch.setattr(plots, "plot_lambda_c", fake)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    code, _, err = run(["figures", "--out", str(blocker), "--only", "plot_lambda_c"], capsys)
    assert code == 2 and calls == [] and "is a file" in err


def test_optimal_with_one_step_has_no_division_by_zero(capsys):
    code, out, err = run(["optimal", "--steps", "1", "--variance", "1.5"], capsys)
    assert code == 0 and err == ""
    assert "shrinkage m/T = undefined (T = 0)" in out   # cosine, N = 1: the teacher maps everything to 0


def test_commands_build_schedules_from_the_one_registry():
    from lineardistill.__main__ import SCHEDULES, build_parser

    assert SCHEDULES == ld.schedule.SCHEDULE_NAMES
    for sub in ("optimal", "phase"):
        args = build_parser().parse_args([sub, "--schedule", "ve"])
        assert args.schedule == "ve"
