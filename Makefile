# Everything a new user needs: `make preview` and `make test` create the virtualenv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: preview test lint typecheck unit generate audit lock clean benchmark benchmark-setup venv demo

# Python writes the byte code of what it imports the first time it runs, into __pycache__ folders
# (ignored by git) in .venv and the work tree, and reads it back on every later run; nothing is
# compiled at install (most of pulumi-azure-native is never imported). Where
# PYTHONDONTWRITEBYTECODE is set (CI machines here) every run would compile everything again.
unexport PYTHONDONTWRITEBYTECODE

# The installer: uv, hash-pinned in requirements-bootstrap.txt and installed into the venv by pip;
# it installs the same hash-pinned set with --require-hashes, about ten times faster than pip.
# `make INSTALLER=pip ...` uses pip alone (a platform without a uv wheel).
INSTALLER ?= uv

# The virtualenv gets no pip of its own when uv installs (uv needs none): installing pip into it
# and byte-compiling pip was 4 of a fresh set-up's seconds. uv itself is installed by the venv's
# pip if it has one, else by the pip wheel that Python bundles for ensurepip, run from the wheel
# (python pip-*.whl/pip), else by a pip that ensurepip puts into the venv.
PIP = wheel=$$($(PY) -c 'import ensurepip, pathlib; \
	print(next(pathlib.Path(ensurepip.__file__).parent.glob("_bundled/pip-*.whl"), ""))'); \
	if $(PY) -m pip --version >/dev/null 2>&1; then pip="$(PY) -m pip"; \
	elif [ -n "$$wheel" ]; then pip="$(PY) $$wheel/pip"; \
	else $(PY) -m ensurepip --default-pip >/dev/null && pip="$(PY) -m pip"; fi; $$pip
# pip in the venv, for the pip installer and `make lock` (a venv made for uv has none).
ENSURE_PIP = $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --default-pip >/dev/null

# The hash-pinned dependencies, then the project's own package (the `partner-apps` command with
# components and policies), editable, built by the pinned setuptools of requirements-dev.txt
# installed just before: nothing else is downloaded.
$(STAMP): requirements.txt requirements-dev.txt requirements-bootstrap.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(f"Python >= 3.11 is needed; $(PYTHON) is {sys.version.split()[0]} (make PYTHON=python3.12 ...)") if sys.version_info < (3, 11) else None'
ifeq ($(INSTALLER),uv)
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements-bootstrap.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --require-hashes --no-deps \
		-r requirements.txt -r requirements-dev.txt
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps --no-build-isolation \
		--no-index -e .
else
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(ENSURE_PIP)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		--no-compile -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		--no-index -e .
endif
	touch $(STAMP)

## The virtualenv the Pulumi CLI runs the program in (Pulumi.yaml: `virtualenv: .venv`), instead of
## `pulumi install`: Pulumi's pip toolchain upgrades pip, setuptools and wheel from the package index
## without hashes before it installs requirements.txt. This is the hash-pinned set `make preview`
## uses, plus the pip wheel bundled with Python (ensurepip: nothing downloaded), since the CLI lists
## the venv's packages with `python -m pip list` to find the provider plugins. Pulumi creates and
## fills a virtualenv only when the folder is missing or empty: it uses this one as it is.
venv: $(STAMP)
	$(ENSURE_PIP)

## The customer side end to end against a sandbox of Microsoft's cloud on 127.0.0.1 (no Azure).
demo: $(STAMP)
	$(PY) -m partner_apps.sandbox.demo

## Offline preview of every region stack (no Pulumi CLI, no cloud).
preview: $(STAMP)
	$(PY) -m partner_apps.preview

## ruff, mypy and pytest: what CI runs. The three run side by side (mypy is one process on one
## core while pytest waits on its loopback servers and subprocesses; warm 2 s less, cold mypy
## about 10 s less), each one's output kept together; any failure fails `make test`, and a lint
## or type error found first stops it before the tests.
test: $(STAMP)
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck unit

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

# The tests run on every core (pytest-xdist): each works in its own tmp_path and none depends on
# another having run (docs/benchmark.md, "Fresh set-up", says how that was checked). One worker a
# core: a worker more (3 on 2 cores) was 0.87 of the time, but the loopback clouds' 2 s client
# timeouts in tests/customers then fired on a loaded machine. Idle workers take tests from busy
# ones (--dist worksteal: 0.93 of the default's time, paired). TEST_WORKERS=0: one process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(os.cpu_count() or 1)')
unit: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

## Scale benchmark: offline preview against bare registration (see docs/benchmark.md).
benchmark: $(STAMP)
	$(PY) -m dev.benchmark

## Set-up benchmark: venv, install, first preview, lint, mypy, pytest in fresh clones of HEAD with
## empty package caches, median of 3 (docs/benchmark.md). Runs with the machine's Python.
benchmark-setup:
	$(PYTHON) -m dev.benchmark_setup --python $(PYTHON)

## Regenerate committed artifacts (JSON Schemas, permission catalog JSON, policy catalog).
generate: $(STAMP)
	$(PY) -m dev.generate

## Re-pin dependencies with hashes after editing a requirements*.in file. pip-tools (and pip,
## setuptools and wheel with it) comes from requirements-lock.txt, hash-pinned like everything else
## the Makefile installs; it is re-pinned last, by the pip-tools it pins.
lock: $(STAMP)
	$(ENSURE_PIP)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements-lock.txt
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements-dev.txt requirements-dev.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements-bootstrap.txt requirements-bootstrap.in
	cd policies && ../$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url \
		--no-emit-find-links --allow-unsafe --strip-extras -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements-lock.txt requirements-lock.in

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
