# The few verbs a newcomer needs. CI (.ci/run) and Jenkins call these same targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
ENV ?= local
BASE_URL ?= http://127.0.0.1:$(PORT)
export PORT

.DEFAULT_GOAL := help
.PHONY: help venv run migrate test lint smoke bundle verify-bundle deploy rollback notify status drill bench monitor clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed  ## create .venv and install everything

migrate: venv  ## apply database migrations (SQLite in instance/ unless DATABASE_URL is set)
	$(BIN)/flask --app application db upgrade

run: migrate  ## serve on http://127.0.0.1:$(PORT) with gunicorn, as the Procfile does
	@echo "Serving on $(BASE_URL)"
	BASE_URL=$(BASE_URL) $(BIN)/$(shell sed -n 's/^web: //p' Procfile)

test: venv  ## run every test (REQUIRE_ALL=1 turns skips for missing services into failures)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

smoke: venv  ## the smoke suite against BASE_URL
	SMOKE_BASE_URL=$(BASE_URL) $(BIN)/python -m pytest tests/smoke --junitxml=out/smoke.xml -p no:cacheprovider

bundle: venv  ## dist/shortener-<label>.zip, an EB source bundle (LABEL=name overrides the label)
	$(BIN)/python -m sre bundle $(if $(LABEL),--label $(LABEL))

verify-bundle: venv  ## boot a bundle as EB would and smoke it (BUNDLE=path, newest by default)
	$(BIN)/python -m sre verify-bundle $(if $(BUNDLE),--bundle $(BUNDLE))

deploy: venv  ## guarded deploy to ENV (local or an EB environment name)
	$(BIN)/python -m sre deploy --env $(ENV) $(if $(BUNDLE),--bundle $(BUNDLE))

rollback: venv  ## redeploy the previous version of ENV
	$(BIN)/python -m sre rollback --env $(ENV) $(if $(LABEL),--label $(LABEL))

notify: venv  ## post MESSAGE to the on-call channel (NOTIFY_WEBHOOK; printed only when unset)
	$(BIN)/python -m sre notify "$(MESSAGE)"

status: venv  ## what serves on ENV, and the deploy history
	$(BIN)/python -m sre status --env $(ENV)

drill: venv  ## replay the version-2 incident locally; writes out/drill.json and out/drill.md
	$(BIN)/python -m sre drill

bench: venv  ## benchmarks; writes out/bench.json
	$(BIN)/python -m sre bench

monitor: venv  ## synthetic monitor against BASE_URL
	$(BIN)/python -m sre monitor --url $(BASE_URL) --interval $(or $(INTERVAL),10) --ledger $(or $(LEDGER),out/ledger.sqlite3)

clean:  ## remove build output, local state and the venv
	rm -rf $(VENV) dist out .state .pytest_cache .ruff_cache
