# The two commands of the README. Both set up whatever is missing first.
.PHONY: run test setup setup-test lint bench

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
