# The two commands a reader needs are `make book` and `make test`; each sets up
# .venv itself (Python 3.10+, pip, npm for the offline JavaScript).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
JB     := $(BIN)/jupyter-book
STRICT := -W -n --keep-going
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300

.PHONY: book test test-lib test-notebooks build-strict outputs bench clean help

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make test   library tests, strict nbval on every notebook, strict book build"
	@echo "make outputs  re-execute the notebooks and store their outputs"
	@echo "make bench  run the benchmarks and write benchmarks/results.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade "pip>=23.1"

# One stamp per extra: re-install only when the dependency files change.
$(VENV)/.book-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[book]"
	touch $@

$(VENV)/.test-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[test]"
	touch $@ $(VENV)/.book-installed

_vendor/.stamp: scripts/fetch_vendor.sh
	scripts/fetch_vendor.sh

book: $(VENV)/.book-installed _vendor/.stamp
	$(JB) build . $(STRICT) --builder html
	@echo "The book is at _build/html/index.html"

test: $(VENV)/.test-installed _vendor/.stamp
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest $(NBVAL) book -q
	$(JB) build . $(STRICT) --builder html

outputs: $(VENV)/.book-installed
	cd book && for nb in *.ipynb; do \
	  ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _build _vendor
