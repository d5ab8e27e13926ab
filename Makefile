# Two commands take a fresh clone anywhere (README.md): `make study` and `make test`.
# Each installs what it needs into .venv first (only when pyproject.toml changed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: study test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

study: $(STAMP)
	$(PY) -m colourlib study

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) runs book/_build
