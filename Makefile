# make run: a local trial node at http://localhost:8080 on an embedded PostgreSQL
#   (`make run PORT=8090` for another port; without PORT, COMMONSFED_PORT is honoured)
# make demo: three federated neighbourhoods at http://localhost:8081-8083, filled with
#   examples (`make demo FRESH=1` makes them anew; their data is in ./demo-data)
# make test: the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run demo test install lint bench clean vendor-leaflet vendor-axe catalogs messages

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
	@$(BIN)/python -m commonsfed.i18n
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

# the French catalog compiled again when a translator changed it since the install
CATALOGS := $(patsubst %.po,%.mo,$(wildcard commonsfed/locale/*/LC_MESSAGES/*.po))
$(CATALOGS): %.mo: %.po $(STAMP)
	@$(BIN)/python -m commonsfed.i18n
catalogs: $(CATALOGS)

# after changing strings: extract them into messages.pot and merge it into each .po (then
# translate what is new or marked fuzzy; tests/unit/test_translations.py lists what is missing)
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F commonsfed/locale/babel.cfg -k gettext_noop -k translate:2 \
		--no-location --sort-output \
		-o commonsfed/locale/messages.pot .
	$(BIN)/pybabel -q update -i commonsfed/locale/messages.pot -d commonsfed/locale \
		--ignore-obsolete --no-fuzzy-matching --width 100

# PORT only from make's command line (a PORT in the environment often belongs to something
# else); without it commonsfed reads COMMONSFED_PORT itself, else uses 8080
run: $(STAMP) $(CATALOGS)
	$(BIN)/commonsfed serve --dev --host 127.0.0.1$(if $(filter command line,$(origin PORT)), --port $(PORT))

demo: $(STAMP) $(CATALOGS)
	$(BIN)/commonsfed demo$(if $(FRESH), --fresh)

# in parallel, one pytest-xdist worker (each with its own PostgreSQL) per core, at most 8;
# `make test JOBS=0` runs serially, `JOBS=4` uses four workers
test: $(STAMP) $(CATALOGS)
	$(BIN)/python -m pytest -n $(or $(JOBS),auto) --maxprocesses 8 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check commonsfed tests bench

bench: $(STAMP)
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/delivery.py
	$(BIN)/python bench/fanout.py

# Leaflet from npm at its pinned version, into commonsfed/web/static/vendor/leaflet/ (committed)
# Leaflet from npm at a pinned version, its dist files and licence copied where the node
# serves them (a visitor's browser never asks a CDN for the map's code); commit what it writes
LEAFLET := 1.9.4
LEAFLET_DIR := commonsfed/web/static/vendor/leaflet
vendor-leaflet:
	rm -rf $(LEAFLET_DIR) .leaflet-pack && mkdir -p $(LEAFLET_DIR)/images .leaflet-pack
	cd .leaflet-pack && npm pack --silent leaflet@$(LEAFLET) >/dev/null && tar -xzf leaflet-$(LEAFLET).tgz
	cp .leaflet-pack/package/dist/leaflet.js .leaflet-pack/package/dist/leaflet.css $(LEAFLET_DIR)/
	cp .leaflet-pack/package/dist/images/*.png $(LEAFLET_DIR)/images/
	cp .leaflet-pack/package/LICENSE $(LEAFLET_DIR)/LICENSE
	echo $(LEAFLET) > $(LEAFLET_DIR)/VERSION
	rm -rf .leaflet-pack

# axe-core from npm at a pinned version, for the accessibility walks of the browser tests
# (tests/browser/test_accessibility_walk.py injects it into each page); committed, so the
# test suite needs neither npm nor the network
AXE := 4.14.1
AXE_DIR := tests/browser/vendor/axe
vendor-axe:
	rm -rf $(AXE_DIR) .axe-pack && mkdir -p $(AXE_DIR) .axe-pack
	cd .axe-pack && npm pack --silent axe-core@$(AXE) >/dev/null && tar -xzf axe-core-$(AXE).tgz
	cp .axe-pack/package/axe.min.js $(AXE_DIR)/
	cp .axe-pack/package/LICENSE $(AXE_DIR)/LICENSE
	echo $(AXE) > $(AXE_DIR)/VERSION
	rm -rf .axe-pack

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
