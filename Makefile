# The two commands of the README. Both work on a fresh Debian 12 machine as root.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/eopf-geozarr-target
export PATH := $(HOME)/.cargo/bin:$(PATH)
VENV ?= $(HOME)/.cache/eopf-geozarr-venv

.PHONY: run test setup setup-test build lint bench

setup:
	@bash scripts/setup.sh build

setup-test:
	@bash scripts/setup.sh test

build: setup
	cargo build

## make run: build and start the app on the built-in demo product (headless without a display).
run: build
	@mkdir -p out
	cargo run --quiet -- gui --png out/demo-true-colour.png

## make test: install what the tests need when missing, then run the whole test suite.
test: setup-test
	@bash scripts/test.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

bench:
	cargo bench
