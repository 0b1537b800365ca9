# logstream — `make dev` runs the whole system locally, `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BUILD_DIR ?= build
# Lambda: provided.al2023 on arm64, a static `bootstrap` per function.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'

# The CDK CLI and jsii, quiet and offline.
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# `make test` runs its own stand-ins on other ports than `make dev`, so both can
# run at once without one stopping the other's.
TEST_STANDINS := STANDINS_RUN_DIR=$(CURDIR)/localstack/.run/test DYNAMODB_PORT=4579 FAUXQS_PORT=4586

# The Lambda Runtime Interface Emulator runs the real bootstraps in
# localstack/bootstrap. The module proxy serves it as a pseudo-version: pinned.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE_BIN     := $(CURDIR)/.cache/rie/$(RIE_VERSION)/aws-lambda-rie

.PHONY: help deps build dev dev-check dev-reset test lint test-go test-infra loki rie bench dlq-bench load fairness chaos fuzz console-screenshots synth deploy deploy-localstack clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

deps: localstack/node_modules infra/node_modules ## install npm packages (from lockfiles) and Go modules
	$(GO) mod download
	cd infra && $(GO) mod download

localstack/node_modules: localstack/package-lock.json
	npm ci --prefix localstack --no-audit --no-fund
	@touch $@

infra/node_modules: infra/package-lock.json
	npm ci --prefix infra --no-audit --no-fund
	@touch $@

build: ## cross-compile every function to build/<id>/bootstrap (provided.al2023, arm64)
	$(GO) run ./localstack/cmd/topology functions | while read -r id dir; do \
		echo "build $(BUILD_DIR)/$$id/bootstrap"; \
		$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$id/bootstrap ./functions/$$dir; \
	done

# dev-check comes first: a taken port is said in one line, before npm or Go run.
dev: dev-check localstack/node_modules ## run the whole system locally: stand-ins, functions, HTTP API, a receiver (state kept in localstack/.state)
	@localstack/dev.sh

dev-check:
	@localstack/dev.sh check

dev-reset: ## wipe what make dev keeps between runs (tables, admin key, bridge password)
	@localstack/dev.sh reset

test: lint test-go test-infra ## every test: vet/gofmt, unit + integration + end-to-end (-race), CDK

lint: ## gofmt and go vet, root module and infra
	@files=$$(git ls-files '*.go' 2>/dev/null | grep -v node_modules || true); \
	if [ -z "$$files" ]; then files=$$(find . -name '*.go' -not -path '*/node_modules/*'); fi; \
	bad=$$(gofmt -l $$files); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	cd infra && $(GO) vet ./...

test-go: localstack/node_modules rie ## unit, integration and end-to-end tests against the stand-ins, real Loki and Promtail, the bootstraps under the emulator, with -race
	loki=$$(localstack/loki.sh path) && promtail=$$(localstack/loki.sh path promtail) && \
	LOKI_BIN=$$loki PROMTAIL_BIN=$$promtail RIE_BIN=$(RIE_BIN) $(TEST_STANDINS) localstack/with-standins.sh $(GO) test -race -count=1 -timeout 30m ./...

loki: ## build real Grafana Loki and Promtail from the Go module proxy (cached in .cache/loki; ~10 min the first time)
	localstack/loki.sh path
	localstack/loki.sh path promtail

rie: $(RIE_BIN) ## build the Lambda Runtime Interface Emulator from the Go module proxy (cached in .cache/rie)

$(RIE_BIN):
	GOBIN=$(dir $@) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

test-infra: ## CDK template tests (jsii is not race-safe: no -race here)
	cd infra && $(GO) test -count=1 ./...

bench: ## benchmarks of the hot paths (see docs/performance.md)
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...

dlq-bench: localstack/node_modules ## dead-letter figures on the stand-ins: summary latency by size, redrive events/s (docs/performance.md)
	$(TEST_STANDINS) localstack/with-standins.sh $(GO) test -run '^$$' -bench DeadLetter -benchtime 10x ./shared/deadletter/

load: localstack/node_modules ## bounded load run through the local stack (LOAD_ARGS="-events 50000 -batch 500 -clients 4")
	AWS_LAMBDA_LOG_LEVEL=WARN $(TEST_STANDINS) localstack/with-standins.sh $(GO) run ./localstack/cmd/load $(LOAD_ARGS)

fairness: localstack/node_modules ## issue 11's scenario: a quiet project's lag alone and beside hanging ones, and the delivery function-seconds they cost (~6 min; FAIRNESS_ARGS="-hanging 0,6,50")
	AWS_LAMBDA_LOG_LEVEL=WARN $(TEST_STANDINS) localstack/with-standins.sh $(GO) run ./localstack/cmd/fairness $(FAIRNESS_ARGS)

chaos: localstack/node_modules ## issue 12's fault run: 100k events under a chaos receiver, fixed and redriven; duplicates per 100k without and with a kill -9 (CHAOS_ARGS="-crash none,kill -events 100000")
	AWS_LAMBDA_LOG_LEVEL=WARN $(TEST_STANDINS) localstack/with-standins.sh $(GO) run ./localstack/cmd/chaos $(CHAOS_ARGS)

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' shared); do \
		pkg=./$$(dirname $$t); for f in $$(grep -o '^func Fuzz[A-Za-z0-9]*' $$t | cut -d' ' -f2); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-30s} $$pkg; \
		done; done

console-screenshots: localstack/node_modules ## the console's screenshots, every screen at 1280 and 360 px, into docs/console (headless Chromium on PATH; the browser tests' flow)
	CI=true LOGSTREAM_CONSOLE_SCREENSHOTS=docs/console $(TEST_STANDINS) localstack/with-standins.sh $(GO) test -count=1 -timeout 15m -run 'TestConsoleFlow' ./localstack/console/

synth: build infra/node_modules ## synthesize the CloudFormation template into infra/cdk.out
	cd infra && LOGSTREAM_ASSET_DIR=$(CURDIR)/$(BUILD_DIR) npx cdk synth --no-notices

deploy: build infra/node_modules ## deploy to the AWS account of your current credentials (never run in CI)
	cd infra && LOGSTREAM_ASSET_DIR=$(CURDIR)/$(BUILD_DIR) npx cdk deploy --no-notices

deploy-localstack: build infra/node_modules ## deploy to LocalStack (needs Docker: see localstack/README.md)
	cd infra && LOGSTREAM_ASSET_DIR=$(CURDIR)/$(BUILD_DIR) npx cdklocal bootstrap --no-notices
	cd infra && LOGSTREAM_ASSET_DIR=$(CURDIR)/$(BUILD_DIR) npx cdklocal deploy --no-notices --require-approval never

clean: ## remove build output and stop stand-ins left running
	rm -rf $(BUILD_DIR) infra/cdk.out
	-localstack/standins.sh stop
	-$(TEST_STANDINS) localstack/standins.sh stop
