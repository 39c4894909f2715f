# The two commands the README starts with: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-pg serve bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

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
