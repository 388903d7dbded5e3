# The README's commands. Each sets up what it needs from the repo's own files.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint load bench cost wipe package policy deploy outputs destroy chalice-deploy clean

STAGE ?= prod
# checkov has its own environment: its dependencies clash with the project's pins.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# game.json checked by its schema, and the check recorded (see chalicelib/game_config):
# an invalid config stops here with the schema's message; a checked one ships in the
# package and loads without pydantic.
CHECKED := chalicelib/game_config/game.json.checked
$(CHECKED): chalicelib/game_config/game.json chalicelib/game_config/schema.py $(STAMP)
	$(BIN)/python -m chalicelib.game_config

$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

## run: start the whole backend locally (AWS stand-in + chalice local on 127.0.0.1:8000)
##      make run PORT=8100 AWS_PORT=4600 WS_PORT=8101 HOST=127.0.0.1 STATE_DIR=.local VERBOSE=1
RUN_FLAGS = $(if $(PORT),--port $(PORT)) $(if $(AWS_PORT),--aws-port $(AWS_PORT)) $(if $(HOST),--host $(HOST)) \
	$(if $(STATE_DIR),--state-dir $(STATE_DIR)) $(if $(VERBOSE),--verbose) $(if $(WS_PORT),--ws-port $(WS_PORT))
run: $(STAMP) $(CHECKED)
	$(BIN)/python -m local_backend.run $(RUN_FLAGS)

## test: lint, type-check and run every test (TEST_WORKERS=auto: one pytest-xdist worker per
##       CPU, each with its own stand-in; TEST_WORKERS=0 runs in one process); prints the
##       time of each layer before pytest's closing line. Files keep the collection order
##       (tests/conftest.py puts the Unity client first and schemathesis last on its worker)
TEST_WORKERS ?= auto
test: $(STAMP) $(CHECKOV_STAMP) $(CHECKED)
	@start=$$(date +%s); $(MAKE) --no-print-directory lint || exit $$?; \
	export LINT_SECONDS=$$(( $$(date +%s) - start )); \
	$(BIN)/python -m pytest -q $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## load: a bounded mixed load (make load PLAYERS=30 SECONDS=60 [BASE_URL=http://127.0.0.1:8000]);
##       starts its own backend unless BASE_URL names one; results in build/load/
load: $(STAMP) $(CHECKED)
	$(BIN)/python -m local_backend.load $(if $(PLAYERS),--players $(PLAYERS)) $(if $(SECONDS),--seconds $(SECONDS)) \
		$(if $(BASE_URL),--base-url $(BASE_URL))

## bench: print the benchmark figures and write bench/results.json (QUICK=1: small sizes)
bench: $(STAMP) $(CHECKED)
	BENCH_QUICK=$(QUICK) $(BIN)/python -m bench.run

## cost: dollars per 1,000 daily players per month, from a session played on the stand-in
cost: $(STAMP) $(CHECKED)
	$(BIN)/python -m bench.cost

## package: the stage's CloudFormation template and code in build/package (no AWS call, no region needed)
package: $(STAMP) $(CHECKED)
	$(BIN)/python -m tools.cfn --stage $(STAGE) --out build/package

## policy: print the functions' IAM policy as the stack attaches it (names from the definitions)
policy: $(STAMP)
	$(BIN)/python -m tools.iam --stage $(STAGE)

## deploy: create or update the stage's stack in the account and region of your AWS credentials
deploy: $(STAMP) $(CHECKED)
	$(BIN)/python -m tools.deploy deploy --stage $(STAGE)

## outputs: print the deployed stage's API URL, user pool id and app client id
outputs: $(STAMP)
	$(BIN)/python -m tools.deploy outputs --stage $(STAGE)

## destroy: delete the stage's stack; player data (tables, bucket, pool) is kept unless DELETE_DATA=yes
destroy: $(STAMP)
	$(BIN)/python -m tools.deploy destroy --stage $(STAGE) $(if $(filter yes,$(DELETE_DATA)),--delete-data --yes)

## chalice-deploy: a development stage the Chalice way (data stack + chalice deploy), STAGE=dev
chalice-deploy: $(STAMP) $(CHECKED)
	$(BIN)/python -m tools.deploy chalice --stage $(STAGE)

## wipe: forget all local data (accounts, tables, saves)
wipe:
	rm -rf .local

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .local build .pytest_cache .mypy_cache .ruff_cache $(CHECKED)
