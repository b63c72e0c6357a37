# Two commands on a fresh Debian machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install system demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

system:
	bash scripts/install-system.sh

install: system $(STAMP)

demo: install
	$(VENV)/bin/scalinglab demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n 2 --dist loadgroup

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/fit_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
