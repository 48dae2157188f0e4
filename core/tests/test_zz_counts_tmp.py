from django.db import connection
from django.test.utils import CaptureQueriesContext
from core.tests.test_admin_pages import *  # noqa

def test_counts(client, administrator, mission_records):
    for name, url in admin_pages(mission_records):
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(url)
        print(name, r.status_code, len(ctx.captured_queries))
