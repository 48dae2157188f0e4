"""Scheduled jobs of liaison. Thin: each calls one idempotent service."""

from celery import shared_task

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from liaison import services


@shared_task
def contacts_anonymise_inactive():
    """Daily (beat): anonymise contacts inactive for LIAISON_RETENTION_DAYS. Running it twice
    changes nothing the second time (anonymised contacts are skipped)."""
    with acting_as(client=AuditEntry.Client.TASK, client_ref="contacts_anonymise_inactive"):
        return services.contacts_anonymise_inactive()
