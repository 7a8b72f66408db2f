.PHONY: run test bench lint

run:  ## embedded server with demo data (SQLite, tasks in-process)
	./scripts/run.sh

test:  ## whole suite on PostgreSQL and Redis
	./scripts/test.sh

bench:  ## getBalance vs a bare view under gunicorn + PostgreSQL
	./scripts/bench.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
