"""Mutation testing of the numeric core with mutmut (``make mutation``); not part of ``make test``.

    python scripts/mutation_report.py [MODULE ...]      run mutmut on these modules (default: all of MODULES)
    python scripts/mutation_report.py --report [MODULE ...]   only rebuild the table from earlier runs

Each module runs in its own copy, ``_mutation/<module>/``, whose ``pyproject.toml`` narrows the
``[tool.mutmut]`` section of ours to that one module and to the test files that exercise it (mutmut
then runs, per mutant, only those of them that reach the mutated function, fastest first). The
score per module, the run time and every surviving mutant with its diff are written to
``benchmarks/mutation_results.md``; ``benchmarks/mutation.md`` is the curated note that explains
each survivor.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "_mutation"
OUT = ROOT / "benchmarks" / "mutation_results.md"

# module -> the test files that exercise it (the fast library tests; the notebooks are not run)
MODULES = {
    "schedule": ["tests/test_schedule.py", "tests/test_teacher.py", "tests/test_kills_core.py",
                 "tests/test_kills_schedule.py"],
    "teacher": ["tests/test_teacher.py", "tests/test_kills_core.py", "tests/test_kills_teacher.py"],
    "student": ["tests/test_student.py", "tests/test_kills_core.py", "tests/test_kills_student.py",
                "tests/test_problem_doors.py"],
    "problem": ["tests/test_kills_problem.py", "tests/test_student.py", "tests/test_problem_doors.py",
                "tests/test_trees.py", "tests/test_kills_core.py"],
    "trees": ["tests/test_trees.py", "tests/test_kills_trees.py", "tests/test_problem_doors.py",
              "tests/test_kills_core.py"],
    "training": ["tests/test_training.py", "tests/test_kills_training.py", "tests/test_kills_training_edges.py",
                 "tests/test_problem_doors.py"],
    "phase": ["tests/test_phase.py", "tests/test_exact_lines.py", "tests/test_kills_phase.py",
              "tests/test_kills_core.py"],
    "dp": ["tests/test_dp.py", "tests/test_kills_core.py"],
}


def _config_for(module: str) -> str:
    """Our pyproject.toml with its [tool.mutmut] section narrowed to ``module``."""
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("[tool.mutmut]")
    after = re.search(r"^\[", text[start + 1:], flags=re.M)
    end = start + 1 + after.start() if after else len(text)
    section = re.sub(r"only_mutate = \[.*?\]", f'only_mutate = ["lineardistill/{module}.py"]', text[start:end],
                     flags=re.S)
    tests = ", ".join(f'"{t}"' for t in MODULES[module])
    section = re.sub(r"pytest_add_cli_args_test_selection = \[.*?\]",
                     f"pytest_add_cli_args_test_selection = [{tests}]", section, flags=re.S)
    return text[:start] + section.rstrip("\n") + "\nuse_git_change_detection = false\n" + text[end:]


def run_module(module: str, max_children: int) -> float:
    dest = WORK / module
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "lineardistill", dest / "lineardistill", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "pyproject.toml").write_text(_config_for(module))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # mutmut puts its mutants first
    mutmut = Path(sys.executable).with_name("mutmut")
    began = time.monotonic()
    with open(dest / "mutmut.log", "w") as log:
        subprocess.run([str(mutmut), "run", "--max-children", str(max_children)], cwd=dest, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - began
    (dest / "seconds.txt").write_text(f"{seconds:.0f}\n")
    return seconds


# mutmut 3's exit codes per mutant, as it stores them in mutants/<file>.meta
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          35: "suspicious", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          37: "caught by type check", -11: "segfault", -9: "segfault", None: "not checked", 2: "interrupted"}


def _codes(module: str) -> dict:
    """mutant name -> mutmut's exit code: the merged record of a re-run when there is one."""
    merged = WORK / module / "merged.json"
    if merged.exists():
        return json.loads(merged.read_text())
    meta = WORK / module / "mutants" / "lineardistill" / f"{module}.py.meta"
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def results(module: str) -> dict[str, str]:
    """mutant name -> status, read from mutmut's record of the module's run."""
    return {name: STATUS.get(code, f"exit {code}") for name, code in _codes(module).items()}


def rerun_survivors(module: str, max_children: int) -> float:
    """Run again, with today's tests, only the mutants of an earlier run that were not killed;
    the others keep their earlier verdict (a test added since can only kill more)."""
    dest = WORK / module
    before = _codes(module)
    shutil.rmtree(dest / "tests")
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "pyproject.toml").write_text(_config_for(module))
    names = [k for k, c in before.items() if STATUS.get(c) not in ("killed", "timeout")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    mutmut = Path(sys.executable).with_name("mutmut")
    began = time.monotonic()
    with open(dest / "rerun.log", "w") as log:
        subprocess.run([str(mutmut), "run", "--max-children", str(max_children), *names], cwd=dest, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - began
    meta = dest / "mutants" / "lineardistill" / f"{module}.py.meta"
    after = json.loads(meta.read_text())["exit_code_by_key"]
    merged = {k: (after.get(k) if k in names and after.get(k) is not None else c) for k, c in before.items()}
    (dest / "merged.json").write_text(json.dumps(merged))
    (dest / "rerun_seconds.txt").write_text(f"{seconds:.0f} ({len(names)} mutants)\n")
    return seconds


@functools.cache
def _functions(module: str) -> dict:
    """Source of every function in the mutated copy mutmut wrote (parsed once per module)."""
    source = (WORK / module / "mutants" / "lineardistill" / f"{module}.py").read_text()
    lines = source.split("\n")
    return {node.name: "\n".join(lines[node.lineno - 1: node.end_lineno])
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}


def diff(module: str, name: str) -> str:
    """The lines the mutant changes (original vs mutant function)."""
    funcs = _functions(module)
    fname = name.split(".")[-1]
    orig = re.sub(r"__mutmut_\d+$", "__mutmut_orig", fname)
    # the def lines too (a mutated default shows there), with the two names made equal
    a = (funcs.get(orig) or "").replace(orig, "f", 1).split("\n")
    b = (funcs.get(fname) or "").replace(fname, "f", 1).split("\n")
    return "\n".join(line for line in difflib.unified_diff(a, b, lineterm="", n=0)
                     if line[:1] in "+-" and line[:3] not in ("+++", "---"))


def report(modules) -> str:
    rows, survivors = [], []
    for module in modules:
        if not (WORK / module / "mutants").exists():
            continue
        found = results(module)
        counts = {}
        for status in found.values():
            counts[status] = counts.get(status, 0) + 1
        killed = counts.get("killed", 0) + counts.get("timeout", 0)
        tested = sum(n for s, n in counts.items() if s not in ("skipped", "not checked"))
        seconds = (WORK / module / "seconds.txt").read_text().strip() if (WORK / module / "seconds.txt").exists() \
            else "?"
        if (WORK / module / "rerun_seconds.txt").exists():
            seconds += " + re-run " + (WORK / module / "rerun_seconds.txt").read_text().strip()
        score = f"{100 * killed / tested:.1f}%" if tested else "-"
        rows.append(f"| {module} | {len(found)} | {killed} | {counts.get('survived', 0)} | "
                    f"{counts.get('no tests', 0)} | {counts.get('not checked', 0)} | {score} | {seconds} |")
        for name, status in sorted(found.items()):
            if status in ("survived", "no tests", "suspicious"):
                survivors.append(f"### `{name}` ({status})\n\n```diff\n{diff(module, name)}\n```\n")
    head = ("| module | mutants | killed | survived | no tests | not checked | score | seconds |\n"
            "|---|---|---|---|---|---|---|---|")
    return ("# Mutation testing: generated results\n\n"
            "Written by `scripts/mutation_report.py` (mutmut); score = killed (timeouts included) / mutants checked (survivors and mutants no test reaches count against it). "
            "Seconds: wall time of the module's run on the machine it ran on.\n\n"
            + "\n".join([head] + rows) + "\n\n## Survivors\n\n" + "\n".join(survivors))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"any of {', '.join(MODULES)}")
    parser.add_argument("--report", action="store_true", help="only rebuild the table from earlier runs")
    parser.add_argument("--survivors", action="store_true",
                        help="re-run only the mutants an earlier run left alive, with today's tests")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        print(f"unknown module {unknown[0]!r}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    if not args.report:
        for module in modules:
            rerun = args.survivors and (WORK / module / "mutants").exists()
            seconds = (rerun_survivors if rerun else run_module)(module, args.max_children)
            print(f"{module}: {seconds:.0f} s", flush=True)
    text = report(list(MODULES))
    OUT.write_text(text)
    print(text.split("## Survivors")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
