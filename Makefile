# optionsbot — two commands: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint bench venv install install-dev migrate seed format clean assets

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "optionsbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

venv: $(PY)
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --no-input

seed: migrate
	$(PY) manage.py seed

## The dashboard's browser libraries (charts), from npm, copied to a git-ignored static folder.
VENDOR := frontend/static/vendor
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENDOR)/.built: node_modules
	npm run --silent vendor
	@touch $@

assets: $(VENDOR)/.built

## Start the dashboard, the agent's worker and the scheduler on embedded defaults.
run: seed assets
	$(PY) manage.py run_embedded --host $(HOST) --port $(PORT)

## The whole test suite (PostgreSQL and Redis parts run when DATABASE_URL / REDIS_URL are set).
test: install-dev assets
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) manage.py makemigrations --check --dry-run
	OPTIONSBOT_ENV=production SECRET_KEY=lint-only-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=optionsbot.example REDIS_URL=redis://127.0.0.1:6379/0 \
	  $(PY) manage.py check --deploy --fail-level WARNING

format: install-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

## Benchmarks: figures and ratios, apart from the tests.
bench: install-dev
	@for b in benchmarks/bench_*.py; do \
	  mod=$$(echo $$b | sed 's#/#.#; s#\.py$$##'); \
	  echo "== $$mod"; $(PY) -m $$mod || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles
