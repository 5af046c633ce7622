#!/usr/bin/env python
"""Run a course with the book's assignments on nbgrader (book/instructors.md says how).

nbgrader does the course work: the course folder (``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``),
``generate_assignment``, ``autograde``, ``generate_feedback`` and ``export``.
This script adds only what nbgrader lacks:

``release COURSE``
    creates the course folder (readable by its owner only), copies the
    instructor's notebooks from ``book/assignments/`` into ``source/<id>/<id>.ipynb``
    and runs ``nbgrader generate_assignment`` (cells locked with checksums,
    solutions and hidden tests removed); the handout is ``COURSE/release/``.

``grade COURSE [--timeout S]``
    grades ``COURSE/submitted/<student>/<id>/<id>.ipynb``:

    1. *preflight*: a misnamed notebook (``a1_ddim_multiplier (1).ipynb``, a
       notebook left directly in the student's folder, the only notebook in an
       assignment folder) is matched to its assignment and copied to the name
       nbgrader expects; an empty or corrupt file is not run and scores 0, with
       its reason in the report; everyone else is graded.
    2. *grading environment*: the library as a wheel (without the book or the
       assignments) in a virtual environment of its own, cached under
       ``build/grading-env/<hash of the library sources>``, its package files
       read-only.
    3. ``nbgrader autograde`` per submission. The kernel runs through
       ``launch.sh``: as root, in a mount namespace where every top-level folder
       but the system's (so the repository, any other checkout of it, the course
       folder, ``/tmp`` and ``/home``) is hidden and the
       grading environment is mounted read-only, as the user ``nobody``, in an
       empty working folder that is also its ``HOME``. The kernel is armed for the
       assignment (:func:`lineardistill.grading.arm`): the library functions the
       assignment asks for refuse to run and the checks only record answers.
       A test cell that runs longer than ``--timeout`` seconds is interrupted and
       loses its points only; the later cells still run.
    4. :class:`VerifyAnswers`, a preprocessor added to nbgrader's autograde
       pipeline, compares the recorded answers with the references outside the
       student's process and writes each test cell's feedback.
    5. ``nbgrader generate_feedback`` and ``nbgrader export`` to ``COURSE/grades.csv``;
       ``COURSE/grading_report.md`` lists every submission with its problems.

Without root (or without ``unshare``/``setpriv``) the kernel runs as the grader's
own user with only a temporary working folder and HOME: the report says so.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "book" / "assignments"
ENV_CACHE = ROOT / "build" / "grading-env"
KERNEL_NAME = "lineardistill-grading"
NOBODY = 65534
DEFAULT_TIMEOUT = 60


def assignment_ids(source_dir: Path = SOURCE_DIR) -> list[str]:
    ids = sorted(p.stem for p in Path(source_dir).glob("*.ipynb"))
    if not ids:
        raise FileNotFoundError(f"no assignment notebooks in {source_dir}")
    return ids


def _run(cmd, cwd=None, env=None, timeout=None, check=True):
    result = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    return result


def _nbgrader(course: Path, *args, timeout=None, env=None, check=True):
    env = dict(os.environ if env is None else env)
    # nbgrader calls the `alembic` command of its own environment
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return _run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, timeout=timeout, check=check)


# ------------------------------------------------------------------ config
CONFIG = '''# Written by scripts/classroom.py; rewritten at every `grade`.
import sys
sys.path.insert(0, {scripts!r})
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, LimitOutput,
                                    SaveAutoGrades)
from classroom import VerifyAnswers

c = get_config()
c.CourseDirectory.root = {course!r}
c.CourseDirectory.course_id = "lineardistill"
c.Execute.kernel_name = {kernel!r}
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.error_on_timeout = {{
    "ename": "CellTimeoutError",
    "evalue": "this cell did not finish within {timeout} seconds and was interrupted",
    "traceback": ["CellTimeoutError: this cell did not finish within {timeout} seconds and was interrupted; "
                  "it scores 0 and the cells after it still ran"],
}}
# the answers recorded in the student's kernel are checked right after it has run
c.Autograde.autograde_preprocessors = [Execute, VerifyAnswers, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
'''


def write_config(course: Path, timeout: int = DEFAULT_TIMEOUT) -> Path:
    path = course / "nbgrader_config.py"
    path.write_text(CONFIG.format(scripts=str(ROOT / "scripts"), course=str(course), kernel=KERNEL_NAME,
                                  timeout=int(timeout)))
    return path


# ----------------------------------------------------------------- release
def release(course: Path, source_dir: Path = SOURCE_DIR) -> list[Path]:
    """Create (or update) the course folder and generate the student versions into ``COURSE/release``."""
    import nbformat

    course = Path(course).resolve()
    course.mkdir(parents=True, exist_ok=True)
    os.chmod(course, 0o700)  # the instructor's sources and the gradebook: owner only
    write_config(course)
    released = []
    for aid in assignment_ids(source_dir):
        nb = nbformat.read(Path(source_dir) / f"{aid}.ipynb", as_version=4)
        for cell in nb.cells:  # the instructor's run: outputs and timings are not part of the source
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                cell.metadata.pop("execution", None)
            tags = [t for t in cell.metadata.get("tags", []) if t != "hide-input"]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
        target = course / "source" / aid / f"{aid}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        released.append(course / "release" / aid / f"{aid}.ipynb")
    _nbgrader(course, "generate_assignment", "*", "--force")  # every assignment, one nbgrader run
    for path in released:
        if not path.exists():
            raise RuntimeError(f"nbgrader did not write {path}")
    return released


# ---------------------------------------------------------------- preflight
def _normal_name(stem: str) -> str:
    stem = stem.lower().strip()
    stem = re.sub(r"\s*\(\d+\)$", "", stem)                  # 'x (1)'
    stem = re.sub(r"[-_ ]?copy\d*$", "", stem)                # 'x-Copy1', 'x copy'
    stem = re.sub(r"[-_ ]?(final|v\d+)$", "", stem)
    return re.sub(r"[\s\-]+", "_", stem)


def check_notebook(path: Path) -> str | None:
    """Why ``path`` cannot be graded (empty, not JSON, not a valid notebook), or None."""
    import nbformat

    if path.stat().st_size == 0:
        return "the file is empty (0 bytes)"
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"the file is not a valid notebook ({type(exc).__name__}: {first[:160]})"
    return None


def preflight(course: Path, ids: list[str]) -> dict:
    """Match misnamed files, find unreadable ones: ``{(student, id): {"status", "notes"}}``.

    ``status`` is ``ok`` (grade it), ``invalid`` (scores 0, reason in notes) or ``missing``.
    """
    submitted = Path(course) / "submitted"
    report = {}
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []:
        sid = student_dir.name
        loose = [p for p in student_dir.glob("*.ipynb")]
        for aid in ids:
            notes = []
            folder = student_dir / aid
            target = folder / f"{aid}.ipynb"
            if not target.exists():
                candidates = [p for p in folder.glob("*.ipynb")] if folder.is_dir() else []
                named = [p for p in candidates if _normal_name(p.stem) == aid]
                named += [p for p in loose if _normal_name(p.stem) == aid]
                if not named and len(candidates) == 1 and not any(_normal_name(candidates[0].stem) == other
                                                                 for other in ids):
                    named = candidates
                if len(named) == 1:
                    folder.mkdir(exist_ok=True)
                    shutil.copy2(named[0], target)
                    notes.append(f"misnamed file '{named[0].relative_to(student_dir)}' matched to {aid} "
                                 f"(copied to {target.relative_to(student_dir)})")
                elif len(named) > 1:
                    notes.append(f"several files could be {aid}: "
                                 + ", ".join(f"'{p.relative_to(student_dir)}'" for p in named)
                                 + "; none was graded (rename one)")
            others = sorted(p.name for p in folder.glob("*.ipynb") if p.name != f"{aid}.ipynb") if folder.is_dir() else []
            if others and not any("matched" in n for n in notes):
                copies = [n for n in others if _normal_name(Path(n).stem) == aid]
                if copies and target.exists():
                    notes.append(f"misnamed file(s) {', '.join(copies)}: graded as {target.name} "
                                 "(copied on an earlier run)")
                rest = [n for n in others if n not in copies]
                if rest:
                    notes.append("other notebooks in the folder were not graded: " + ", ".join(rest))
            aside = target.with_name(target.name + ".invalid")
            if not target.exists() and aside.exists():  # set aside on an earlier run: same verdict
                report[sid, aid] = {"status": "invalid", "notes": notes + [
                    (check_notebook(aside) or "the file was not a valid notebook") + "; it scores 0"]}
                continue
            if not target.exists():
                report[sid, aid] = {"status": "missing", "notes": notes or ["not submitted"]}
                continue
            why = check_notebook(target)
            if why:
                report[sid, aid] = {"status": "invalid", "notes": notes + [why + "; it scores 0"]}
                # nbgrader would stop on it; move it aside so that it is recorded but not run
                shutil.move(target, aside)
            else:
                report[sid, aid] = {"status": "ok", "notes": notes}
    return report


# ------------------------------------------------------- grading environment
def _hash(paths) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _library_hash() -> str:
    return _hash(sorted((ROOT / "lineardistill").rglob("*.py")) + [ROOT / "pyproject.toml"])


def _set_writable(package: Path, writable: bool) -> None:
    for path in [package, *package.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


def _build_wheel(out: Path) -> Path:
    import zipfile

    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)])
    wheel = next(Path(out).glob("lineardistill-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    leaked = [n for n in names if n.endswith(".ipynb") or n.startswith(("book/", "scripts/", "tests/"))]
    if leaked:
        raise RuntimeError(f"the wheel holds more than the library: {leaked[:5]}")
    return wheel


def grading_env(cache: Path = ENV_CACHE, log=print) -> Path:
    """A virtual environment with the library installed from a wheel, its package files read-only.

    The environment (torch and the other dependencies, from the pip cache or the
    local index, pinned by constraints.txt) is cached under ``cache/<hash of
    pyproject.toml and constraints.txt>``; the wheel is reinstalled whenever the
    library's sources change. It never sees the editable install of the repository.
    """
    env = Path(cache) / _hash([ROOT / "pyproject.toml", ROOT / "constraints.txt"])
    python = env / "bin" / "python"
    if not (env / ".ready").exists():
        log(f"building the grading environment in {env} (once per set of dependencies; a few minutes)")
        shutil.rmtree(env, ignore_errors=True)
        _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(env)])
        with tempfile.TemporaryDirectory(prefix="ld-wheel-") as wheels:
            wheel = _build_wheel(Path(wheels))
            _run([str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel),
                  "ipykernel"], timeout=3600)
        (env / ".library").write_text(_library_hash())
        (env / ".ready").write_text("")
    elif (env / ".library").read_text() != _library_hash():
        log("reinstalling the library into the grading environment (its sources changed)")
        package = Path(_run([str(python), "-c", "import lineardistill, os; print(os.path.dirname("
                                                "lineardistill.__file__))"]).stdout.strip())
        _set_writable(package, True)
        with tempfile.TemporaryDirectory(prefix="ld-wheel-") as wheels:
            wheel = _build_wheel(Path(wheels))
            _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)])
        (env / ".library").write_text(_library_hash())
    probe = _run([str(python), "-I", "-c", "import lineardistill, os; print(os.path.dirname(lineardistill.__file__))"],
                 cwd=tempfile.gettempdir())
    package = Path(probe.stdout.strip())
    if env.resolve() not in package.resolve().parents:
        raise RuntimeError(f"the grading environment imports lineardistill from {package}, not from its own copy")
    _set_writable(package, False)
    return env


# ------------------------------------------------------------ the sandbox
def strong_isolation() -> bool:
    """Root with unshare and setpriv: the kernel can run as nobody with the repository hidden."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                          capture_output=True).returncode == 0


# Top-level folders the kernel keeps (the system; /mnt holds its stage). Every other top-level folder
# is hidden: other checkouts of the project, wherever they lie, hold the solutions too.
SYSTEM_TOP = {"/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/dev", "/proc",
              "/sys", "/run", "/var", "/mnt", "/boot"}


def _hidden_paths(course: Path) -> list[str]:
    paths = {str(ROOT), str(Path(course).resolve()), "/tmp", "/var/tmp", "/home", "/root", str(Path.home())}
    for top in Path("/").iterdir():
        if str(top) not in SYSTEM_TOP and not top.is_symlink() and top.is_dir():
            paths.add(str(top))
    listing = subprocess.run(["git", "-C", str(ROOT), "worktree", "list", "--porcelain"], capture_output=True, text=True)
    for line in listing.stdout.splitlines():
        if line.startswith("worktree "):
            paths.add(line.split(" ", 1)[1])
    paths = sorted(os.path.realpath(p) for p in paths if os.path.isdir(p))
    # a folder inside another hidden folder is hidden with it (and would not exist any more to mount on)
    return [p for p in paths if p != "/" and not any(p.startswith(q + "/") for q in paths if q != p)]


LAUNCH_STRONG = r'''#!/bin/sh
# The grading kernel: a private mount namespace, the grader's files hidden, the user nobody.
set -e
exec unshare --mount --propagation private -- /bin/sh -c '
set -e
mount -t tmpfs -o size=256m,mode=755 ld-grading {stage}
mkdir {stage}/env {stage}/work {stage}/base
mount --bind {env} {stage}/env
mount -o remount,bind,ro {stage}/env
mount --bind {base} {stage}/base
mount -o remount,bind,ro {stage}/base
cp "$0" {stage}/work/connection.json
chown -R {uid}:{uid} {stage}/work
chmod 700 {stage}/work
for d in {hidden}; do if [ -d "$d" ]; then mount -t tmpfs -o size=1m,mode=755 ld-hidden "$d"; fi; done
# the interpreter the grading environment links to, back at its own path
mkdir -p {base} && mount --bind {stage}/base {base}
for d in {hidden}; do if [ -d "$d" ]; then mount -o remount,ro "$d"; fi; done
cd {stage}/work
exec setpriv --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs \
  env -i HOME={stage}/work TMPDIR={stage}/work PATH={stage}/env/bin:/usr/bin:/bin \
  MPLBACKEND=Agg LINEARDISTILL_ASSIGNMENT="{assignment}" \
  {stage}/env/bin/python -c "from lineardistill.grading import _kernel_main; _kernel_main()" \
  -f {stage}/work/connection.json
' "$1"
'''

LAUNCH_WEAK = r'''#!/bin/sh
# The grading kernel without root: a fresh working folder and HOME, the grading environment.
set -e
work=$(mktemp -d)
cd "$work"
exec env -i HOME="$work" TMPDIR="$work" PATH={env}/bin:/usr/bin:/bin MPLBACKEND=Agg \
  LINEARDISTILL_ASSIGNMENT="{assignment}" \
  {env}/bin/python -c "from lineardistill.grading import _kernel_main; _kernel_main()" -f "$1"
'''


def write_kernel(course: Path, env: Path, assignment: str, strong: bool) -> Path:
    """A kernelspec folder (for JUPYTER_PATH) whose kernel is the sandboxed, armed grading kernel."""
    base = Path(os.path.realpath(Path(env) / "bin" / "python")).parent.parent  # the venv's base Python
    spec_root = Path(course) / ".grading" / assignment
    kdir = spec_root / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    if strong:
        hidden = _hidden_paths(course)
        text = LAUNCH_STRONG.format(stage="/mnt", env=env, base=base, uid=NOBODY, assignment=assignment,
                                    hidden=" ".join(f'"{p}"' for p in hidden))
    else:
        text = LAUNCH_WEAK.format(env=env, assignment=assignment)
    launch = spec_root / "launch.sh"
    launch.write_text(text)
    launch.chmod(0o755)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": ["/bin/sh", str(launch), "{connection_file}"],
        "display_name": "lineardistill grading", "language": "python"}))
    return spec_root


# ------------------------------------------------------ grader-side checking
try:
    from nbgrader.preprocessors import NbGraderPreprocessor as _Base
except ImportError:  # pragma: no cover - nbgrader is in the test and classroom extras
    _Base = object


class VerifyAnswers(_Base):
    """nbgrader preprocessor: compare the answers recorded in the student's kernel with the references.

    It runs in the grader's process, never runs student code, and re-runs the
    instructor's setup, reference and test cells (from the source notebook) with the
    checks of :mod:`lineardistill.grading` in verify mode. Each test cell's outputs
    are replaced by the verdict: the feedback as text when every check passed, an
    error carrying the feedback otherwise (nbgrader then gives the cell 0 points).
    """

    def preprocess(self, nb, resources):
        import nbformat

        from lineardistill import grading

        source_path = os.environ.get("LINEARDISTILL_SOURCE")
        if not source_path:
            course = Path(self.config.CourseDirectory.root)
            aid = resources["nbgrader"]["assignment"]
            source_path = course / "source" / aid / f"{resources['nbgrader']['notebook']}.ipynb"
        source = nbformat.read(source_path, as_version=4)
        submitted = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        namespace = {"__name__": "__grader__"}
        for ref in source.cells:
            meta = ref.metadata.get("nbgrader", {})
            if ref.cell_type != "code" or meta.get("solution"):
                continue
            if not meta.get("grade"):
                try:
                    grading.run_trusted(ref.source, namespace)
                except Exception:  # noqa: BLE001  (a demo cell that needs the student's functions)
                    pass
                continue
            cell = submitted.get(meta.get("grade_id"))
            if cell is not None:
                cell.outputs = self._verdict(grading, ref.source, list(cell.outputs), namespace)
        return nb, resources

    @staticmethod
    def _error(text, ename="AssertionError"):
        from nbformat.v4 import new_output

        return new_output("error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])

    def _verdict(self, grading, source, outputs, namespace):
        from nbformat.v4 import new_output

        errors = [o for o in outputs if o.get("output_type") == "error"]
        timeout = [o for o in errors if o.get("ename") == "CellTimeoutError"]
        if timeout:
            return [self._error(timeout[0].get("evalue", "timed out"), "CellTimeoutError")]
        try:
            results = grading.verify_cell(source, outputs, namespace)
        except grading._NoRecord as exc:
            if errors:
                e = errors[0]
                return [self._error(f"{e.get('ename', 'Error')}: {e.get('evalue', '')}".strip(), e.get("ename", "Error"))]
            return [self._error(f"{exc}: the test cell did not reach its check (was it changed or its output "
                                "suppressed?)")]
        except ValueError as exc:
            return [self._error(f"the answers of this cell cannot be trusted: {exc}")]
        except Exception as exc:  # noqa: BLE001  (one cell the grader cannot check must not stop the class)
            return [self._error(f"the grader could not check this cell ({type(exc).__name__}: {exc}); "
                                "ask your instructor", "GraderError")]
        if not results:
            return outputs
        text = "\n".join(r.feedback for r in results)
        if all(r.passed for r in results) and not errors:
            return [new_output("stream", name="stdout", text=text + "\n")]
        if errors and all(r.passed for r in results):
            e = errors[0]
            text += f"\nbut the cell raised {e.get('ename', 'an error')}: {e.get('evalue', '')}"
        return [self._error(text)]


# ------------------------------------------------------------------ grading
def grade(course: Path, timeout: int = DEFAULT_TIMEOUT, log=print) -> dict:
    """Grade every submission of the course; write ``grades.csv`` and ``grading_report.md``; return the report."""
    course = Path(course).resolve()
    if not (course / "source").is_dir():
        raise FileNotFoundError(f"{course} is not a course folder (no source/): run `release` first")
    ids = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    write_config(course, timeout)
    report = preflight(course, ids)
    students = sorted({sid for sid, _ in report})
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "lineardistill") as gb:
        for sid in students:  # also those whose every file was unreadable: they get their 0 in grades.csv
            gb.update_or_create_student(sid)
    env = grading_env(log=log)
    strong = strong_isolation()
    log(f"isolation: {'strong (mount namespace, user nobody)' if strong else 'WEAK (not root: see the README)'}")
    for aid in ids:
        todo = sorted(sid for (sid, a), entry in report.items() if a == aid and entry["status"] == "ok")
        if not todo:
            continue
        spec = write_kernel(course, env, aid, strong)
        run_env = dict(os.environ, JUPYTER_PATH=str(spec), LINEARDISTILL_ASSIGNMENT=aid,
                       LINEARDISTILL_SOURCE=str(course / "source" / aid / f"{aid}.ipynb"))
        # one nbgrader run per assignment; a submission it cannot grade does not stop the others
        result = _nbgrader(course, "autograde", aid, "--force", env=run_env, check=False)
        log_text = (result.stdout + result.stderr).splitlines()
        for sid in todo:
            entry = report[sid, aid]
            graded = course / "autograded" / sid / aid / f"{aid}.ipynb"
            if graded.exists():
                entry["notes"] += _cell_notes(graded)
            else:
                entry["status"] = "failed"
                why = [line.strip() for line in log_text if f"'{sid}'" in line or f"/{sid}/" in line]
                entry["notes"].append("nbgrader could not grade it; its log says: " + " / ".join(why[-3:])[:400])
            log(f"graded {sid}/{aid}: {entry['status']}")
    _nbgrader(course, "generate_feedback", "*", "--force", check=False)
    _nbgrader(course, "export", "--to", str(course / "grades.csv"))
    write_report(course, report, strong)
    return report


def _cell_notes(path: Path) -> list[str]:
    import nbformat

    notes = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                gid = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell")
                notes.append(f"{gid}: {output.get('evalue')}")
    return notes


def read_grades(course: Path) -> dict:
    """``{(student_id, assignment): row}`` from nbgrader's CSV export."""
    with open(Path(course) / "grades.csv", newline="") as f:
        return {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}


def write_report(course: Path, report: dict, strong: bool) -> Path:
    grades = read_grades(course)
    lines = ["# Grading report", "",
             "Isolation: " + ("strong: a private mount namespace (repository, course folder, /tmp and /home "
                              "hidden; grading environment read-only), user nobody."
                              if strong else "WEAK: the kernel ran as the grader's own user (not root)."), "",
             "| student | assignment | score | max | status | notes |", "|---|---|---|---|---|---|"]
    for (sid, aid), entry in sorted(report.items()):
        row = grades.get((sid, aid), {})
        notes = "; ".join(entry["notes"]).replace("|", "/")
        lines.append(f"| {sid} | {aid} | {row.get('score', '0')} | {row.get('max_score', '?')} | "
                     f"{entry['status']} | {notes} |")
    path = Path(course) / "grading_report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="create the course folder and generate the student versions")
    p.add_argument("course", type=Path)
    p = sub.add_parser("grade", help="autograde COURSE/submitted, write grades.csv and feedback")
    p.add_argument("course", type=Path)
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    p = sub.add_parser("env", help="build (or find) the grading environment and print its path")
    args = parser.parse_args(argv)
    if args.command == "release":
        for path in release(args.course):
            print(f"released {path}")
        print(f"hand out the folder {Path(args.course).resolve() / 'release'}")
    elif args.command == "grade":
        grade(args.course, args.timeout)
        print(f"wrote {Path(args.course).resolve() / 'grades.csv'} and grading_report.md; "
              f"feedback in {Path(args.course).resolve() / 'feedback'}")
    else:
        print(grading_env())
    return 0


if __name__ == "__main__":
    sys.exit(main())
