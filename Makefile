# Two commands on a fresh clone:  `make book` (build the site)  and  `make test` (test everything).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# TORCH=1 also installs torch (CPU) so the tests compare optlib with torch.optim; CI sets it.
TORCH  ?= 0
# one stamp per TORCH value, so `make test TORCH=1` after `make test` still installs torch
TEST_DEPS := $(VENV)/.test-deps-torch$(TORCH)
# Exact versions of everything the book and the tests install (`make lock` writes it): make, Binder and CI
# all install from it, so a fresh clone next month gets the environment the stored outputs came from.
LOCK   := book/requirements.lock
PIP_INSTALL = $(BIN)/pip install --quiet --disable-pip-version-check -c $(LOCK)
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg
HTML   := _build/html
# One BLAS thread: the notebooks' small matrix products are slower, and their timings erratic, with more.
OPENBLAS_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS

.PHONY: help book test test-unit test-notebooks test-build test-site lab outputs bench vendor lock clean

help:
	@echo "make book      build the website into $(HTML) (creates $(VENV) on first use)"
	@echo "make test      optlib's tests, nbval over the chapters, the book build with -W, the browser test"
	@echo "make lab       Jupyter Lab on the chapters"
	@echo "make outputs   re-execute every notebook in place (refresh the stored outputs)"
	@echo "make bench     optimizer step and notebook timings (writes benchmarks/results.md, notebooks.md)"
	@echo "make lock      pin the newest versions the requirements allow into $(LOCK)"

# --- environments: rebuilt when a requirements file changes -------------------------------------------
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"the locked environment ($(LOCK)) needs Python 3.11 or newer; run make PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.book-deps: requirements.txt pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	@touch $@

$(TEST_DEPS): tests/requirements.txt tests/requirements-torch.txt $(VENV)/.book-deps
	$(PIP_INSTALL) -r tests/requirements.txt
	@if [ "$(TORCH)" = "1" ]; then $(PIP_INSTALL) -r tests/requirements-torch.txt; fi
	@touch $@

# A fresh venv with the newest versions the requirements' ranges allow, frozen into $(LOCK). Run it after
# changing a requirements file (tests/test_lock.py fails until the lock agrees), then `make outputs`.
# Run it with the oldest Python the book supports (`make lock PYTHON=/usr/bin/python3`: 3.11.2 on Debian 12):
# some releases need a newer 3.11.x, and the lock must install on every Python the README promises.
LOCK_ENV := _build/lock-env
lock:
	rm -rf $(LOCK_ENV)
	$(PYTHON) -m venv $(LOCK_ENV)
	$(LOCK_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_ENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt \
		-r tests/requirements.txt -r tests/requirements-torch.txt
	{ echo "# Exact versions of every package the book and its tests install, made by \`make lock\`"; \
	  echo "# ($$($(LOCK_ENV)/bin/python -V), $$(uname -m)). Used as pip constraints (-c) by make, .binder/ and CI."; \
	  $(LOCK_ENV)/bin/pip freeze --exclude-editable --disable-pip-version-check; } > $(LOCK)
	rm -rf $(LOCK_ENV)
	@echo "wrote $(LOCK): $$(grep -c '==' $(LOCK)) pinned packages"

# --- the book -----------------------------------------------------------------------------------------
# MathJax, RequireJS and the widget manager from the npm registry into _vendor/ (served by the site itself)
vendor: $(VENV)/.book-deps
	@$(BIN)/python book/vendor.py

# (repeats vendor.py's warning after the long build log, if the pages load from CDNs)
CDN_WARNING = @grep -qs '"mode": "cdn"' _vendor/site/vendor/manifest.json && \
	echo "WARNING: could not vendor MathJax/widgets: pages will load them from CDNs (see make vendor)" >&2 || true

book: $(VENV)/.book-deps vendor
	$(BIN)/jupyter-book build . --all
	$(CDN_WARNING)
	@echo "Open $(CURDIR)/$(HTML)/index.html"

# --- tests --------------------------------------------------------------------------------------------
test: test-unit test-notebooks test-build test-site

test-unit: $(TEST_DEPS)
	$(BIN)/python -m pytest tests -q --ignore=tests/site

test-notebooks: $(TEST_DEPS)
	$(BIN)/python -m pytest $(NBVAL) chapters -q --durations=0

test-build: $(TEST_DEPS) vendor
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	$(CDN_WARNING)

# every page of $(HTML) in headless Chromium (built by test-build); screenshots in test-artifacts/
test-site: $(TEST_DEPS)
	$(BIN)/python -m pytest tests/site -q --durations=5

# --- working on the book ------------------------------------------------------------------------------
lab: $(VENV)/.book-deps
	$(BIN)/jupyter lab chapters

outputs: $(VENV)/.book-deps
	$(BIN)/jupyter execute --inplace chapters/*.ipynb

bench: $(TEST_DEPS)
	$(BIN)/python benchmarks/bench_optimizers.py
	$(BIN)/python benchmarks/bench_notebooks.py

clean:
	rm -rf _build _vendor
