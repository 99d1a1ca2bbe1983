# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    create .venv, install the app, start it on http://127.0.0.1:8501
#   make test   create .venv, install app + test tools, lint (ruff), type-check (mypy), run the whole suite
# Everything else here is a helper those two use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Test processes for the unit and page tests (pytest-xdist; a file's tests stay in one process, so its
# module fixtures are made once). The browser journeys run in one process: two servers and two browsers
# on 2 cores slow each other past what a journey waits for.
TEST_WORKERS ?= 2

.PHONY: run test test-fast lint coverage format bench screenshots install install-dev lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not e2e" -n $(TEST_WORKERS) --dist loadfile
	$(BIN)/python -m pytest -m e2e

test-fast: install-dev
	$(BIN)/python -m pytest -m "not e2e" -n $(TEST_WORKERS) --dist loadfile

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# How much of core the unit and page tests run (the browser journeys run the app in another process).
coverage: install-dev
	$(BIN)/python -m pytest -m "not e2e" --cov=core --cov-report=term:skip-covered

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The README's pictures: the browser journeys, writing their screenshots into docs/.
screenshots: install-dev
	NOCODE_SCREENSHOTS=docs $(BIN)/python -m pytest tests/e2e

bench: install-dev
	$(BIN)/python bench/run_all.py

# Rebuild constraints.txt (the lock) from a fresh environment of requirements*.txt.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	{ head -3 constraints.txt; .lock-venv/bin/pip freeze; } > constraints.new && mv constraints.new constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache bench/.cache
