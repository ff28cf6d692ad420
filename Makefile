# The two set-up commands for a fresh machine are `make run` and `make test`; both create
# the virtualenv and install the project by themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test bench lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/edutrust init --demo
	@echo "Demo: open http://127.0.0.1:8000/demo/ and log in as demo.teacher or demo.student"
	@echo "(their passwords are printed above when first created; see also docs/operations.md;"
	@echo " teachers need a second factor, so demo.teacher sets up TOTP at the first login)"
	$(BIN)/edutrust serve --host 127.0.0.1 --port 8000

# The npm packages the interop tests drive (openid-client) and the benchmark's peer
# (oidc-provider), pinned by package-lock.json; skipped when node is not installed
# (those tests then skip too, and `bench idp` reports its peer missing).
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --ignore-scripts && touch $(NODE_STAMP); \
	else echo "npm not found: the openid-client interop tests will skip"; fi

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# bench idp drives its token rows with wrk (Debian's package) when it is installed: it
# costs the shared cores far less per request than a Python load generator.
bench: $(STAMP) $(NODE_STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	  || echo "wrk not installed: bench idp drives the token rows with http.client"
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict crypto ledger

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis node_modules
