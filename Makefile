# sergen: the commands users type. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.sergen-installed
MODEL ?= melspec
CORPUS ?= all
DEMO_DIR ?= demo
DEMO_SCALE ?= 1

.PHONY: help install test demo extract bench soak clean gpu-kit

help:
	@echo "make install            create $(VENV) and install sergen (TORCH=$(TORCH))"
	@echo "make test               run the test suite (installs first if needed)"
	@echo "make demo               synthesise demo corpora, extract, run the grid, write the report"
	@echo "make extract MODEL=m    extract MODEL (default melspec) for CORPUS (default all);"
	@echo "                        optional WEIGHTS=path LAYERS=6,12 (wavlm) HOP=1.0 (clap) DEVICE=cuda"
	@echo "                        OPT=\"key=value ...\" (any model option: sergen models ls lists them)"
	@echo "make bench              benchmarks, written to bench/results.md, bench/ablation.md, bench/cpu_profile.md"
	@echo "                        bench/demo_profile.md (make demo by stage), bench/extract_profile.md (extraction"
	@echo "                        vs a plain loop), bench/frame_stream.md (frame stream vs sequence-head steps) and"
	@echo "                        bench/feed_ceiling.md (stage profile, threads vs processes, a WavLM-Large-shaped stand-in)"
	@echo "make soak               kill extraction at random moments 20 times; check nothing is lost"
	@echo "make gpu-kit            wheels the GPU machine lacks, into .whl/ (for bench/gpu_session.sh)"

install: $(STAMP)

# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build. sergen's bytecode compiled at the end:
# an editable install compiles none, and with PYTHONDONTWRITEBYTECODE set every command would compile its ~90
# modules again (~0.1 s a start), a cost an installed wheel never pays.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m compileall -q sergen
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q tests

# the demo is a workspace of its own ($(DEMO_DIR)/): it reads and writes nothing outside it
demo: $(STAMP)
	$(BIN)/sergen demo --out $(DEMO_DIR) --scale $(DEMO_SCALE)

extract: $(STAMP)
	$(BIN)/sergen extract --model $(MODEL) --corpus $(CORPUS) $(if $(WEIGHTS),--weights $(WEIGHTS)) \
		$(if $(LAYERS),--layers $(LAYERS)) $(if $(HOP),--hop-seconds $(HOP)) $(if $(DEVICE),--device $(DEVICE)) \
		$(foreach o,$(OPT),--opt $(o))

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/ablation.py
	$(BIN)/python bench/cpu_profile.py
	$(BIN)/python bench/demo_profile.py
	$(BIN)/python bench/loop_baseline.py
	$(BIN)/python bench/frame_stream.py
	$(BIN)/python bench/feed_ceiling.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

# wheels for the GPU machine (Python 3.12, no package index there): carried by bench/gpu_session.sh's call
gpu-kit:
	rm -rf .whl && $(PYTHON) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl -r bench/device_wheels.txt

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
