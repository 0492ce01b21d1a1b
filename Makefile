# Every target builds (or reuses) its own virtual environment in .venv,
# so a fresh machine needs nothing but python3 and make.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test demo bench playground clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Four workers on two cores: much of the suite waits (servers, child
# processes, budgets running out), and the whole run must stay well inside
# CI's 15 minutes.
test: $(STAMP)
	$(PY) -m pytest -n 4

demo: $(STAMP)
	@bash examples/demo.sh $(VENV)

bench: $(STAMP)
	$(PY) -m bench

# The plugin playground: a static folder (Pyodide vendored from the npm
# package, cached outside the repo) for any static server, e.g.
#   python3 -m http.server -d build/playground
playground: $(STAMP)
	$(PY) -m playground.build build/playground

clean:
	rm -rf $(VENV) .pytest_cache
