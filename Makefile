# The two commands of the README. Both set up whatever is missing first.
.PHONY: run test setup setup-test lint bench cluster-up cluster-down

run: setup
	.venv/bin/teezu serve --demo

test: setup-test
	.venv/bin/python -m pytest

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

lint: setup-test
	.venv/bin/ruff check .

bench: setup-test
	.venv/bin/python loadtests/bench_transcode.py

# The cluster on this machine (docs/cluster.md): nginx, 2 API, 2 ingest, 1 worker, Redis,
# PostgreSQL. The test setup installs nginx.
cluster-up: setup-test
	.venv/bin/teezu cluster up

cluster-down:
	.venv/bin/teezu cluster down
