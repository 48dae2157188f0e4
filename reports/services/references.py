"""Short references people say and write: KAP-2026-0142 (forward base, year, number).

The year is the mission's local year of the observation; the prefix the author's forward
base (MIS for members who have none, such as headquarters staff). Numbers run from 1 per
prefix and year, without gaps: they are taken by one upsert in the transaction that stores
the report, and a rolled-back insert gives its number back.
"""

from django.db import connection
from django.utils import timezone

from core.selectors import forward_base_code
from reports.models import ReferenceSequence

NO_BASE_PREFIX = "MIS"


def reference_prefix(author) -> str:
    return forward_base_code(author.forward_base_id) or NO_BASE_PREFIX


def reference_format(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:04d}"


def reference_next(*, author, observed_at) -> str:
    """The next reference of the author's base for the year of `observed_at`.

    Precondition: called inside the transaction that inserts the report (the row lock the
    upsert takes on the base's year is held until then: two filings of one base in one year
    are numbered one after the other, other bases and years are not held up).
    """
    prefix = reference_prefix(author)
    year = timezone.localtime(observed_at).year  # TIME_ZONE: the mission's
    table = connection.ops.quote_name(ReferenceSequence._meta.db_table)
    # One statement on both databases (SQLite ≥ 3.35 and PostgreSQL): the row made or bumped
    # and its new number returned, with no read-then-write race between two filings.
    # The table's name comes from the model; the values are parameters.
    sql = (
        f"INSERT INTO {table} (prefix, year, last) VALUES (%s, %s, 1) "  # noqa: S608
        f"ON CONFLICT (prefix, year) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix, year])
        (number,) = cursor.fetchone()
    return reference_format(prefix, year, number)
