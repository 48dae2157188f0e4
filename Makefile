.PHONY: demo test test-postgis setup lint bench bench-ingest bench-quick bench-burst clean

# Set up everything and run the demo (web + worker + beat) on the embedded stack.
demo:
	bin/demo

setup:
	bin/setup

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py makemigrations --check --dry-run

# The whole suite, in PYTEST_WORKERS processes (pytest-xdist; one per core, each with its own
# test database, broker and Celery worker; whole files to each, so module fixtures are built
# once, the modules marked `long` first: conftest.pytest_collection_modifyitems). Set DATABASE_URL / CELERY_BROKER_URL to run it on PostGIS / Redis: on Redis the
# processes use the broker's database and the next ones (db 1 and 2 for redis://.../1), and
# the cache's likewise (db 8 and 9).
PYTEST_WORKERS ?= 2
test: lint
	.venv/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The same suite on the local PostgreSQL + PostGIS and Redis, with a real worker on Redis.
test-postgis:
	bin/setup-postgis
	DATABASE_URL=postgis://postgres@127.0.0.1:5432/missionapp \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/1 \
	CACHE_URL=redis://127.0.0.1:6379/8 $(MAKE) test

# The benchmarks: reads and the daily summary (bench/run.py, SpatiaLite), a burst of tablets,
# then ingest.
bench: setup
	.venv/bin/python bench/run.py
	$(MAKE) bench-burst
	$(MAKE) bench-ingest

# 50 tablets connecting at the same instant, each filing a report: Django's development server
# against the gunicorn `make demo` runs (resets, p50/p95; SpatiaLite, ~1 min).
bench-burst: setup
	.venv/bin/python bench/parallel_clients.py $(BURST_ARGS)

# Ingest on the production stack (gunicorn + Celery worker, PostGIS, Redis DB 5): 1-32
# clients, the minimal-create floor, the backlog flush. Writes bench/RESULTS.md (~6 min).
bench-ingest:
	bin/setup-postgis
	.venv/bin/python bench/ingest.py $(BENCH_ARGS)

# A short ingest run (CI): fails if the harness or the application breaks (a 5xx, a report
# lost or stored twice, a deadlock), never on speed.
bench-quick:
	bin/setup-postgis
	.venv/bin/python bench/ingest.py --quick

clean:
	rm -rf var/test_* var/test-broker*
