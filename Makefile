# Developer commands. `make test` and `make demo` create .venv and install everything they
# need (core + every plugin, editable) on a fresh machine; later runs reuse it.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PLUGIN_DIRS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
EXAMPLE_PLUGIN_DIRS := $(sort $(dir $(wildcard examples/plugins/*/pyproject.toml)))
STAMP := $(VENV)/.installed

.PHONY: install test fuzz demo lint format typecheck docs bench fixtures clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt $(wildcard plugins/*/pyproject.toml) $(wildcard examples/plugins/*/pyproject.toml)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=77" wheel
	$(PIP) install -q -c constraints.txt torch torchvision
	$(PIP) install -q -c constraints.txt --no-build-isolation -e ".[dev,export,docs,hub]" \
		$(foreach d,$(PLUGIN_DIRS),-e "$(d)") $(foreach d,$(EXAMPLE_PLUGIN_DIRS),-e $(d))
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

# Long property-based run: thousands of generated arguments per component and 10,000
# generated configs (tests/test_fuzz_constructors.py), with a fresh random seed each time.
fuzz: $(STAMP)
	OBSNETS_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz_constructors.py

demo: $(STAMP)
	$(VENV)/bin/obsnets demo

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: $(STAMP)
	$(PY) -m mypy

# The documentation site, into site/; strict: a broken link or cross-reference fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Refresh the test data kept in the repository (tests/fixtures) from the shared folder where
# robomimic recorded it: make fixtures SHARED=/path/to/shared
SHARED ?= ../shared
fixtures:
	test -d $(SHARED)/parity && test -d $(SHARED)/robomimic_checkpoints
	rm -rf tests/fixtures/parity tests/fixtures/robomimic_checkpoints
	cp -R $(SHARED)/parity tests/fixtures/parity
	cp -R $(SHARED)/robomimic_checkpoints tests/fixtures/robomimic_checkpoints
	chmod -R u+w tests/fixtures/parity tests/fixtures/robomimic_checkpoints

clean:
	rm -rf $(VENV) build site .pytest_cache .mypy_cache .ruff_cache
