# The README's commands. Each sets up what it needs from the repo's own files.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench cost wipe package policy deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

## run: start the whole backend locally (AWS stand-in + chalice local on 127.0.0.1:8000)
run: $(STAMP)
	$(BIN)/python -m local_backend.run

## test: lint, type-check and run every test
test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## bench: print the benchmark figures and write bench/results.json (QUICK=1: small sizes)
bench: $(STAMP)
	BENCH_QUICK=$(QUICK) $(BIN)/python -m bench.run

## cost: dollars per 1,000 daily players per month, from a session played on the stand-in
cost: $(STAMP)
	$(BIN)/python -m bench.cost

## package: CloudFormation artefacts in build/package (merge template from the data definition)
package: $(STAMP)
	$(BIN)/python -m tools.cfn --stage prod --app-dir . --out build/merge.json
	$(BIN)/chalice package --stage prod --merge-template build/merge.json build/package

## policy: rewrite the prod stage's IAM policy from the data definition
policy: $(STAMP)
	$(BIN)/python -m tools.iam --stage prod

## deploy: provision AWS (idempotent), rewrite the policy, then chalice deploy
deploy: $(STAMP)
	$(BIN)/python -m tools.provision --stage prod
	$(BIN)/python -m tools.iam --stage prod
	$(BIN)/chalice deploy --stage prod

## wipe: forget all local data (accounts, tables, saves)
wipe:
	rm -rf .local

clean:
	rm -rf $(VENV) .local build .pytest_cache .mypy_cache .ruff_cache
