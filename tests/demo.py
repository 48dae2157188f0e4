"""The demo data, built once per test process for every module that reads it.

Registered as a pytest plugin by the root conftest. A test that reads the demo asks for
`demo_data` (the clock then stands at NOW, the demo's "now"):

    def test_something(demo_data):
        ...

Building the demo takes 11-20 s on SpatiaLite and about 30 s on PostGIS (patrols, reports,
liaison, six daily summaries with their PDFs). It is built once, in one transaction that the
last demo test of the process rolls back; each test's own transaction (pytest-django's) is a
savepoint inside it, so a test that adds to the demo leaves the next one the same demo, and a
module-scoped fixture that adds to it holds its rows in a savepoint of its own (see
`demo_world` in test_api_schemathesis). For that, the modules that read it (DEMO_MODULES) run
one after the other in one process: first in the collection (conftest), and handed to one
pytest-xdist process as one unit (conftest's scheduler). A module not listed that asks for the
demo fails the collection.
"""

import contextlib
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

YEREVAN = ZoneInfo("Asia/Yerevan")
# Early afternoon in Yerevan: today's patrols are under way, and a rerun is the same day.
NOW = datetime(2025, 3, 14, 13, 0, tzinfo=YEREVAN)

DEMO_MODULES = (
    "reports/tests/test_demo_data.py",
    "tests/test_api_schemathesis.py",
    "tests/test_demo_crawl.py",
    "tests/test_hostile_query_values.py",
)
_SHARED = pytest.StashKey()


def run_demo_data(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("demo_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def module_of(item):
    return item.nodeid.split("::")[0]


def is_demo(item):
    """Whether the test item is in one of the modules that read the demo data."""
    return item is not None and module_of(item) in DEMO_MODULES


class SharedDemo:
    """The demo data in an open transaction: built by open(), rolled back by close()."""

    def __init__(self, django_db_blocker, var_dir):
        self.blocker, self.var_dir = django_db_blocker, var_dir
        self._open = None

    def open(self):
        if self._open is not None:
            return
        from conftest import restore_reference_rows

        stack = self._open = contextlib.ExitStack()
        try:
            stack.enter_context(self.blocker.unblock())
            stack.enter_context(time_machine.travel(NOW, tick=False))
            # demo_data creates the demo users; their logins file goes to a temporary VAR_DIR.
            stack.enter_context(override_settings(VAR_DIR=self.var_dir))
            stack.enter_context(transaction.atomic())
            stack.callback(transaction.set_rollback, True)  # runs first: the atomic rolls back
            restore_reference_rows()  # an earlier test's flush may have emptied them
            run_demo_data()
        except BaseException:
            self.close()
            raise

    def close(self):
        stack, self._open = self._open, None
        if stack is not None:
            stack.close()


@pytest.fixture(scope="session")
def _shared_demo(request, django_db_setup, django_db_blocker, tmp_path_factory):
    shared = SharedDemo(django_db_blocker, tmp_path_factory.mktemp("demo-var"))
    request.config.stash[_SHARED] = shared
    yield shared
    shared.close()  # if the last demo test was also the session's last


@pytest.fixture(scope="module")
def demo_module(_shared_demo):
    """The demo data, for a module-scoped fixture that builds on it."""
    _shared_demo.open()
    return NOW


@pytest.fixture
def demo_data(demo_module, db):
    """The demo data, at NOW (the clock stands still while the demo modules run)."""
    return NOW


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After the last demo test (its module's fixtures torn down), before anything else runs.
    result = yield
    if is_demo(item) and not is_demo(nextitem) and _SHARED in item.config.stash:
        item.config.stash[_SHARED].close()
    return result


def check_demo_modules(items):
    """A test outside DEMO_MODULES that reads the demo would open it among other tests; a
    transactional test among them would end with a flush, emptying the shared demo."""
    from conftest import _flushes

    strays = sorted({
        module_of(item) for item in items
        if "demo_module" in getattr(item, "fixturenames", ()) and not is_demo(item)
    })  # fmt: skip
    if strays:
        raise pytest.UsageError(
            f"{', '.join(strays)} read(s) the demo data: add to tests/demo.py DEMO_MODULES"
        )
    flushing = [item.nodeid for item in items if is_demo(item) and _flushes(item)]
    if flushing:
        raise pytest.UsageError(
            f"{', '.join(flushing)}: a transactional test would flush the shared demo data; "
            "move it out of the demo modules (tests/demo.py DEMO_MODULES)"
        )
