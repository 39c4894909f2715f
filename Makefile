# The two commands the README starts with: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock demo test test-pg serve bench lint clean

install: $(STAMP)

# Exact versions with hashes from requirements.lock, so a fresh clone tests what was tested;
# then the project itself, its dependencies already there.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $(STAMP)

# Upgrading a dependency is a decision: widen or move its range in pyproject.toml, run this,
# read the diff of requirements.lock, run the tests, and commit both files together.
UV_VERSION := 0.13.9
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	  --generate-hashes --quiet -o requirements.lock

demo: install
	$(BIN)/mutua demo --members 20000
	$(BIN)/mutua serve --host 127.0.0.1 --port 8000

# Two worker processes halve the suite's wall time on a 2-core CI machine; each opens its own
# PostgreSQL connections and database. TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

serve: install
	$(BIN)/mutua serve

bench: install  # every benchmark on SQLite and PostgreSQL -> benchmarks/results.json
	@command -v wrk >/dev/null || echo "http_load needs wrk: apt-get install -y wrk"
	$(BIN)/python -m benchmarks all

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) var/*.db
