.PHONY: run reset test setup schema bench

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/python -m devstack.run

# Forget the dev database `make run` keeps in .run/ (refused while a `make run` is running).
reset:
	@if [ -e .run/lock ] && ! flock -n .run/lock true; then echo "make run is running: stop it first"; exit 1; fi
	rm -rf .run

# Tests run in parallel processes, each with a Redis and a MongoDB-wire server of its own; many tests
# wait on worker processes, so more processes than cores help (TEST_WORKERS=0: one process).
TEST_WORKERS ?= 4

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/pytest -q -n $(TEST_WORKERS) --dist worksteal

schema: setup
	.venv/bin/python -m api.schema_export
