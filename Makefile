# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    create .venv, install the app, start it on http://127.0.0.1:8501
#   make test   create .venv, install app + test tools, lint (ruff), run the whole suite
# Everything else here is a helper those two use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast lint format bench screenshots install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-fast: install-dev
	$(BIN)/python -m pytest -m "not e2e"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The README's pictures: the browser journeys, writing their screenshots into docs/.
screenshots: install-dev
	NOCODE_SCREENSHOTS=docs $(BIN)/python -m pytest tests/e2e

bench: install-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache bench/.cache
