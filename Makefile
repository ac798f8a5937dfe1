# The README's two commands: `make demo` and `make test`. Each sets itself up on a fresh machine:
# a .venv made with Python 3.11, the verified lock installed with uv, then the project (editable).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9

# Offline by default: never a silent download of model weights; Prefect state inside the project.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export DVC_NO_ANALYTICS := 1
# cache bytecode in .venv: with PYTHONDONTWRITEBYTECODE every process recompiles diffusers (15-40 s)
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-slow lint format venv clean

$(STAMP): requirements/lock.txt pyproject.toml tools/gltf-validate/package.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python -r requirements/lock.txt
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	@# optional: the Khronos glTF validator (node); without npm the tests fall back to pygltflib checks
	-command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix tools/gltf-validate
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m artic3d_cli.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not slow and not gpu" --timeout=900

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or gpu" --timeout=3600

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .prefect .pytest_cache .ruff_cache
