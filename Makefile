.PHONY: demo test test-postgis setup lint bench clean

# Set up everything and run the demo (web + worker + beat) on the embedded stack.
demo:
	bin/demo

setup:
	bin/setup

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/python manage.py makemigrations --check --dry-run

# The whole suite. Set DATABASE_URL / CELERY_BROKER_URL to run it on PostGIS / Redis.
test: lint
	.venv/bin/pytest $(PYTEST_ARGS)

# The same suite on the local PostgreSQL + PostGIS and Redis, with a real worker on Redis.
test-postgis:
	bin/setup-postgis
	DATABASE_URL=postgis://postgres@127.0.0.1:5432/missionapp \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/1 $(MAKE) test

bench: setup
	.venv/bin/python bench/run.py

clean:
	rm -rf var/test_* var/test-broker*
