"""Fixtures every test may use: the reference geography, one user per role, a real worker."""

import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from core.roles import Role

BASE_DIR = Path(__file__).resolve().parent
REQUIRE_ALL = os.environ.get("CI") == "true"

pytest_plugins = ["tests.browser", "tests.demo", "tests.basemap", "tests.s3"]


def pytest_collection_modifyitems(config, items):
    # Tests about PostgreSQL itself (its triggers) run in the PostGIS pass of the suite; on
    # SpatiaLite they are deselected, not skipped, since CI runs both passes.
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgis"):
        kept = [item for item in items if item.get_closest_marker("postgresql") is None]
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
    # The modules that read the demo data first, one after the other (they share one build of
    # it: tests/demo.py), then the other long modules (a stable sort: each module keeps its
    # order). `make test` hands whole files to its two processes in this order
    # (--no-loadscope-reorder; the demo modules as one unit: pytest_xdist_make_scheduler), the
    # longest first, so neither process is left running a long file alone at the end.
    from tests.demo import check_demo_modules, is_demo

    check_demo_modules(items)
    items.sort(key=lambda item: (not is_demo(item), item.get_closest_marker("long") is None))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's --dist loadfile, but the modules that read the demo data are one unit,
    run in one process: they share the build of the demo (tests/demo.py)."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    from tests.demo import DEMO_MODULES

    class DemoModulesAsOneFile(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return "the demo modules" if scope in DEMO_MODULES else scope

    return DemoModulesAsOneFile(config, log)


def pytest_sessionfinish(session, exitstatus):
    # In CI nothing may be skipped: a skipped test is a test that did not prove anything.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if REQUIRE_ALL and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; failing the run.", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    # Throttle and lockout counters (device logins per minute, failed logins) live in the
    # cache: one test's logins must not throttle or lock out the next test's. On the
    # embedded stack the cache is a table of the test database: emptied only for a test that
    # uses the database (no other can reach it), once that database exists.
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    from core.selectors import geography_in_memory

    cache = caches["default"]
    if not isinstance(cache, DatabaseCache):
        cache.clear()
    elif request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "live_server", "users", "geography"
    } & set(request.fixturenames):  # fmt: skip
        request.getfixturevalue("django_db_setup")
        with _DB_BLOCKER[0].unblock():
            cache.clear()
    # The geography held in memory: a test's rolled-back provinces must not outlive it.
    geography_in_memory.clear_now()


def _force_login_gives_the_second_factor():
    """`client.force_login(user)` (and `client.login`) open a whole session, as they always
    did: they stand for a member who has logged in, second factor included. The second
    factor's own tests log in through the real pages (core/tests/test_second_factor.py)."""
    from django.test import Client

    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        from core import security

        session = self.session
        session[security.SECOND_FACTOR] = security.VERIFIED
        session.save()

    Client._login = _login


_force_login_gives_the_second_factor()


_DB_BLOCKER = []


@pytest.fixture(scope="session", autouse=True)
def _keep_db_blocker(django_db_blocker):
    _DB_BLOCKER.append(django_db_blocker)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A transactional test ends with a flush, which empties the rows the migrations wrote
    (geography, role groups, parties): put them back once its teardown (and the flush) is
    done, so that the next (rolled-back) test finds the database as the migrations left it,
    whatever it asks for and wherever it runs. Not after the last test: its teardown has
    destroyed the test database."""
    result = yield
    if _flushes(item) and nextitem is not None and not _flushes(nextitem) and _DB_BLOCKER:
        with _DB_BLOCKER[0].unblock():
            restore_reference_rows()
    return result


def _flushes(item):
    """Whether the test runs outside a rolled-back transaction and ends with a flush. When
    one follows another, the next one's `geography` (or `users`) fixture restores what it
    needs: every transactional test paying the whole reload would cost seconds each."""
    marker = item.get_closest_marker("django_db")
    names = set(getattr(item, "fixturenames", ()))
    return bool((marker and marker.kwargs.get("transaction")) or
                {"transactional_db", "live_server"} & names)  # fmt: skip


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_geography", verbosity=0)


@pytest.fixture
def geography(db):
    """The reference geography (loaded once per session), and the other rows the data
    migrations write, the role groups and the parties: restored after every transactional
    test's flush (pytest_runtest_teardown), and checked again here for a test that
    changed them (a migration test that migrates backwards)."""
    restore_reference_rows()


def restore_reference_rows():
    """What the `geography` fixture gives back after a flush, for a fixture of wider scope."""
    from core.models import Province
    from liaison.models import Party
    from patrols.tests.conftest import restore_parties

    if not Province.objects.exists():
        call_command("load_geography", verbosity=0)
    restore_role_groups()
    if not Party.objects.exists():
        restore_parties()


@functools.cache
def _migration_grants():
    """role → permissions, read from the data migrations' own GRANTS (less REVOKES) tables.

    Read once per run (the migrations on disk do not change during it): every test with the
    standing `users` asks for it."""
    from django.db.migrations.loader import MigrationLoader

    grants, revokes = {}, {}
    for migration in MigrationLoader(None, ignore_no_migrations=True).disk_migrations.values():
        module = sys.modules[type(migration).__module__]
        for role, perms in getattr(module, "GRANTS", {}).items():
            grants.setdefault(role, set()).update(perms)
        # Permissions of models that left an app (patrols' Party moved to liaison).
        for role, perms in getattr(module, "REVOKES", {}).items():
            revokes.setdefault(role, set()).update(perms)
    return {role: perms - revokes.get(role, set()) for role, perms in grants.items()}


def restore_role_groups():
    """Bring back the role groups after a transactional test's flush emptied them.

    They come from data migrations, which a flush does not replay (post_migrate recreates
    permissions, not groups); the grants are read from those migrations, not copied here.
    """
    from django.contrib.auth.models import Group

    grants = _migration_grants()
    restored = Group.objects.filter(name__in=grants, permissions__isnull=False).distinct()
    if restored.count() == len(grants):
        return
    from django.apps import apps

    from core.roles import grant_permissions

    grant_permissions(apps, grants)


@pytest.fixture
def users(db, geography):
    """One user per role, plus `outsider`, who has no role and must be refused."""
    from core.tests.factories import UserFactory

    restore_role_groups()
    return {
        **{role.value: UserFactory(username=f"t-{role.value}", roles=[role]) for role in Role},
        "outsider": UserFactory(username="t-outsider", roles=[]),
    }


def _database_url_for_worker():
    db = connection.settings_dict
    if db["ENGINE"].endswith("spatialite"):
        return f"spatialite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgis://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _process_env(mail_dir):
    """The environment of a process the tests start (worker, sealer): the test database, the
    test broker, the same audit keys and anchor file, and mail into files."""
    return {
        # Not PYTEST_XDIST_WORKER: the settings would move the broker's Redis database again.
        **{key: value for key, value in os.environ.items() if key != "PYTEST_XDIST_WORKER"},
        "DJANGO_SETTINGS_MODULE": "missionapp.settings.test",
        "DATABASE_URL": _database_url_for_worker(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MISSIONAPP_TEST_BROKER_DIR": str(settings.CELERY_BROKER_DIR),
        "AUDIT_KEYS": ",".join(settings.AUDIT_KEYS),
        "AUDIT_ANCHOR_FILE": str(settings.AUDIT_ANCHOR_FILE),
        # The worker's mail goes to files: read them with worker_mail().
        "EMAIL_URL": f"filemail:///{mail_dir}",  # environ drops one leading slash
    }


def start_sealer(log_path, mail_dir, *, interval=0.2):
    """Start the real audit sealer process (`manage.py audit_seal --loop`) on the test
    database; return it once it runs. Stop it with stop_process()."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "audit_seal", "--loop", f"--interval={interval}"],
            cwd=BASE_DIR, env={**_process_env(mail_dir), "PYTHONUNBUFFERED": "1"}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_for(lambda: "sealer running" in log_path.read_text() or proc.poll() is not None,
             timeout=60, message="the sealer to start")  # fmt: skip
    if proc.poll() is not None:
        pytest.fail(f"the sealer did not start:\n{log_path.read_text()[-3000:]}")
    proc.log_path = log_path
    return proc


def stop_process(proc, timeout=20):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_worker(log_path, mail_dir, *, hostname="pytest@%h", queues=None, new_session=False,
                 env=None, purge=True):  # fmt: skip
    """Start a real `celery worker` process on the configured broker and the test database;
    return it once it says "ready." (`queues`: only those; `new_session`: its own process
    group, so that a test can kill it and its pool at once; `env`: more settings; `purge`:
    empty its queues first, which a test of redelivery must not)."""
    env = {**_process_env(mail_dir), **(env or {})}
    command = [
        sys.executable, "-m", "celery", "-A", "missionapp", "worker",
        "--loglevel=INFO", "--concurrency=2", "--without-gossip",
        "--without-mingle", f"--hostname={hostname}",
    ]  # fmt: skip
    if purge:
        command.append("--purge")
    if queues:
        command.append(f"--queues={','.join(queues)}")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    proc.log_path = log_path
    proc.mail_dir = mail_dir
    return proc


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real `celery worker` process on the configured broker and the test database.

    Tests that use it must commit what the worker should see (django_db(transaction=True)).
    """
    proc = start_worker(tmp_path_factory.mktemp("worker") / "worker.log",
                        tmp_path_factory.mktemp("worker-mail"))  # fmt: skip
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        shutil.rmtree(settings.CELERY_BROKER_DIR, ignore_errors=True)


def in_thread(target, errors, *args):
    """A thread running target(*args) that records an exception in `errors` (for the test to
    assert on) and closes the database connections it opened (each thread has its own)."""
    import threading

    from django.db import connections

    def run():
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001 - reported by the test through `errors`
            errors.append(exc)
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def free_port():
    """A TCP port of 127.0.0.1 nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=30.0, interval=0.2, message="condition"):
    """Poll until predicate() is truthy (for work done by another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def worker_mail(worker):
    """The messages the worker sent so far, parsed (Django's file backend, one file per
    connection, messages separated by a line of dashes)."""
    import email

    messages = []
    for path in sorted(worker.mail_dir.glob("*.log")):
        for chunk in path.read_text().split("-" * 79 + "\n"):
            if chunk.strip():
                messages.append(email.message_from_string(chunk))
    return messages
