# The two commands a newcomer needs: `make run` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test date-guard lint bench clean locale

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

## make run: the bot on the embedded default (SQLite, sample school, local transports, no accounts)
run: $(STAMP)
	bash scripts/ensure-pdf.sh
	$(BIN)/attendance-bot run-local

## make test: the whole suite, on SQLite and PostgreSQL (started here if none runs), with a browser and
## a real IMAP server (Debian's dovecot, a throwaway instance per test run), then the date guard:
## the suite again with the system clock a year ahead and a year back
test: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-faketime.sh
	bash scripts/ensure-pdf.sh
	bash scripts/ensure-dovecot.sh
	$(BIN)/ruff check bot handlers scheduler storage tryout tests bench scripts
	$(BIN)/ruff format --check bot handlers scheduler storage tryout tests bench scripts
	$(BIN)/python -m pytest -n 2 --dist loadfile
	$(MAKE) --no-print-directory date-guard

## make date-guard: no test may depend on the real date (Debian's faketime moves the system clock;
## the browser tests are left out: Chromium does not run under libfaketime). The sender sends one
## message at a time here: libfaketime 0.9.10 crashed (SIGSEGV) when its 32 threads and the SMTP
## stand-in read the clock at once; the guard is about dates, the main run covers the concurrency.
DATE_GUARD := SENDER_CONCURRENCY=1 DONT_FAKE_MONOTONIC=1
date-guard: $(STAMP)
	$(DATE_GUARD) faketime '+365 days' $(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not browser" -p no:cacheprovider
	$(DATE_GUARD) faketime '-365 days' $(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not browser" -p no:cacheprovider

## make locale: after changing a family-facing text: extract it, update every language's catalog
## (message_templates/locale/*/LC_MESSAGES/family.po), compile them; translate, then run it again
locale: $(STAMP)
	$(BIN)/python -m bot.catalogs update

lint: $(STAMP)
	$(BIN)/ruff check bot handlers scheduler storage tryout tests bench scripts
	$(BIN)/ruff format --check bot handlers scheduler storage tryout tests bench scripts

bench: $(STAMP)
	bash scripts/ensure-postgres.sh
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) attendance.db attendance.db-wal attendance.db-shm test-artifacts
