# make demo   publish the sample catalog into public/ (sets everything up first)
# make test   run the test suite (sets everything up first)
# make lint   ruff, mypy and import-linter (the layers of the walk)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test test-slow lint bench clean setup setup-test serve screenshots

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

demo: setup
	$(BIN)/mediafeed check
	$(BIN)/mediafeed publish

serve: setup
	$(BIN)/mediafeed serve

test: setup-test
	$(BIN)/python -m pytest -q

test-slow: setup-test
	MEDIAFEED_KILL_TRIALS=20 $(BIN)/python -m pytest -q tests/integration/test_interrupted_publish.py
	MEDIAFEED_LEASE_ROUNDS=20 $(BIN)/python -m pytest -q tests/integration/test_lease_publishers.py -k two_clones

# The README's screenshots, taken by the browser tests (Chromium) of every page type.
screenshots: setup-test
	MEDIAFEED_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser -k accessible

lint: setup-test
	$(BIN)/ruff check mediafeed tests scripts benchmarks
	$(BIN)/ruff format --check mediafeed tests scripts benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# bench_storage.py runs once per catalog size in BENCH_STORAGE_SIZES; BENCH_STORAGE_ARGS go to each run. By default
# the catalogs and their prepared media are kept in build/bench-storage/ and reused by the next `make bench` (media
# preparation takes about 1 s per episode on 2 cores: hours for 10,000, once). BENCH_SHARDS_ARGS go to bench_shards.py,
# BENCH_IMPORT_ARGS to bench_import.py (e.g. --items 10000), BENCH_PRIVATE_ARGS to bench_private.py (10,000 subscribers
# x 2 private feeds by default; its catalog and media are kept in build/bench-private/), e.g. "--repeat 3".
BENCH_STORAGE_SIZES ?= 1000 10000
BENCH_STORAGE_ARGS ?= --workdir $(CURDIR)/build/bench-storage
bench: setup-test
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_media.py
	for n in $(BENCH_STORAGE_SIZES); do $(BIN)/python benchmarks/bench_storage.py --episodes $$n $(BENCH_STORAGE_ARGS) || exit 1; done
	$(BIN)/python benchmarks/bench_private.py $(BENCH_PRIVATE_ARGS)
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_shards.py $(BENCH_SHARDS_ARGS)
	MEDIAFEED_IMPORT_ALLOW_PRIVATE=1 $(BIN)/python benchmarks/bench_import.py $(BENCH_IMPORT_ARGS)

clean:
	rm -rf build public .pytest_cache .ruff_cache $(VENV) *.egg-info
