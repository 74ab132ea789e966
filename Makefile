# Two entry points for a fresh machine with Python 3.11:
#   make demo   - one synthetic patient through the pathway on a throwaway database
#   (make serve-demo - the web pages on a throwaway clinic of synthetic patients)
#   make test   - the whole test suite, on SQLite and on PostgreSQL (127.0.0.1:5432)
#   make docs   - the documentation site into site/ (make docs-serve: served while you edit)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo serve-demo test bench docs docs-serve screenshots clean

$(BIN)/pathway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/pathway
	$(BIN)/pathway demo

serve-demo: $(BIN)/pathway
	$(BIN)/pathway serve --demo

# mypy first (seconds), then the suite on every core, a test file per worker (files share
# their databases, so they stay on one worker).
test: $(BIN)/pathway
	sh .ci/browser
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -n $(or $(JOBS),auto) --dist loadfile

bench: $(BIN)/pathway
	$(BIN)/python bench/machine.py
	$(BIN)/python bench/rules_migrate.py
	$(BIN)/python bench/writers.py

docs: $(BIN)/pathway
	$(BIN)/python -m mkdocs build --strict

docs-serve: $(BIN)/pathway
	$(BIN)/python -m mkdocs serve --dev-addr 127.0.0.1:8001

# Refresh the screenshots the README and docs show, from the browser tests.
screenshots: $(BIN)/pathway
	sh .ci/browser
	PATHWAY_SCREENSHOTS=docs/images $(BIN)/python -m pytest tests/web/browser -q -k sqlite

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info site
