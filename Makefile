# Developer entry points. `make test` builds the virtualenv on first use and
# reinstalls the package whenever pyproject.toml changes. `make bench` runs every benchmark (long);
# `make bench BENCH=walkforward_parallel` runs one.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test demo lint bench clean browser

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev,ray]'
	touch $(STAMP)

test: venv browser
	$(BIN)/python -m pytest -q

demo: venv
	$(BIN)/python -m bt_optimize.cli demo

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python -m pip install -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py $(BENCH)

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .coverage htmlcov
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

# The browser tests render reports in the system's Chromium. As root (CI), install Debian's package when it is
# missing; otherwise those tests skip and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		for try in 1 2 3; do \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
				&& break; \
			echo "installing chromium failed (try $$try of 3)"; sleep 10; \
		done; \
	fi
