#!/usr/bin/env python
"""The student edition of the book: the same sources with every solution removed.

sphinx-exercise's ``hide_solutions`` option crashes on gated solutions
(``solution-start`` / ``solution-end``), so the student book is built from a
scratch copy of the sources in which the solutions are gone, and the built HTML
is then searched for anything that survived.

``prepare [--out _student_src]``
    copies ``_config.yml``, ``_toc.yml``, ``book/``, ``scripts/`` and ``_vendor/``
    into the scratch folder; in every chapter removes the cells from
    ```` ```{solution-start} ```` through ```` ```{solution-end} ```` (inclusive)
    and every plain ```` ```{solution} ```` block (in notebooks and in MyST
    markdown files); replaces each assignment by its student version
    (``scripts/assignments.py``: stubs, no hidden tests), shown without being
    executed; drops the instructors' page; removes the launch buttons (Binder, Colab)
    and the repository button, which open the repository's notebooks with their
    solutions (students download the student notebooks with the download button
    or get the assignments from the instructor's nbgrader release). It records in
    ``removed_solutions.json`` distinctive snippets of everything it removed
    (word sequences that occur nowhere in what is kept).

``verify [--html _build_student/html] [--record _student_src/removed_solutions.json]``
    scans every HTML file of the built student book (and the sources it offers
    for download, under ``_sources/``) for solution text:
    elements with sphinx-exercise's ``solution`` class, the caption
    "Solution to", the raw directive names, every recorded snippet and any link to
    Binder, Colab or a file of the repository. Exits
    non-zero, listing what it found, when anything is there.

``make student`` runs prepare, ``jupyter-book build _student_src`` and verify,
and leaves the book in ``_build_student/html``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import assignments  # noqa: E402  (scripts/assignments.py: the release rules)

SCRATCH = ROOT / "_student_src"
HTML_OUT = ROOT / "_build_student" / "html"
RECORD_NAME = "removed_solutions.json"
INSTRUCTOR_PAGES = ("book/instructors",)
SNIPPET_MIN_TOKENS = 6
SNIPPET_MAX_TOKENS = 10

FENCE = re.compile(r"^\s*(`{3,}|:{3,})\{([a-z-]+)\}")
SOLUTION_CLASS = re.compile(r"""(class\s*=\s*["'][^"']*\bsolution\b|id\s*=\s*["']solution-content)""", re.IGNORECASE)
# sphinx-exercise's caption and the raw directive names (a directive that was not parsed)
FORBIDDEN_TEXT = {"Solution to": re.compile(r"\bSolution to\s+Exercise"),
                  "solution-start": re.compile(r"solution-start"), "solution-end": re.compile(r"solution-end"),
                  "{solution}": re.compile(r"\{solution\}")}


# ------------------------------------------------------------- tokenizing
def tokens(text: str) -> list[str]:
    """Lower-case word tokens: markup, math delimiters and highlighting spans do not change them."""
    return re.findall(r"[a-z0-9_]+", text.lower())


def token_text(text: str) -> str:
    return " " + " ".join(tokens(text)) + " "


def snippets(text: str) -> list[str]:
    """One word sequence per long enough line of ``text``."""
    out = []
    for line in text.split("\n"):
        words = tokens(line)
        if len(words) >= SNIPPET_MIN_TOKENS:
            out.append(" ".join(words[:SNIPPET_MAX_TOKENS]))
    return out


# ------------------------------------------------------ removing solutions
def _directive(line: str) -> str | None:
    match = FENCE.match(line)
    return match.group(2) if match else None


def strip_markdown(text: str) -> tuple[str, list[str]]:
    """Remove gated solutions and plain ``{solution}`` blocks from MyST text; return (kept, removed parts)."""
    lines = text.split("\n")
    kept, removed = [], []
    i = 0
    while i < len(lines):
        name = _directive(lines[i])
        if name == "solution":
            fence = FENCE.match(lines[i]).group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            removed.append("\n".join(lines[i:j + 1]))
            i = j + 1
        elif name == "solution-start":
            j = i + 1
            while j < len(lines) and _directive(lines[j]) != "solution-end":
                j += 1
            if j == len(lines):
                raise ValueError(f"a solution-start directive at line {i + 1} has no solution-end")
            fence = FENCE.match(lines[j]).group(1)
            k = j + 1
            while k < len(lines) and lines[k].strip() != fence:
                k += 1
            removed.append("\n".join(lines[i:k + 1]))
            i = k + 1
        else:
            kept.append(lines[i])
            i += 1
    return "\n".join(kept), removed


def strip_notebook(nb, where: str = "notebook"):
    """Remove the cells of every gated solution and every plain solution block; return (nb, removed texts)."""
    cells, removed = [], []
    inside = False
    for index, cell in enumerate(nb.cells):
        source = cell.source
        name = _directive(source) if cell.cell_type == "markdown" else None
        if inside:
            removed.append(source)
            removed.extend(_output_texts(cell))
            if cell.cell_type == "markdown" and "{solution-end}" in source:
                inside = False
            continue
        if name == "solution-start":
            if "{solution-end}" not in source:
                inside = True
            removed.append(source)
            continue
        if cell.cell_type == "markdown" and ("{solution" in source):
            source, parts = strip_markdown(source)
            removed.extend(parts)
            if "{solution-start}" in source or "{solution-end}" in source:
                raise ValueError(f"{where}, cell {index}: a solution directive that is not alone in its cell")
            cell.source = source
        cells.append(cell)
    if inside:
        raise ValueError(f"{where}: a solution-start cell has no matching solution-end cell")
    nb.cells = cells
    return nb, removed


def _output_texts(cell) -> list[str]:
    """Printed text of a cell's outputs (rich outputs such as LaTeX are rendered anew by the build)."""
    return [output["text"] for output in cell.get("outputs", []) if output.get("output_type") == "stream"]


def _released_removals(instructor, student) -> list[str]:
    """What releasing an assignment took away: solution regions, hidden tests, written answers."""
    removed = []
    for cell in instructor.cells:
        source = cell.source
        for begin, end in ((assignments.BEGIN_SOLUTION, assignments.END_SOLUTION),
                           (assignments.BEGIN_HIDDEN, assignments.END_HIDDEN)):
            lines = source.split("\n")
            for start, stop in assignments._regions(lines, begin, end, "assignment"):
                removed.append("\n".join(lines[start:stop + 1]))
        if assignments.is_solution(cell) and assignments.BEGIN_SOLUTION not in source:
            removed.append(source)
        removed.extend(_output_texts(cell))
    return removed


# ----------------------------------------------------------------- prepare
def _copy_sources(root: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, out / name)
    ignore = shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__", "*.pyc")
    shutil.copytree(root / "book", out / "book", ignore=ignore)
    for name in ("scripts", "_vendor"):
        if (root / name).exists():
            shutil.copytree(root / name, out / name, ignore=ignore)


# Launch buttons (Binder, Colab) and the repository button open the repository's notebooks,
# which hold the solutions; the student book offers its own notebooks by the download button.
LAUNCH_LINK = re.compile(r"mybinder\.org|colab\.research\.google\.com|/v2/gh/|github\.com/[^\"']*/blob/")


def _student_config(out: Path) -> None:
    """Remove the launch and repository buttons from the scratch copy's ``_config.yml``."""
    config = out / "_config.yml"
    lines = config.read_text().split("\n")
    kept = [line for line in lines if not re.match(r"\s+(binderhub_url|colab_url|jupyterhub_url|thebe):", line)]
    text = "\n".join(kept)
    text = re.sub(r"(use_repository_button|use_edit_page_button|use_issues_button):\s*true", r"\1: false", text)
    config.write_text(text)


def _drop_instructor_pages(out: Path) -> None:
    toc = out / "_toc.yml"
    lines = toc.read_text().split("\n")
    keep = [line for line in lines
            if not any(re.fullmatch(rf"\s*-\s*file:\s*{re.escape(page)}\s*", line) for page in INSTRUCTOR_PAGES)]
    toc.write_text("\n".join(keep))
    for page in INSTRUCTOR_PAGES:
        for suffix in (".md", ".ipynb"):
            path = out / (page + suffix)
            if path.exists():
                path.unlink()


def prepare(root: Path = ROOT, out: Path = SCRATCH) -> dict:
    """Build the scratch copy without solutions; return the record of what was removed."""
    root, out = Path(root), Path(out)
    _copy_sources(root, out)
    _student_config(out)
    _drop_instructor_pages(out)
    removed: dict[str, list[str]] = {}
    kept_texts: list[str] = []
    for path in sorted((out / "book").rglob("*")):
        rel = str(path.relative_to(out))
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            if path.parent.name == "assignments":
                student = assignments.release_notebook(nb, where=rel)
                removed[rel] = _released_removals(nb, student)
                student.metadata["mystnb"] = {"execution_mode": "off"}
                nb = student
            else:
                nb, removed[rel] = strip_notebook(nb, where=rel)
            nbformat.write(nb, path)
            # everything the student copy still holds (sources, every output format, metadata such as
            # figure captions): a solution snippet found there is not distinctive of the solution
            kept_texts.append(path.read_text())
        elif path.suffix == ".md":
            text, removed[rel] = strip_markdown(path.read_text())
            path.write_text(text)
            kept_texts.append(text)
    kept = " ".join(token_text(t) for t in kept_texts)
    record = {"files": {}, "snippets": []}
    for rel, parts in removed.items():
        record["files"][rel] = len(parts)
        for part in parts:
            for snip in snippets(part):
                if f" {snip} " not in kept and snip not in record["snippets"]:
                    record["snippets"].append(snip)
    (out / RECORD_NAME).write_text(json.dumps(record, indent=1))
    return record


# ------------------------------------------------------------------ verify
class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def verify(html_dir: Path = HTML_OUT, record_path: Path = SCRATCH / RECORD_NAME) -> list[str]:
    """Every piece of solution text found in the built HTML (empty: the student book is clean)."""
    html_dir = Path(html_dir)
    pages = sorted(html_dir.rglob("*.html"))
    if not pages:
        raise FileNotFoundError(f"no HTML files under {html_dir}; build the student book first")
    record = json.loads(Path(record_path).read_text())
    # the pages, and the sources the book offers for download (_sources/: .ipynb, .md)
    sources = sorted(p for p in (html_dir / "_sources").rglob("*") if p.is_file()) if (html_dir / "_sources").is_dir() else []
    found = []
    for page in pages + sources:
        raw = page.read_text(errors="replace")
        rel = page.relative_to(html_dir)
        if page.suffix == ".html" and SOLUTION_CLASS.search(raw):
            found.append(f"{rel}: an element with the class 'solution'")
        if page.suffix == ".html" and LAUNCH_LINK.search(raw):
            found.append(f"{rel}: a launch or repository link ({LAUNCH_LINK.search(raw).group(0)}), which opens "
                         "the notebooks with solutions")
        text = html_text(raw) if page.suffix == ".html" else raw
        for phrase, pattern in FORBIDDEN_TEXT.items():
            if pattern.search(text):
                found.append(f"{rel}: the text {phrase!r}")
        words = token_text(text)
        for snip in record["snippets"]:
            if f" {snip} " in words:
                found.append(f"{rel}: solution text '{snip}'")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="copy the sources without solutions into the scratch folder")
    p.add_argument("--out", type=Path, default=SCRATCH)
    p = sub.add_parser("verify", help="search the built student book for solution text")
    p.add_argument("--html", type=Path, default=HTML_OUT)
    p.add_argument("--record", type=Path, default=SCRATCH / RECORD_NAME)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        record = prepare(ROOT, args.out)
        total = sum(record["files"].values())
        print(f"removed {total} solution parts from {sum(1 for v in record['files'].values() if v)} files; "
              f"{len(record['snippets'])} distinctive snippets recorded in {args.out / RECORD_NAME}")
        return 0
    found = verify(args.html, args.record)
    pages = len(list(Path(args.html).rglob("*.html")))
    if found:
        print(f"the student book at {args.html} still contains solution text:")
        for item in found:
            print("  " + item)
        return 1
    print(f"checked {pages} HTML pages: no solution text found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
