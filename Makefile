# edgedrnn: `make demo` runs the main job, `make test` the test suite. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEBS   := $(VENV)/.debian-stamp

.PHONY: setup demo test check-all lint bench clean

setup: $(STAMP) $(DEBS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[all,dev]'
	# The uea extra (aeon's bundled data sets): aeon 1.6 pins numba<0.64 and numpy<2.5, older
	# than the cpu runtime is tested with; its loaders work with ours, so aeon itself comes
	# without its pins and its other needs (pandas, deprecated) normally.
	$(PY) -m pip install -q 'pandas>=2.2' deprecated
	$(PY) -m pip install -q --no-deps 'aeon==1.6.*'
	touch $@

$(DEBS): scripts/install-debian-packages.sh | $(VENV)/bin/python
	bash scripts/install-debian-packages.sh
	touch $@

demo: setup
	$(PY) -m edgedrnn demo

test: setup
	$(PY) -m pytest -q -n 2

check-all: setup
	$(PY) -m pytest -q -n 2 -m ''

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/lint-imports --no-cache

bench: setup
	$(PY) benchmarks/cpu_runtime.py
	$(PY) benchmarks/rtl_cycles.py

clean:
	rm -rf build out .cache .pytest_cache .hypothesis
