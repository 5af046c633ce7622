"""The student edition (scripts/student_book.py): solutions removed from a copy, HTML searched for leftovers."""

import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sb = _load("student_book")

SECRET_CODE = "secret_answer = sum(k * k for k in range(7))"
SECRET_TEXT = "The distinctive reasoning of this worked solution lives here only."


def md(text):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def chapter_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        md("# A tiny chapter"),
        nbformat.v4.new_code_cell("print('kept output')"),
        md("## Exercises"),
        md("```{exercise-start}\n:label: tiny-ex-one\n```"),
        md("Compute the sum of the first seven squares."),
        md("```{exercise-end}\n```"),
        md("```{solution-start} tiny-ex-one\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell(f"{SECRET_CODE}\nprint(secret_answer)"),
        md(SECRET_TEXT),
        md("```{solution-end}\n```"),
        md("```{exercise} A second exercise\n:label: tiny-ex-two\nWhy is the answer an integer?\n```\n\n"
           "```{solution} tiny-ex-two\n:class: dropdown\nBecause every term of this plain solution is one.\n```\n\n"
           "Text after the plain solution stays."),
    ]
    return nb


def test_strip_notebook_removes_gated_and_plain_solutions_only():
    nb, removed = sb.strip_notebook(chapter_notebook())
    text = "\n".join(c.source for c in nb.cells)
    assert SECRET_CODE not in text and SECRET_TEXT not in text
    assert "solution-start" not in text and "solution-end" not in text and "{solution}" not in text
    assert "plain solution is one" not in text
    for kept in ("exercise-start", "Compute the sum", "exercise-end", "{exercise} A second exercise",
                 "Text after the plain solution stays.", "print('kept output')"):
        assert kept in text
    assert any(SECRET_CODE in r for r in removed) and any("plain solution is one" in r for r in removed)
    assert len(nb.cells) == 7


def test_strip_refuses_an_unclosed_gated_solution():
    nb = chapter_notebook()
    del nb.cells[9]  # the solution-end cell
    with pytest.raises(ValueError, match="solution-end"):
        sb.strip_notebook(nb)


def test_strip_markdown_handles_fences_of_both_kinds():
    text = textwrap.dedent("""
        Before.

        ````{solution} ex-a
        ```python
        hidden_in_plain = 1
        ```
        ````

        Between.

        :::{solution-start} ex-b
        :::
        gated text only for solutions
        :::{solution-end}
        :::

        After.
    """)
    kept, removed = sb.strip_markdown(text)
    assert "Before." in kept and "Between." in kept and "After." in kept
    assert "hidden_in_plain" not in kept and "gated text" not in kept and "solution" not in kept
    assert len(removed) == 2


def _page(body):
    return f"<html><head><title>t</title></head><body>{body}</body></html>"


def test_verify_flags_solution_class_caption_and_snippets(tmp_path):
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"files": {}, "snippets": sb.snippets(SECRET_CODE)}))
    html = tmp_path / "html"
    html.mkdir()
    (html / "clean.html").write_text(_page("<p>An exercise without its solution. The solution to an ODE.</p>"))
    assert sb.verify(html, record) == []
    # code rendered with highlighting spans between the words is still found
    spans = "".join(f"<span class='n'>{w}</span> " for w in SECRET_CODE.replace("(", " ( ").split())
    (html / "leak.html").write_text(_page(f"<pre>{spans}</pre>"))
    (html / "dropdown.html").write_text(_page('<div class="solution dropdown admonition">x</div>'))
    (html / "caption.html").write_text(_page("<p>Solution to Exercise 3.1</p>"))
    found = "\n".join(sb.verify(html, record))
    assert "leak.html: solution text" in found
    assert "dropdown.html: an element with the class 'solution'" in found
    assert "caption.html: the text 'Solution to'" in found
    assert "clean.html" not in found
    with pytest.raises(FileNotFoundError):
        sb.verify(tmp_path / "nothing", record)


def test_student_book_has_no_launch_buttons_and_verify_flags_launch_links(tmp_path):
    out = tmp_path / "src"
    out.mkdir()
    shutil.copy(ROOT / "_config.yml", out / "_config.yml")
    sb._student_config(out)
    config = (out / "_config.yml").read_text()
    assert "binderhub_url" not in config and "colab_url" not in config
    assert "use_repository_button: false" in config
    assert "binderhub_url" in (ROOT / "_config.yml").read_text()  # the reader's book keeps them
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"files": {}, "snippets": []}))
    html = tmp_path / "html"
    html.mkdir()
    (html / "launch.html").write_text(_page('<a href="https://mybinder.org/v2/gh/x/y/main?urlpath=tree/a.ipynb">'
                                            "Binder</a>"))
    (html / "ok.html").write_text(_page('<a href="_sources/book/a.ipynb">download</a>'))
    found = "\n".join(sb.verify(html, record))
    assert "launch.html: a launch or repository link" in found and "ok.html" not in found


def test_prepare_on_the_real_sources(tmp_path):
    out = tmp_path / "student_src"
    record = sb.prepare(ROOT, out)
    chapters = sorted(p.name for p in (ROOT / "book").glob("*.ipynb"))
    assert chapters
    for name in chapters:
        original = (ROOT / "book" / name).read_text()
        copy = (out / "book" / name).read_text()
        assert "solution-start" not in copy and "{solution}" not in copy
        if "solution-start" in original:
            assert record["files"][f"book/{name}"] > 0
    for path in (out / "book" / "assignments").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["mystnb"] == {"execution_mode": "off"}
        text = "\n".join(c.source for c in nb.cells)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    toc = (out / "_toc.yml").read_text()
    assert "book/instructors" not in toc and not (out / "book" / "instructors.md").exists()
    assert "book/instructors" in (ROOT / "_toc.yml").read_text()  # the reader's toc is untouched
    kept = " ".join(sb.token_text(p.read_text()) for p in (out / "book").rglob("*") if p.suffix in (".md", ".ipynb"))
    assert record["snippets"] and not [s for s in record["snippets"] if f" {s} " in kept]


def test_student_build_of_a_small_book_is_clean_and_the_reader_build_is_not(tmp_path):
    """End to end with jupyter-book: the check finds the solutions in the reader's build, none in the student's."""
    root = tmp_path / "src"
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text(textwrap.dedent("""
        title: tiny
        only_build_toc_files: true
        execute:
          execute_notebooks: force
        sphinx:
          extra_extensions:
            - sphinx_exercise
    """))
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/ch\n")
    (root / "book" / "intro.md").write_text("# Intro\n\nA tiny book.\n")
    nbformat.write(chapter_notebook(), root / "book" / "ch.ipynb")
    jb = str(Path(sys.executable).with_name("jupyter-book"))

    def build(src):
        run = subprocess.run([jb, "build", str(src), "-W", "-n", "--keep-going", "--builder", "html", "-q"],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        return src / "_build" / "html"

    student_src = tmp_path / "student_src"
    sb.prepare(root, student_src)
    record = student_src / sb.RECORD_NAME
    assert sb.verify(build(student_src), record) == []
    reader_html = build(root)
    found = "\n".join(sb.verify(reader_html, record))
    assert "ch.html: an element with the class 'solution'" in found
    assert "ch.html: the text 'Solution to'" in found
    assert "ch.html: solution text 'secret_answer sum k k for k in range 7'" in found
    shutil.rmtree(root / "_build")
