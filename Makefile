# The two commands that set up everything on a fresh machine:
#   make demo   - venv, models, bundle, sample videos, compare, speech (WAV)
#   make test   - venv, then the default test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch==2.13.0 (pinned in the extras) is the CPU build; pip finds it without a CUDA download.
	$(BIN)/pip install -q -e '.[train,export,speech,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/stepdiff demo

test: $(STAMP)
	$(BIN)/python -m pytest --durations=25

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) out artifacts
