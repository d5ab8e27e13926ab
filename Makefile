# Two commands take a fresh clone anywhere (README.md): `make study` and `make test`.
# Each installs what it needs into .venv first: the locked versions of requirements.lock, the packages of
# requirements-nodeps.txt without their dependencies, then this project (again only when one of them changed),
# and the browser runtime of the book's in-browser colouriser from npm (package-lock.json, exact versions).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UV     := uv==0.13.8

.PHONY: study test test-all install lint lock clean book-check

$(STAMP): pyproject.toml requirements.lock requirements-nodeps.txt package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps -e .
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

# PRESET=tiny runs the whole study as a smoke test (CI), in a scratch copy (smoke-test/) that leaves the study's own
# results alone; the default is the study itself (quick preset).
study: $(STAMP)
	$(PY) -m study run $(if $(PRESET),--preset $(PRESET))

# The built book, read in headless Chromium through Selenium (Debian: apt-get install chromium chromium-driver), its
# in-browser colouriser used on a photo; screenshots in _build/screenshots. PRESET=tiny: the smoke test's book, which
# `make study PRESET=tiny` builds in its scratch copy, smoke-test/.
book-check: $(STAMP)
	$(if $(filter tiny,$(PRESET)),COLOURLIB_STUDY_ROOT=$(CURDIR)/smoke-test) $(PY) -m study check browser

# `make test`: the fast suite (the everyday check); `make test-all`: every test, the slow ones too (what CI runs).
# Both run the tests on every core (pytest-xdist): most of a test's time is one core's Python (tracing, converting,
# starting processes), so two tests at once take little longer than one.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -n auto

test-all: $(STAMP)
	$(PY) -m pytest -n auto

# The formatter and the linter, as configured in pyproject.toml ([tool.ruff]); `ruff format .` applies the format.
lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

# Refresh requirements.lock from pyproject.toml's ranges: the newest versions they allow, for every Python from
# 3.11 to 3.13 and every platform, with hashes. uv runs from a venv of its own, outside the project's.
lock:
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet "$(UV)"
	$(VENV)-lock/bin/uv pip compile pyproject.toml --extra test --universal --generate-hashes \
		--python-version 3.11 --custom-compile-command "make lock" -o requirements.lock

clean:
	rm -rf $(VENV) $(VENV)-lock runs book/runs book/_generated _build node_modules smoke-test .snakemake
