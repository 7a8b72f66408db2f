.PHONY: run test bench lint

run:  ## embedded server with demo data (SQLite, tasks in-process)
	./scripts/run.sh

test:  ## whole suite on PostgreSQL and Redis
	./scripts/test.sh

bench:  ## getBalance/getStatus vs a bare view; getNumber throughput against a slow fake upstream
	./scripts/bench.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
