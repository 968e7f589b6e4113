# snn-rram: `make demo` and `make test` set everything up on a fresh machine, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Brian2 caches and standalone builds, matplotlib's cache: inside the ignored build/ folder.
export SNN_RRAM_BUILD_DIR := $(CURDIR)/build
export MPLCONFIGDIR       := $(CURDIR)/build/matplotlib
export MPLBACKEND         := Agg

.PHONY: setup system-deps test lint demo bench study-pcsa study-ternary-snn study-distortion clean

setup: $(VENV)/.installed system-deps

# torch is installed pinned before the extras: this machine provides a CPU wheel of 2.13.0,
# while an unpinned torch would pull several GB of CUDA packages.
$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "snn-rram needs Python >= 3.11"'
	@$(PYTHON) -c 'import sys; print(f"creating $(VENV) with Python {sys.version.split()[0]} ({sys.executable})")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev,torch,onnx,sweep]"
	touch $@

# System packages the tests compare against or read: ngspice (circuit reference) and the
# Fashion-MNIST dataset package.
system-deps:
	@if ! command -v ngspice >/dev/null 2>&1; then \
	  echo "installing ngspice from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq ngspice; \
	fi
	@if [ ! -d /usr/share/datasets/fashion-mnist ]; then \
	  echo "installing dataset-fashion-mnist from Debian's packages"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: docs doctest wheel-test

# The documentation's packages (the `docs` extra), on top of the set-up environment.
$(VENV)/.docs-installed: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet -e ".[docs]"
	touch $@

# The documentation site, generated from the code (API, config reference, notebooks unexecuted),
# into build/docs/html; every warning is an error.
docs: setup $(VENV)/.docs-installed
	$(BIN)/sphinx-build -W --keep-going -q -b html docs build/docs/html

# The examples in the docstrings.
doctest: setup
	$(BIN)/pytest --doctest-modules snn_rram -q

# The wheel as a user installs it: built (sdist, then the wheel from it), installed with its
# dependencies into a fresh environment in a temporary folder and run there (.ci/wheel-test).
# It runs on the newest Python >= 3.11 found (.ci/find-python; pyenv's versions included), so
# that the current Brian2 (>= 2.11, Python >= 3.13) is exercised besides the one of .venv/.
wheel-test: setup
	BUILD_PYTHON=$(BIN)/python .ci/wheel-test "$$(.ci/find-python)"

test: lint docs doctest wheel-test
	$(BIN)/pytest

demo: setup
	$(BIN)/snn-rram sweep models/experiments/qwsm_study.toml
	$(BIN)/snn-rram report results/qwsm_study

bench: setup
	$(BIN)/python benchmarks/bench_crossbar.py
	$(BIN)/python benchmarks/bench_analog.py
	$(BIN)/python benchmarks/bench_snn.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_training.py

# Paper 5: binary vs ternary networks read by the PCSA model (trains on Fashion-MNIST: ~1 h)
study-pcsa: setup
	$(BIN)/python studies/pcsa_study.py --out results/pcsa_study

# Paper 5 in the spiking network: the bundled ternary MLP read by the PCSA model vs analog pairs
# through the passive array (~15 min on two cores; the report checks the near-threshold target)
study-ternary-snn: setup
	$(BIN)/snn-rram sweep models/experiments/ternary_snn_study.toml
	$(BIN)/snn-rram report results/ternary_snn_study

# Papers 1 x 2: distortion-aware fine-tuning + linear_pair vs qwsm and calibration (~20 min)
study-distortion: setup
	$(BIN)/python studies/distortion_study.py --out results/distortion_study

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache
