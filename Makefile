# The README's two commands: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench notes figures lint mutants mutants-tool clean-cache clean-venv
export NO_MKDOCS_2_WARNING := 1

# (Re)install only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	-$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m scratchnet.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mkdocs build --strict --quiet --site-dir site
	@# Real-data tests skip (with the reason) when MNIST cannot be fetched; the rest never need it.
	-@$(BIN)/scratchnet data fetch mnist >/dev/null && echo "MNIST ready in the cache"
	$(BIN)/python -m pytest tests parity_tests benchmarks --benchmark-disable -q

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-only --benchmark-json=benchmark.json
	$(BIN)/python benchmarks/report.py benchmark.json

# The notes' pictures (notes/figures/): short real runs of the vae, latent3 and linear_mask on
# MNIST (a few minutes on two cores); commit the results only when each stays under 1 MB.
figures: $(STAMP)
	$(BIN)/python -m scratchnet.viz.figures --out notes/figures

notes: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site
	@echo "notes site built in site/ (serve it with: $(BIN)/mkdocs serve)"

# Mutation check (issue 7): every hand-written mutant in mutation/mutants.py must make
# `pytest parity_tests tests` fail; prints the score and exits non-zero below 95 %. Slow (minutes
# per surviving mutant): not part of `make test`.
mutants: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/python mutation/run.py --json mutation-report.json

# mutmut on the Python-level modules named in pyproject.toml's [tool.mutmut] (optim.py, losses.py):
# each of its generated mutants runs the tests that reach the mutated function.
mutants-tool: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

lint: $(STAMP)
	$(BIN)/ruff check .

# Numba's on-disk cache does not notice when a kernel's callee in another file changes:
# clear it after editing scratchnet/kernels/ by hand.
clean-cache:
	find scratchnet torchnet -name '*.nbi' -delete -o -name '*.nbc' -delete

clean-venv:
	rm -rf $(VENV)
