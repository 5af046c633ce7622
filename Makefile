# The two commands a reader needs are `make book` and `make test`; each sets up
# .venv itself (Python 3.10+, pip, npm for the offline JavaScript).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
JB     := $(BIN)/jupyter-book
STRICT := -W -n --keep-going
NBVAL  := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300

.PHONY: book check-pages test test-lib test-notebooks build-strict outputs bench mutation clean help

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make test   library tests and doctests, strict nbval on every notebook, strict book build, browser check"
	@echo "make check-pages  open every page of the built book in headless Chromium"
	@echo "make outputs  re-execute the notebooks and store their outputs"
	@echo "make bench  run the benchmarks and write benchmarks/results.md"
	@echo "make mutation  mutation-test the numeric core (mutmut; slow, not in make test): score per module"
	@echo "make student  build the student book (no solutions) into _build_student/html and check it"
	@echo "make release COURSE=dir  create an nbgrader course in dir; hand out dir/release (book/instructors.md)"
	@echo "make grade COURSE=dir    grade dir/submitted/<student>/<id>/<id>.ipynb into dir/grades.csv and feedback"
	@echo "make assignments  the same as make release COURSE=course"

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
	scripts/ensure_chromium.sh >/dev/null
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest --doctest-modules lineardistill -q
	$(BIN)/python -m pytest $(NBVAL) book -q
	$(JB) build . $(STRICT) --builder html
	$(BIN)/python scripts/check_pages.py --chromium "$$(scripts/ensure_chromium.sh)"

# Open every page of the built book in headless Chromium (math, figures, links, widgets,
# no JavaScript errors, nothing fetched from the network); screenshots in _build/screenshots.
check-pages: $(VENV)/.test-installed
	scripts/ensure_chromium.sh >/dev/null
	$(BIN)/python scripts/check_pages.py --chromium "$$(scripts/ensure_chromium.sh)"

outputs: $(VENV)/.book-installed
	for nb in book/*.ipynb book/assignments/*.ipynb; do \
	  $(BIN)/jupyter execute --inplace "$$nb" || exit 1; done

bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/run_all.py

# Mutation testing of the numeric core (schedule, teacher, problem, student, trees, dp, phase,
# training) with mutmut, one module at a time in _mutation/<module>/; writes the score per module
# and every survivor to benchmarks/mutation_results.md (benchmarks/mutation.md explains them).
# Slow (tens of minutes per module on 2 cores): MODULES="schedule teacher" runs a subset.
MODULES ?=
$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e ".[dev]"
	touch $@ $(VENV)/.test-installed $(VENV)/.book-installed

mutation: $(VENV)/.dev-installed
	env -u PYTHONPATH $(BIN)/python scripts/mutation_report.py $(MODULES)

# Classroom edition (book/instructors.md). The student book is built from a copy of the
# sources without solutions, then every HTML page is searched for solution text.
.PHONY: student assignments
student: $(VENV)/.book-installed _vendor/.stamp
	$(BIN)/python scripts/student_book.py prepare
	$(JB) build _student_src $(STRICT) --builder html
	rm -rf _build_student && mkdir -p _build_student
	mv _student_src/_build/html _build_student/html
	$(BIN)/python scripts/student_book.py verify

# Courses run on nbgrader (scripts/classroom.py, book/instructors.md): `release` creates the course
# folder and the handout COURSE/release; `grade` autogrades COURSE/submitted in a sandboxed kernel and
# writes COURSE/grades.csv (nbgrader's export), COURSE/feedback and COURSE/grading_report.md.
.PHONY: release grade
COURSE  ?= course
TIMEOUT ?= 60
release: $(VENV)/.test-installed
	$(BIN)/python scripts/classroom.py release "$(COURSE)"

grade: $(VENV)/.test-installed
	$(BIN)/python scripts/classroom.py grade "$(COURSE)" --timeout $(TIMEOUT)

assignments: release

clean:
	chmod -R u+w build/grading-env 2>/dev/null; rm -rf _build _vendor _build_student _student_src assignments_release build/grading-env _mutation _plant mutants
