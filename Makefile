# The two commands: `make run` starts Portico on SQLite; `make test` runs every test.
# Each creates .venv and installs what it needs on first use; started together, one installs while
# the other waits for it (tools/bootstrap.py holds .venv.lock). `make test` also installs the SDK
# tests' Node.js tools into clients/node_modules (tools/npm_ci.py holds clients/.npm-ci.lock).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Development tools beside the product, each its own project, installed in place into the venv and
# never part of Portico's wheel or image: the GESDENT sandbox (its `gesdent-sandbox` command).
TOOLS := gesdent_sandbox
# The Node.js tools of the SDK tests (tests/sdk/: TypeScript generators, tsc, Redocly), pinned by
# clients/package-lock.json and installed there by `npm ci` (tools/npm_ci.py) for `make test` only.
CLIENTS := clients
NODE_STAMP := $(CLIENTS)/node_modules/.installed

.PHONY: run test lint openapi migrate clean

# Checks Python >= 3.11, creates the venv (again, if an earlier creation left it without pip),
# upgrades pip, installs -c constraints.txt -e '.[dev]' and -e each of the TOOLS, then touches the stamp.
$(STAMP): pyproject.toml constraints.txt $(TOOLS:%=%/pyproject.toml)
	$(PYTHON) tools/bootstrap.py $(VENV) $(STAMP) $(TOOLS)

run: $(STAMP)
	$(BIN)/portico serve

# Without npm, tools/npm_ci.py says so and makes no stamp: the SDK tests skip (fail with CI=true).
$(NODE_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	$(PYTHON) tools/npm_ci.py $(CLIENTS) $(NODE_STAMP)

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app $(TOOLS) tests bench tools alembic
	$(BIN)/ruff format --check app $(TOOLS) tests bench tools alembic
	$(BIN)/mypy app $(TOOLS) tests bench

openapi: $(STAMP)
	$(BIN)/portico openapi

migrate: $(STAMP)
	$(BIN)/portico migrate

clean:
	rm -rf $(VENV) $(CLIENTS)/node_modules .pytest_cache .hypothesis .ruff_cache .mypy_cache
