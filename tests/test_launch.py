"""Launch buttons and install cells: a chapter opened on Binder or Colab finds its notebook and the library.

- ``_config.yml`` names the repository once; the Binder and Colab links that
  sphinx-book-theme builds from it (the theme's formulas; the built pages are
  compared when a build exists, and scripts/check_pages.py checks them after every
  build) open ``book/<chapter>.ipynb`` of this repository, which exists.
- Every chapter notebook starts with the install cell of ``scripts/install_cell.py``
  (hidden in the HTML with ``remove-cell``): it does nothing locally and, on Colab
  or Binder without the library, pip-installs it from the configured repository.
- The built book's pages (when ``_build/html`` exists) carry exactly those links.
- Stored text outputs of every notebook stay within 100 characters a line.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
NOTEBOOKS = CHAPTERS + sorted((ROOT / "book" / "assignments").glob("*.ipynb"))
MAX_LINE = 100
_FIND_SPEC = importlib.util.find_spec


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


install_cell = _load("install_cell", ROOT / "scripts" / "install_cell.py")
check_pages = _load("check_pages", ROOT / "scripts" / "check_pages.py")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
URL, BRANCH = install_cell.repository()
ORG, REPO = URL.split("/")[-2:]


def _expected_links(page: str) -> dict:
    """The Binder and Colab URLs for a page, by the formulas of sphinx-book-theme's launch buttons."""
    launch = CONFIG["launch_buttons"]
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[launch.get("notebook_interface", "classic")]
    book = str(CONFIG["repository"].get("path_to_book", "")).strip("/")
    path = f"{book + '/' if book else ''}{page}.ipynb"
    return {"binder": f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{ORG}/{REPO}/{BRANCH}?urlpath={ui}/{path}",
            "colab": f"{launch['colab_url'].rstrip('/')}/github/{ORG}/{REPO}/blob/{BRANCH}/{path}"}


def test_repository_is_configured_once_and_well_formed():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), URL
    assert check_pages.repository() == (ORG, REPO, BRANCH)
    # _config.yml and _toc.yml sit at the repository root: the path to the book's sources is empty.
    assert (ROOT / "_toc.yml").is_file()
    assert str(CONFIG["repository"].get("path_to_book", "")).strip("/") == ""


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_launch_links_open_an_existing_notebook(notebook):
    page = notebook.relative_to(ROOT).with_suffix("").as_posix()      # book/01_diffusion
    links = _expected_links(page)
    assert links["binder"] == (f"https://mybinder.org/v2/gh/{ORG}/{REPO}/{BRANCH}"
                               f"?urlpath=lab/tree/{page}.ipynb")
    assert links["colab"] == f"https://colab.research.google.com/github/{ORG}/{REPO}/blob/{BRANCH}/{page}.ipynb"
    for url in links.values():
        service, org, repo, branch, path = check_pages.launch_target(url)
        assert (org, repo, branch) == (ORG, REPO, BRANCH)
        assert (ROOT / path).resolve() == notebook.resolve()
    assert check_pages.launch_link_problems([{"url": u} for u in links.values()]) == []


def test_launch_link_check_catches_the_doubled_folder():
    """The old config (path_to_book: book) gave book/book/...; the check reports it."""
    bad = f"https://colab.research.google.com/github/{ORG}/{REPO}/blob/{BRANCH}/book/book/01_diffusion.ipynb"
    other = f"https://mybinder.org/v2/gh/someone/else/{BRANCH}?urlpath=lab/tree/book/01_diffusion.ipynb"
    problems = check_pages.launch_link_problems([{"url": bad}, {"url": other}])
    assert len(problems) == 2 and "book/book/01_diffusion.ipynb" in problems[0] and "someone/else" in problems[1]


def test_built_pages_carry_the_expected_links():
    html_root = ROOT / "_build" / "html"
    if not (html_root / "book" / "01_diffusion.html").is_file():
        pytest.skip("no built book (make book); scripts/check_pages.py checks the links after a build")
    for notebook in CHAPTERS:
        page = notebook.relative_to(ROOT).with_suffix("").as_posix()
        built = html_root / f"{page}.html"
        if not built.is_file():
            continue
        text = built.read_text(encoding="utf-8").replace("&amp;", "&")
        for service, url in _expected_links(page).items():
            assert url in text, f"{built}: no {service} link {url}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_every_chapter_starts_with_the_install_cell(notebook):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    first = nb["cells"][0]
    assert install_cell.has_cell(nb, URL, BRANCH), f"{notebook.name}: run scripts/install_cell.py"
    assert "remove-cell" in first["metadata"]["tags"]
    assert first.get("outputs") == [], "the install cell prints nothing locally"
    assert sum("".join(c.get("source", [])) == "".join(first["source"]) for c in nb["cells"]) == 1
    assert f"git+{URL}@{BRANCH}" in "".join(first["source"])


class _Recorder:
    def __init__(self):
        self.calls = []

    def check_call(self, args, **kwargs):
        self.calls.append(list(args))
        return 0


def _run_cell(monkeypatch, *, colab=False, binder=False, installed=True):
    recorder = _Recorder()
    monkeypatch.setitem(sys.modules, "subprocess", recorder)
    for key in [k for k in __import__("os").environ if k.startswith("BINDER_")]:
        monkeypatch.delenv(key)
    if binder:
        monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: (_FIND_SPEC(name, *a) if installed or name != "lineardistill" else None))
    exec(compile(install_cell.cell_source(URL, BRANCH), "<install cell>", "exec"), {})
    return recorder.calls


def test_install_cell_does_nothing_locally(monkeypatch):
    assert _run_cell(monkeypatch, installed=False) == []
    assert _run_cell(monkeypatch, installed=True) == []


@pytest.mark.parametrize("where", ["colab", "binder"])
def test_install_cell_installs_from_the_repository_on_colab_and_binder(monkeypatch, where):
    calls = _run_cell(monkeypatch, colab=where == "colab", binder=where == "binder", installed=False)
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "pip", "install"]
    assert calls[0][-1] == f"lineardistill @ git+{URL}@{BRANCH}"
    # Already installed (Binder's postBuild did it): nothing to do.
    assert _run_cell(monkeypatch, colab=where == "colab", binder=where == "binder", installed=True) == []


def test_install_cell_script_is_idempotent(tmp_path):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Title\n"]}]}
    assert install_cell.update(nb, URL, BRANCH) is True
    assert install_cell.update(nb, URL, BRANCH) is False
    assert [c["id"] for c in nb["cells"]] == [install_cell.CELL_ID, "a"]
    # A changed repository replaces the cell instead of adding a second one.
    assert install_cell.update(nb, "https://github.com/other/place", "dev") is True
    assert len(nb["cells"]) == 2 and "other/place@dev" in "".join(nb["cells"][0]["source"])


def test_dependencies_have_loose_bounds_and_pins_live_in_constraints():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    exact = [r for r in requirements if "==" in r]
    assert exact == [], f"exact pins belong in constraints.txt, not pyproject.toml: {exact}"
    torch_req = next(r for r in project["dependencies"] if r.startswith("torch"))
    assert ">=" in torch_req, "torch needs a loose bound so Colab keeps its own torch"
    assert (ROOT / "binder" / "postBuild").is_file() and "constraints.txt" in (ROOT / "binder" / "postBuild").read_text()


def _text_lines(output: dict):
    if output.get("output_type") == "stream":
        yield from "".join(output.get("text", "")).splitlines()
    elif output.get("output_type") in ("execute_result", "display_data"):
        data = output.get("data", {})
        # text/plain is what a reader sees unless a richer form (HTML, an image, a widget) is shown.
        richer = {"text/html", "image/png", "image/svg+xml", "text/markdown", "text/latex",
                  "application/vnd.jupyter.widget-view+json"}
        if "text/plain" in data and not richer & set(data):
            yield from "".join(data["text/plain"]).splitlines()
    elif output.get("output_type") == "error":
        yield from (line for tb in output.get("traceback", []) for line in tb.splitlines())


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "book").as_posix())
def test_stored_text_outputs_fit_100_characters_a_line(notebook):
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    long = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            for line in _text_lines(output):
                if len(line) > MAX_LINE:
                    long.append(f"cell {index}: {len(line)} characters: {line[:60]}...")
    assert not long, f"{notebook.name}: text output lines over {MAX_LINE} characters:\n" + "\n".join(long)


def test_introduction_clones_the_configured_repository():
    intro = json.loads((ROOT / "book" / "intro.ipynb").read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in intro["cells"] if c["cell_type"] == "markdown")
    assert f"git clone {URL}.git" in text
    assert "<this repository>" not in text
