# Two commands for a fresh machine: `make demo` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC ?= specs/mlp.net

.PHONY: demo test lint types unit bench venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt torch
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/netspec check $(SPEC)
	$(BIN)/netspec explain $(SPEC)
	$(BIN)/netspec train $(SPEC)

lint: venv
	$(BIN)/ruff check netspec tests bench examples
	$(BIN)/ruff format --check netspec tests bench examples

types: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q

test: lint types unit

bench: venv
	$(BIN)/python bench/parse_check.py
	$(BIN)/python bench/draw.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
