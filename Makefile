SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

.PHONY: help
help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: start
start: ## Install what is needed and start Engram on the embedded default
	bash scripts/start.sh

.PHONY: test
test: ## Install what is needed and run every check and test tier (what CI runs)
	bash scripts/test.sh

.PHONY: generate
generate: ## Regenerate code from proto/ (local plugins only)
	source scripts/setup.sh && npm run --silent generate

.PHONY: bench
bench: ## Print latency and throughput figures
	source scripts/setup.sh && npm run --silent bench
