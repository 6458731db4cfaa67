# Two entry points on a fresh machine: `make demo` and `make test`.
# Each (re)creates the virtualenv and the JS interop packages when their inputs changed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYSTAMP := $(VENV)/.installed
JSDIR  := tests/interop
JSSTAMP := $(JSDIR)/node_modules/.installed

.PHONY: demo test setup setup-js bench clean

setup: $(PYSTAMP)

# The modules compiled with mypyc (hyperparty/_native.py lists them): editing one rebuilds the extensions
# (a stale extension is never used: the source is imported instead, see hyperparty/_native.py).
NATIVE_SRC := $(shell $(PYTHON) -c 'import importlib.util as u; s = u.spec_from_file_location("n", "hyperparty/_native.py"); m = u.module_from_spec(s); s.loader.exec_module(m); print(" ".join(m.source_path(n) for n in m.COMPILED))')

# setup.py derives the package list from the tree: a new top-level package (its __init__.py) reinstalls
$(PYSTAMP): pyproject.toml setup.py hyperparty/_native.py hyperparty/_gc.c $(NATIVE_SRC) $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup-js: $(JSSTAMP)

# Correctness tests run JS on sodium-javascript (no native build): optional deps are omitted.
$(JSSTAMP): $(JSDIR)/package.json $(JSDIR)/package-lock.json
	cd $(JSDIR) && npm ci --omit=optional --no-audit --no-fund --loglevel=error
	touch $@

demo: $(PYSTAMP)
	$(PY) -m hyperparty.cli.demo

test: $(PYSTAMP) $(JSSTAMP)
	$(PY) -m pytest -q

bench: $(PYSTAMP) $(JSSTAMP)
	bash bench/setup-native.sh
	$(PY) bench/append.py
	$(PY) bench/replicate.py
	$(PY) bench/party.py
	$(PY) bench/trie.py
	$(PY) bench/drive.py
	$(PY) bench/db.py
	@echo "(bench/scale.py: 1 000 000 blocks, about half an hour; run it by hand)"

clean:
	rm -rf $(VENV) $(JSDIR)/node_modules build hyperparty__mypyc.*.so
	find . -name '*.so' -not -path './$(VENV)/*' -not -path '*/node_modules/*' -delete
