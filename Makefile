.PHONY: run test setup schema bench

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/python -m devstack.run

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .
	.venv/bin/pytest -q

schema: setup
	.venv/bin/python -m api.schema_export
