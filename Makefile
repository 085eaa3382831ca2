# K5: set-up, firmware, demo and tests. The two commands for a fresh machine:
#   make demo   sets everything up, boots the emulated board and runs the demo app
#   make test   sets everything up and runs every test tier
#
# K5_CACHE (default ~/.cache/k5) holds MicroPython's source and host builds; K5_MICROPYTHON
# points at an existing MicroPython v1.25.0 tree instead.

K5_CACHE ?= $(HOME)/.cache/k5
export K5_CACHE K5_MICROPYTHON
VENV := .venv
PYTHON := $(VENV)/bin/python
PORT := ports/stm32l5
BOARDS := MPS2_AN505 NUCLEO_L552ZE_Q
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=

.PHONY: all deps firmware demo test lint size bench verify mutate clean

all: firmware

deps:
	@bash tools/deps.sh

firmware: deps
	@for board in $(BOARDS); do \
		echo "firmware: building $$board"; \
		$(MAKE) -s --no-print-directory -C $(PORT) BOARD=$$board -j$(JOBS) >/dev/null || exit 1; \
	done
	@$(PYTHON) -m tools.k5cli size

demo: firmware
	@echo "demo: booting the emulated board (QEMU mps2-an505), running tasks/hello.py and tasks/demo.py (real K5 tasks)"
	@$(PYTHON) -m tools.k5cli run tasks/hello.py tasks/demo.py
	@echo
	@echo "To flash a NUCLEO-L552ZE-Q with the product image, either:"
	@$(PYTHON) -m tools.k5cli flash --method dfu --dry-run | sed 's/^/  /'
	@echo "  or, through the ST-LINK (needs ST's Keil.STM32L5xx_DFP pack for pyocd):"
	@$(PYTHON) -m tools.k5cli flash --method pyocd --pack Keil.STM32L5xx_DFP.pack --dry-run | sed 's/^/  /'

lint: deps
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

test: firmware lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

size: firmware

bench: firmware
	@$(PYTHON) -m tools.bench

# Model checking of the real k5/ code (docs/verify.md): at least 10^6 distinct states, one
# system per core. `make test` runs a bounded configuration (tests/verify/test_verify.py).
VERIFY_ARGS ?= --depth 40 --max-states 300000 --min-states 1000000
verify: deps
	$(PYTHON) -m tools.verify explore --jobs $(JOBS) $(VERIFY_ARGS)

# Mutation testing of k5/ with mutmut, the explorer and the kernel tests as the oracle.
# Every mutant takes about a day; MUTATE_ARGS="--sample 10" a stratified sample, hours;
# MUTATE_ARGS=--board the mutants of board-only code, built and run on QEMU (10 minutes).
mutate: deps
	$(PYTHON) -m tools.verify.mutate $(MUTATE_ARGS)

clean:
	@for board in $(BOARDS); do $(MAKE) -s -C $(PORT) BOARD=$$board clean; done
