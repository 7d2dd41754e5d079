# make run: a local trial node at http://localhost:8080 on an embedded PostgreSQL
#   (`make run PORT=8090` for another port; without PORT, COMMONSFED_PORT is honoured)
# make demo: three federated neighbourhoods at http://localhost:8081-8083, filled with
#   examples (`make demo FRESH=1` makes them anew; their data is in ./demo-data)
# make test: the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run demo test install lint bench clean

# pip shows the build's warnings even when quiet; setuptools adds a notice to every editable
# install ("Editable installation ... be careful with folders"), which asks nothing of us
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet

# one line per step
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "commonsfed needs Python 3.11 or newer")'
	@test -x $(BIN)/python || { echo "venv   $(VENV)"; $(PYTHON) -m venv $(VENV) 2>/dev/null || \
		{ rm -rf $(VENV); $(PYTHON) -m venv --without-pip $(VENV) && $(PYTHON) deploy/bootstrap_pip.py $(BIN)/python; }; }
	@echo "pip    pip"
	@$(PIP) --upgrade pip
	@echo "pip    commonsfed (editable) and its test tools"
	@$(PIP) -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# PORT only from make's command line (a PORT in the environment often belongs to something
# else); without it commonsfed reads COMMONSFED_PORT itself, else uses 8080
run: $(STAMP)
	$(BIN)/commonsfed serve --dev --host 127.0.0.1$(if $(filter command line,$(origin PORT)), --port $(PORT))

demo: $(STAMP)
	$(BIN)/commonsfed demo$(if $(FRESH), --fresh)

# in parallel, one pytest-xdist worker (each with its own PostgreSQL) per core, at most 8;
# `make test JOBS=0` runs serially, `JOBS=4` uses four workers
test: $(STAMP)
	$(BIN)/python -m pytest -n $(or $(JOBS),auto) --maxprocesses 8 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check commonsfed tests bench

bench: $(STAMP)
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/delivery.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
