"""Changing audit rows behind the application's back, as an attacker with database access
would (the audit tests' one tool for it)."""

from django.db import connection


def tamper(sql, params=()):
    """Run `sql` on the database directly. On PostgreSQL the append-only trigger refuses it,
    so the attacker first switches triggers off for the session (a superuser's power)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
