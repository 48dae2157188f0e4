"""Scheduled jobs of core. Thin: each re-checks what is needed and calls one service."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from core import health, services
from core.audit import anchors
from core.audit import services as audit
from core.audit.context import acting_as
from core.audit.models import AuditChainHead, AuditEntry
from core.audit.verification import audit_chain_verify as verify_chain
from core.backups import nightly

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def health_beat():
    """Beat, every HEALTH_BEAT_INTERVAL_SECONDS: the worker records that it ran what beat
    sent (core/health.py). Idempotent: it only sets a timestamp."""
    health.beat_task_ran()


@shared_task(ignore_result=True)
def audit_seal():
    """Beat backstop of the sealer process: seal what waits (nothing twice: the head row)."""
    return audit.audit_seal()


@shared_task(ignore_result=True)
def audit_anchor():
    """Beat: seal what waits, then append the chain head to the anchor file if it moved."""
    audit.audit_seal_or_log()
    anchor = anchors.anchor_file_append()
    return anchor and anchor["seq"]


@shared_task
def audit_chain_verify():
    """Verify the chain and keep the verdict on the head row.

    Idempotent: the alert goes out only when the verdict changes to broken (or the broken
    entry changes), so a schedule that fires twice, or a retry, alerts once.
    """
    audit.audit_seal_or_log()  # verify what was written up to now, not what waited to be sealed
    report = verify_chain()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        problem = "" if report.ok else str(report)
        newly_broken = not report.ok and (
            head.verified_ok is not False or head.verified_problem != problem
        )
        head.verified_at = timezone.now()
        head.verified_ok = report.ok
        head.verified_problem = problem
        head.save(update_fields=["verified_at", "verified_ok", "verified_problem"])
        if report.sealing_behind:
            # Not tampering: the sealer is not keeping up (or not running). Logged every time.
            log.error("audit sealing is behind: %s entries wait, the oldest since %s",
                      report.waiting, report.oldest_waiting)  # fmt: skip
        if newly_broken:
            log.critical(problem)
            if not settings.ADMINS:
                log.critical("nobody was e-mailed that the audit chain is broken: set ADMINS")
            # Not silently: a mail server that refuses the alarm fails the task, logged.
            transaction.on_commit(lambda: mail_admins("Audit chain broken", problem))
    return str(report)


@shared_task(ignore_result=True)
def backup_nightly():
    """Beat, at BACKUP_HOUR mission time: tonight's archive unless one of this mission-local
    date exists (a second run does nothing), then the retention of BACKUP_KEEP_DAYS."""
    result = nightly.backup_nightly(keep_days=settings.BACKUP_KEEP_DAYS)
    if result.skipped:
        log.info("nightly backup skipped: %s", result.skipped)
    return str(result.made.path) if result.made else None


@shared_task
def device_tokens_purge_expired():
    with acting_as(client=AuditEntry.Client.TASK, client_ref="device_tokens_purge_expired"):
        return services.device_tokens_purge_expired()
