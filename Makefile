# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Test processes: one per core (pytest-xdist); TEST_WORKERS=0 runs the suite in this process. Tests that
# empty every table when they end (marked `flushes`) run afterwards in one process. A process that starts
# after a test database was migrated copies it instead of migrating (src/kangfu/core/tests/migrated.py).
TEST_WORKERS ?= auto

.PHONY: demo test lint env frontend lock bench clean

$(BIN)/.installed: requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --silent
	touch $@

env: $(BIN)/.installed node_modules/.installed

demo: env
	$(BIN)/kangfu init-env var/kangfu.env
	$(BIN)/kangfu migrate --noinput
	$(BIN)/kangfu demo
	@echo ""
	@echo "演示网站：http://127.0.0.1:8000 （网站和后台任务进程一起运行，Ctrl-C 停止）"
	$(BIN)/kangfu run 127.0.0.1:8000

test: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	export KANGFU_TEST_DB_CACHE="$$(mktemp -d)"; \
	trap '$(BIN)/python -m kangfu.core.tests.migrated; rm -rf "$$KANGFU_TEST_DB_CACHE"' EXIT; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m 'not flushes' && $(BIN)/pytest -m flushes

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-pin Python dependencies after editing pyproject.toml (needs uv; the lock records no download addresses).
lock:
	uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --universal --python-version 3.11 -o requirements-dev.lock

bench: env
	$(BIN)/python bench/people_list.py --n 100000

clean:
	rm -rf $(VENV) node_modules var
