# Two entry points: `make demo` (set up, then stream the real clip through the lite estimator)
# and `make test` (set up, then lint and the whole test suite; what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU torch wheel, when this machine has one on disk, lets the hmr2 adapter's tests run on
# real tensors; without it they skip. Never `pip install torch` here: PyPI's is a multi-GB CUDA build.
TORCH_CPU_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: service/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e './service[lite,test]'
	if [ -n "$(TORCH_CPU_WHEEL)" ]; then $(BIN)/pip install --quiet "$(TORCH_CPU_WHEEL)"; fi
	touch $@

demo: setup
	$(BIN)/pose-service demo --drop-share 0.36

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
