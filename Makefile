.PHONY: run test bench chaos lint

run:  ## embedded server with demo data (SQLite, tasks in-process)
	./scripts/run.sh

test:  ## whole suite on PostgreSQL and Redis
	./scripts/test.sh

bench:  ## getBalance/getStatus vs a bare view; getNumber throughput against a slow fake upstream
	./scripts/bench.sh

chaos:  ## purchases, cancels and SMS while processes are killed and the broker cut; checks the end state
	./scripts/chaos.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
