# Two entry points: `make demo` (set up, then stream the real clip through the lite estimator)
# and `make test` (set up, then lint and the whole test suite; what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU torch wheel, when this machine has one on disk, lets the hmr2 adapter's tests run on
# real tensors; without it they skip. Never `pip install torch` here: PyPI's is a multi-GB CUDA build.
TORCH_CPU_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl))

.PHONY: setup demo test test-fast test-upstream test-gpu-host lint bench clean

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

# The in-process tier first, in parallel (fails fast, ~1 min), then the service and system tiers
# (markers in pytest.ini, tiers in tests/conftest.py). Together: the whole suite.
test: lint
	$(BIN)/python -m pytest -m "not service and not slow" -n auto
	$(BIN)/python -m pytest -m "service or slow"

# The in-process tier alone: what to run while editing.
test-fast: setup
	$(BIN)/python -m pytest -m "not service and not slow" -n auto

# The project's code against the real 4D-Humans, detectron2, smplx and PHALP (CPU, stand-in weights).
# tests/upstream/build-env.sh builds the venv with the project's own roles (cached outside the clone,
# keyed by what it is built from); stand-ins.sh the random-weight models beside it (~8 GB, built once).
UPSTREAM_CACHE ?= /var/cache/pose-service-upstream
UPSTREAM_ENV = POSE_UPSTREAM_CACHE=$(UPSTREAM_CACHE) bash tests/upstream/build-env.sh
UPSTREAM_MODELS = POSE_UPSTREAM_CACHE=$(UPSTREAM_CACHE) bash tests/upstream/stand-ins.sh
test-upstream:
	venv=$$($(UPSTREAM_ENV)) && models=$$($(UPSTREAM_MODELS) $$venv) && \
	POSE_UPSTREAM_ENV=1 POSE_UPSTREAM_MODELS=$$models PYTHONPATH=service/src:. \
	    $$venv/bin/python -m pytest tests/upstream -p no:cacheprovider $(PYTEST_ARGS)

# The real site.yml on the hmr2 path in a systemd container (molecule/gpu-host): real sources, real builds,
# stand-in weights served over HTTP, the unit started, one frame with the full contract, a second converge.
test-gpu-host:
	venv=$$($(UPSTREAM_ENV)) && models=$$($(UPSTREAM_MODELS) $$venv) && \
	POSE_UPSTREAM_CACHE=$(UPSTREAM_CACHE) POSE_UPSTREAM_MODELS=$$models bash molecule/gpu-host/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
