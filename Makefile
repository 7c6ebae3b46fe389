# Everything a new user needs: `make preview` and `make test` create the virtualenv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: preview test lint typecheck unit generate audit lock clean benchmark

# The hash-pinned dependencies, then the project's own package (the `partner-apps` command),
# editable, built by the pinned flit_core installed just before: nothing else is downloaded.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(f"Python >= 3.11 is needed; $(PYTHON) is {sys.version.split()[0]} (make PYTHON=python3.12 ...)") if sys.version_info < (3, 11) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
		--no-index -e .
	touch $(STAMP)

## Offline preview of every region stack (no Pulumi CLI, no cloud).
preview: $(STAMP)
	$(PY) -m tools.preview

## ruff, mypy and pytest: what CI runs.
test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest

## Scale benchmark: offline preview against bare registration (see docs/benchmark.md).
benchmark: $(STAMP)
	$(PY) -m tools.benchmark

## Regenerate committed artifacts (JSON Schemas, permission catalog JSON, policy catalog).
generate: $(STAMP)
	$(PY) -m tools.generate

## Re-pin dependencies with hashes after editing a requirements*.in file.
lock: $(STAMP)
	$(PY) -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url --no-emit-find-links \
		--allow-unsafe --strip-extras -o requirements-dev.txt requirements-dev.in
	cd policies && ../$(VENV)/bin/pip-compile --quiet --generate-hashes --no-emit-index-url \
		--no-emit-find-links --allow-unsafe --strip-extras -o requirements.txt requirements.in

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
