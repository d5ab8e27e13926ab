# Two commands take a fresh clone anywhere (README.md): `make study` and `make test`.
# Each installs what it needs into .venv first (only when pyproject.toml changed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: study test test-all install clean book-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# PRESET=tiny runs the whole study as a smoke test (CI); the default is the study itself (quick preset).
study: $(STAMP)
	$(PY) -m colourlib study $(if $(PRESET),--preset $(PRESET))

# The built book, read in headless Chromium (Debian: apt-get install chromium); screenshots in _build/screenshots.
book-check: $(STAMP)
	$(PY) -m colourlib check browser

# `make test`: the fast suite (the everyday check); `make test-all`: every test, the slow ones too (what CI runs).
test: $(STAMP)
	$(PY) -m pytest -m "not slow"

test-all: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) runs book/runs _build
