# snn-rram: `make demo` and `make test` set everything up on a fresh machine, then run.
# The newest CPython >= 3.11 found (.ci/find-python: PATH, then pyenv's versions), so that a fresh
# machine gets the current Brian2 (2.11+ needs Python >= 3.13; 3.11/3.12 get Brian2 2.9).
# `make setup PYTHON=python3.11` chooses another one.
PYTHON ?= $(shell .ci/find-python)
# The oldest supported Python, for the fast subset of the tests that `make test` runs there too
PYTHON_OLDEST ?= $(shell .ci/find-python --oldest)
VENV   := .venv
BIN    := $(VENV)/bin
VENV_OLDEST := build/venv-oldest
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Brian2 caches and standalone builds, matplotlib's cache: inside the ignored build/ folder.
export SNN_RRAM_BUILD_DIR := $(CURDIR)/build
export MPLCONFIGDIR       := $(CURDIR)/build/matplotlib
export MPLBACKEND         := Agg

.PHONY: setup system-deps test test-oldest lint demo bench study-pcsa study-ternary-snn study-distortion clean

setup: $(VENV)/.installed system-deps

# A virtual environment in $(1) with Python $(2) and the project installed editable with its
# test extras. torch is installed pinned before the extras: on Python 3.11 a CPU wheel of 2.13.0
# is provided here; for Python >= 3.13 the package index has only the CUDA build (2.14.1, about
# 5 GB with its nvidia packages, a minute to install), which runs on the CPU as well.
define make-venv
	@$(2) -c 'import sys; assert sys.version_info >= (3, 11), "snn-rram needs Python >= 3.11"'
	@$(2) -c 'import sys; print(f"creating $(1) with Python {sys.version.split()[0]} ({sys.executable})")'
	$(2) -m venv $(1)
	$(1)/bin/pip install --quiet --upgrade pip
	$(1)/bin/pip install --quiet "torch==2.13.0; python_version < '3.13'" "torch==2.14.1; python_version >= '3.13'"
	$(1)/bin/pip install --quiet -e ".[dev,torch,onnx,sweep]"
	@$(1)/bin/python -c 'import brian2, numpy; print(f"$(1): brian2 {brian2.__version__}, numpy {numpy.__version__}")'
	touch $(1)/.installed
endef

$(VENV)/.installed: setup.cfg pyproject.toml
	$(call make-venv,$(VENV),$(PYTHON))

$(VENV_OLDEST)/.installed: setup.cfg pyproject.toml
	$(call make-venv,$(VENV_OLDEST),$(PYTHON_OLDEST))

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
	@if [ "$$($(PYTHON_OLDEST) -c 'import sys; print(sys.version_info[:2])')" = \
	      "$$($(BIN)/python -c 'import sys; print(sys.version_info[:2])')" ]; then \
	  echo "test-oldest: the oldest Python found is the one of $(VENV); nothing more to run"; \
	else $(MAKE) test-oldest; fi

# The oldest supported Python (and the Brian2 it gets): the Brian2 internals the core reads and
# the numpy-target simulations, no standalone builds (the full suite runs on the newest Python).
test-oldest: system-deps $(VENV_OLDEST)/.installed
	$(VENV_OLDEST)/bin/pytest -q -m "not standalone and not slow" tests/snn tests/crossbar tests/devices

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

# Papers 1 x 2: distortion-aware fine-tuning (one network per R_N) + linear_pair vs qwsm and
# calibration; the report checks the target (~30 min on two cores)
study-distortion: setup
	$(BIN)/python studies/distortion_study.py --out results/distortion_study/networks
	$(BIN)/snn-rram sweep models/experiments/distortion_study.toml
	$(BIN)/snn-rram report results/distortion_study

# Paper 2 (analog): the float MLP and the networks reconstructed (device-aware) for sinh_mild and
# sinh_strong at every V_read, and for sinh_mild at 3 and 4 V (the widened range); hidden layers
# started at 0.2 of full scale, 15 epochs, distillation 0.7 from the float network. Then the sweep
# reads them in analog mode (the conventional network with nominal and calibrated gains, each
# reconstructed one exactly as trained) and the report checks the target (~45 min on two shared
# cores)
.PHONY: study-paper2 study-paper2-fashion study-paper2-lenet
study-paper2: setup
	$(BIN)/python studies/paper2_analog_study.py --out results/paper2_analog_study \
		--networks mlp --init-level 0.2 --epochs 15 --distill 0.7
	$(BIN)/python studies/paper2_analog_study.py --out results/paper2_analog_study/wide \
		--networks mlp --init-level 0.2 --epochs 15 --distill 0.7 --devices sinh_mild \
		--v-read 3.0 4.0
	$(BIN)/snn-rram sweep models/experiments/paper2_study.toml
	$(BIN)/snn-rram report results/paper2_study

# The same on Fashion-MNIST (full), reconstructed networks for sinh_strong at 1, 1.5 and 2 V
# (5 epochs on 60,000 images; ~45 min on two shared cores)
study-paper2-fashion: setup
	$(BIN)/python studies/paper2_analog_study.py --out results/paper2_analog_fashion \
		--datasets fashion_mnist --networks mlp --init-level 0.2 --epochs 5 --distill 0.7 \
		--devices sinh_strong --train-v-read 1.0 1.5 2.0
	$(BIN)/snn-rram sweep models/experiments/paper2_fashion_study.toml
	$(BIN)/snn-rram report results/paper2_fashion_study

# LeNet-5 (script only: its own table, report and figure), with the float-on-bent-inputs
# diagnostic (~1 h on two shared cores)
study-paper2-lenet: setup
	$(BIN)/python studies/paper2_analog_study.py --out results/paper2_analog_lenet \
		--networks lenet --init-level 0.2 --bent

# Paper 2 (analog): accuracy vs the conductance window for a G-dependent cubic I–V (more
# nonlinear at low G), conventional vs reconstructed MLP 784-256-10 on mnist_5k at 2 V
.PHONY: study-paper2-range
study-paper2-range: setup
	$(BIN)/python studies/paper2_range_study.py --out results/paper2_range_study

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache

# Paper 3: device sweeps of training on the array (states per device, γ, LTP/LTD nonlinearity,
# c2c noise), single vs hybrid by phase vs float, 784-100-10 on mnist_5k, 5 epochs, one seed
# (writes results/on_array_sweeps/sweeps.csv and sweeps.png; ~10 min on two shared cores)
.PHONY: study-on-array
study-on-array: setup
	$(BIN)/python studies/on_array_sweeps.py --out results/on_array_sweeps

# Paper 3: final test accuracy of training on the array, five seeds per configuration (float,
# single, hybrid by phase and by magnitude, hybrid_carry; state-aware stochastic counts),
# 784-100-10 on mnist_5k, 5 epochs, 50 states; then the report checks the target (best hybrid
# within 0.5 pp of float) and states what single loses and carry costs (~25 min on two shared
# cores; --resume keeps the runs already on disk)
.PHONY: study-on-array-accuracy
study-on-array-accuracy: setup
	$(BIN)/python studies/on_array_accuracy.py --dataset mnist_5k --seeds 0 1 2 3 4 \
		--only float single hybrid_phase hybrid_magnitude hybrid_carry \
		--schemes potentiate/state_aware/stochastic --out results/on_array_accuracy --resume
	$(BIN)/snn-rram report results/on_array_accuracy
