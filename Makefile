# Every target runs through dev.py, which needs only Python 3.11+.
.DEFAULT_GOAL := help
PY ?= python3

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## Start the platform with the demo city and open the command centre
	$(PY) dev.py run

test: ## Lint, types, import contracts, migration check and the whole test suite
	$(PY) dev.py test

lint: ## ruff, mypy, import-linter and alembic check
	$(PY) dev.py lint

bench: ## Run every benchmark and print the comparisons
	$(PY) dev.py bench

install: ## Create .venv with the platform, test and dev tools
	$(PY) dev.py install

lock: ## Regenerate the lockfiles from pyproject.toml
	$(PY) dev.py lock

.PHONY: help run test lint bench install lock
