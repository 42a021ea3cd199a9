# twopoint: `make run` runs the default config, `make test` runs the test suite.
# Both install what they need into the current Python (set PY to use another interpreter).
PY ?= python3

.PHONY: install run test test-slow bench gpu-check

install:
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "torch==2.13.0"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"

run: install
	$(PY) -m twopoint

test: install
	$(PY) -m pytest

test-slow: install
	$(PY) -m pytest -m slow

bench: install
	$(PY) benchmarks/bench_online_theory.py
	$(PY) benchmarks/bench_finite_theory.py
	$(PY) benchmarks/bench_simulator.py
	$(PY) benchmarks/bench_rf_theory.py
	$(PY) benchmarks/bench_rf_simulator.py
	$(PY) benchmarks/bench_schedule_theory.py

# On a CUDA machine, one command: the GPU tests, then the simulator benchmarks on the GPU.
gpu-check: install
	$(PY) -m pytest -m gpu -q
	$(PY) benchmarks/bench_simulator.py --device cuda --dtype float32
	$(PY) benchmarks/bench_rf_simulator.py --device cuda
