# The README's commands. Each sets up what it needs from the repo's own files.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint load bench wipe package policy deploy clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

## run: start the whole backend locally (AWS stand-in + chalice local on 127.0.0.1:8000)
##      make run PORT=8100 AWS_PORT=4600 WS_PORT=8101 HOST=127.0.0.1 STATE_DIR=.local VERBOSE=1
RUN_FLAGS = $(if $(PORT),--port $(PORT)) $(if $(AWS_PORT),--aws-port $(AWS_PORT)) $(if $(HOST),--host $(HOST)) \
	$(if $(STATE_DIR),--state-dir $(STATE_DIR)) $(if $(VERBOSE),--verbose) $(if $(WS_PORT),--ws-port $(WS_PORT))
run: $(STAMP)
	$(BIN)/python -m local_backend.run $(RUN_FLAGS)

## test: lint, type-check and run every test
test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## load: a bounded mixed load (make load PLAYERS=30 SECONDS=60 [BASE_URL=http://127.0.0.1:8000]);
##       starts its own backend unless BASE_URL names one; results in build/load/
load: $(STAMP)
	$(BIN)/python -m local_backend.load $(if $(PLAYERS),--players $(PLAYERS)) $(if $(SECONDS),--seconds $(SECONDS)) \
		$(if $(BASE_URL),--base-url $(BASE_URL))

## bench: print the benchmark figures and write bench/results.json
bench: $(STAMP)
	$(BIN)/python -m bench.run

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
