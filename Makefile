# The two commands a newcomer needs: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## make run: the bot on the embedded default (SQLite, sample school, local transports, no accounts)
run: $(STAMP)
	$(BIN)/attendance-bot run-local

## make test: the whole suite, on SQLite and PostgreSQL (started here if none runs), with a browser
test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	$(BIN)/ruff check bot handlers scheduler storage tests bench
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check bot handlers scheduler storage tests bench

bench: $(STAMP)
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) attendance.db attendance.db-wal attendance.db-shm test-artifacts
