"""Duty officers' review and verification of incident reports, and the flash alert that
calls them to a serious one.

Editorial status (submitted → reviewed / returned / rejected) and verification level
(unverified → … → verified) are separate: a report can be reviewed and still unverified.
Linking the reports of one event is reports.services.events.

A serious report (casualties, or severity FLASH_ALERT_SEVERITY and above) becomes due for
its flash alert in the write that files, submits or amends it (`flash_alert_mark_due`); the
worker's drain (reports.tasks.flash_alerts_send, sent by name after the commit) e-mails duty
officers and headquarters every alert due, each once.
"""

import logging
import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.audit.registry import audited_save_locked
from core.models import User
from core.queue import enqueue_on_commit
from core.roles import Role
from reports.models import IncidentReport
from reports.selectors import can_review

S = IncidentReport.Status
log = logging.getLogger(__name__)


def require_duty_officer(by):
    """Refuse (403, logged) anyone but a duty officer: a refusal of the person, not of the
    input. The API asks before it reads the body (permission before validation); every
    review service asks again."""
    if not can_review(by):
        raise PermissionDenied("Only a duty officer reviews and verifies reports.")


def locked(report):
    """The report's row, locked for the rest of the transaction."""
    return IncidentReport.objects.select_for_update().get(pk=report.pk)


def _decide(report, by, status, **fields):
    require_duty_officer(by)
    report = locked(report)
    if report.status != S.SUBMITTED:
        raise ValidationError(
            {"status": [f"Only a submitted report can be {S(status).label.lower()}; "
                        f"this one is {report.get_status_display().lower()}."]}
        )  # fmt: skip
    report.status = status
    report.reviewed_by, report.reviewed_at = by, timezone.now()
    for name, value in fields.items():
        setattr(report, name, value)
    report.version += 1
    report.save()
    return report


@transaction.atomic
def report_mark_reviewed(*, report: IncidentReport, by: User) -> IncidentReport:
    return _decide(report, by, S.REVIEWED)


@transaction.atomic
def report_return(*, report: IncidentReport, by: User, questions: str) -> IncidentReport:
    """Back to the reporter with questions (they see them on the tablet and resubmit)."""
    if not (questions or "").strip():
        raise ValidationError({"questions": ["Ask the reporter what is missing."]})
    return _decide(report, by, S.RETURNED, review_questions=questions.strip())


@transaction.atomic
def report_reject(*, report: IncidentReport, by: User, reason: str) -> IncidentReport:
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the report is rejected."]})
    return _decide(report, by, S.REJECTED, rejection_reason=reason.strip())


# The review decisions by the name the page and the API send, each with the one field it
# takes (besides the report and the reviewer), if any.
DECISIONS = {
    "reviewed": (report_mark_reviewed, None),
    "returned": (report_return, "questions"),
    "rejected": (report_reject, "reason"),
}


*_first, _last = DECISIONS
CHOOSE_A_DECISION = f"Choose a decision: {', '.join(_first)} or {_last}."


def report_decide(*, report: IncidentReport, by: User, decision: str, **fields) -> IncidentReport:
    """One review decision by its name: the page's form and the API's body both come here.
    Fields the decision does not take are ignored (a rejection's unused `questions`)."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": [CHOOSE_A_DECISION]})
    service, field = DECISIONS[decision]
    taken = {field: fields.get(field, "")} if field else {}
    return service(report=report, by=by, **taken)


@transaction.atomic
def report_verify(*, report: IncidentReport, by: User, level: str, note: str) -> IncidentReport:
    require_duty_officer(by)
    if level not in IncidentReport.Verification.values:
        raise ValidationError({"level": ["Choose a verification level."]})
    if level != IncidentReport.Verification.UNVERIFIED and not (note or "").strip():
        raise ValidationError({"note": ["Say what corroborates the report."]})
    report = locked(report)
    if report.status not in (S.SUBMITTED, S.REVIEWED):
        raise ValidationError({"status": ["Only a submitted or reviewed report is verified."]})
    report.verification, report.verification_note = level, (note or "").strip()
    report.version += 1
    report.save(update_fields=["verification", "verification_note", "version"])
    return report


def qualifies_for_flash_alert(report: IncidentReport) -> bool:
    return report.status != S.DRAFT and (
        report.casualties > 0 or report.severity >= settings.FLASH_ALERT_SEVERITY
    )


def flash_alert_mark_due(report: IncidentReport) -> bool:
    """Before a report is saved (filed, submitted, amended): a serious one not yet alerted
    becomes due for its flash alert, in the same write. Returns whether it is due."""
    if not qualifies_for_flash_alert(report) or report.flash_alerted_at is not None:
        return False
    if report.flash_alert_due_at is None:
        report.flash_alert_due_at = timezone.now()
    return True


def flash_alert_enqueue_if_needed(report: IncidentReport) -> None:
    """After a report is saved: if it is due for its flash alert, the worker sends it after
    the commit. (A caller that did not mark it due before its save pays one more write.)"""
    if report.flash_alert_due_at is None:
        if not flash_alert_mark_due(report):
            return
        report.save(update_fields=["flash_alert_due_at"])
    if report.flash_alerted_at is None:
        transaction.on_commit(flash_alerts_dispatch)


# Where this process's last drain was published: see flash_alerts_dispatch.
_dispatch = {"until": 0.0}


def flash_alerts_dispatch() -> None:
    """(After a commit that made an alert due.) Have the worker send the due flash alerts,
    in batches: one task publishes for every alert this process makes due within half of
    FLASH_ALERT_BATCH_SECONDS, and runs FLASH_ALERT_BATCH_SECONDS after it was published.

    One task and one mail connection per batch instead of one per alert: at a flare-up's
    rate (~25 alerts/s in the benchmark) the worker's CPU per alert drops from ~8 ms (a task
    each: Celery's message handling, a transaction, the recipients query, a connection) to
    ~1 ms. Nothing is lost by skipping a publication: an alert made due while this process's
    window is open is committed before the published task runs (it runs at least half the
    window later, a margin for the clocks of other machines) and that task sends every alert
    due. An alert whose report another write holds locked then is left for the next drain
    (the drain publishes another when any is left), and beat runs a drain every 30 s in
    case a task was lost.

    Called after a commit (or by a drain, outside any transaction): enqueue_on_commit sends
    at once, so a broker that cannot be reached is known here."""
    delay = settings.FLASH_ALERT_BATCH_SECONDS
    now = time.monotonic()
    if now < _dispatch["until"]:
        return
    try:
        enqueue_on_commit("reports.tasks.flash_alerts_send", options={"countdown": delay})
    except Exception:  # noqa: BLE001 - the broker unreachable: the report is stored already
        # Its alert stays due: beat's drain sends it (the filing is not answered with a 500).
        log.exception("flash alerts: could not publish the drain; beat's backstop will send")
        return
    _dispatch["until"] = now + delay / 2


FLASH_ALERT_BATCH = 100
FLASH_ALERT_READS = (
    # The reference too: the report's name (the audit entry's object_repr) shows it.
    "uuid", "reference", "status", "severity", "category", "location_phrase", "observed_at",
    "description",
    "observation_means", "verification", "flash_alerted_at", "flash_alert_due_at",
    "civilians_killed", "civilians_injured", "military_killed", "military_injured", "author",
)  # fmt: skip


def flash_alerts_send_due() -> int:
    """E-mail duty officers and headquarters the flash alert of every report due, each once;
    return how many were sent. Claims up to FLASH_ALERT_BATCH at a time (oldest due first),
    sends them over one mail connection, and goes on while a batch was full. Idempotent:
    with nothing due it sends nothing. Raises the mail error; the alerts not handed to the
    mail server are due again, for the next drain (a filing's, or beat's)."""
    due = IncidentReport.objects.filter(
        flash_alert_due_at__isnull=False, flash_alerted_at__isnull=True
    )
    if not due.exists():
        return 0
    sent = 0
    # The mail server first: one that cannot be reached costs no claim and no audit entry
    # (claiming, then giving back every alert on every attempt filled the trail in an outage).
    with get_connection() as connection:
        while True:
            messages = _flash_alerts_claim(
                due.order_by("flash_alert_due_at", "pk"), limit=FLASH_ALERT_BATCH
            )
            sent += _flash_alerts_deliver(messages, connection)
            if len(messages) < FLASH_ALERT_BATCH:
                break
    if due.exists():
        flash_alerts_dispatch()  # held locked by another write just now: the next drain
    return sent


def report_flash_alert_send(*, report_id: int) -> bool:
    """Send this report's flash alert if it qualifies and was not sent (once per report:
    `flash_alerted_at` is claimed in the transaction that decides to send, and given back if
    the mail could not be handed to the mail server, so that a retry sends it; a lost flash
    alert is worse than a second one). Raises the mail error for the retry."""
    with get_connection() as connection:
        messages = _flash_alerts_claim(IncidentReport.objects.filter(pk=report_id))
        return _flash_alerts_deliver(messages, connection) > 0


def _flash_alerts_deliver(messages, connection) -> int:
    sent = 0
    try:
        for message in messages:
            message.connection = connection
            message.send(fail_silently=False)
            sent += 1
    except Exception:
        for message in messages[sent:]:
            _flash_alert_unclaim(message.report_id, message.claimed_at)
        raise
    return sent


def _flash_alert_unclaim(report_id, claimed_at):
    with transaction.atomic():
        report = IncidentReport.objects.select_for_update(of=("self",)).filter(pk=report_id).first()
        if report is not None and report.flash_alerted_at == claimed_at:
            audited_save_locked(report, flash_alerted_at=None)


def _flash_alerts_claim(reports, limit=None):
    """Claim the flash alerts of these reports that are still to send and build their
    messages (sent after the claim is committed: a worker killed in between leaves the claim,
    and the alert then needs a duty officer's eye, as before; a refused mail gives it back)."""
    with transaction.atomic():
        # Only the report rows are locked (the claim on flash_alerted_at): without of=, FOR
        # UPDATE also locked the author's user row and the sector's province row, blocking
        # unrelated writes to them. A row another write holds locked is skipped, not waited
        # for (no drain waits on another, no deadlock); it stays due. (SQLite has no row
        # locks: Django leaves the clause out, and its transaction holds the write lock.)
        locked = (
            reports.select_for_update(of=("self",), skip_locked=True)
            .select_related("author")
            # What the claim and the message read, and no more: the whole row with its sector
            # (the province's outline) made this task ~4x dearer than sending the mail.
            .only(*FLASH_ALERT_READS, "author__first_name", "author__last_name", "author__username")
            .filter(flash_alerted_at__isnull=True)
        )
        if limit is not None:
            locked = locked[:limit]
        now = timezone.now()
        claimed = []
        for report in locked:
            if not qualifies_for_flash_alert(report):
                if report.flash_alert_due_at is not None:  # amended since: no longer due
                    audited_save_locked(report, flash_alert_due_at=None)
                continue
            audited_save_locked(report, flash_alerted_at=now)
            claimed.append(report)
        if not claimed:
            return []
        recipients = sorted(
            set(
                User.objects.filter(
                    groups__name__in=[Role.DUTY_OFFICER, Role.HEADQUARTERS], is_active=True
                )
                .exclude(email="")
                .values_list("email", flat=True)
            )
        )
    return [_flash_alert_message(report, recipients) for report in claimed]


def _flash_alert_message(report, recipients) -> EmailMessage:
    local = timezone.localtime(report.observed_at)
    casualties = (
        f"{report.civilians_killed} civilians killed, {report.civilians_injured} injured; "
        f"{report.military_killed} military killed, {report.military_injured} injured"
    )
    message = EmailMessage(
        f"FLASH: {report.get_category_display()} {report.location_phrase} "
        f"(severity {report.severity})",
        f"{report.reference}: {report.get_category_display()} {report.location_phrase}, "
        f"observed {local:%d %b %Y %H:%M} ({settings.TIME_ZONE}).\n"
        f"Severity {report.get_severity_display()}. Casualties: {casualties}.\n\n"
        f"{report.description}\n\nReported by "
        f"{report.author.get_full_name() or report.author.get_username()} "
        f"({report.get_observation_means_display().lower()}). Unreviewed, "
        f"{report.get_verification_display().lower()}.\n"
        f"Review it: {settings.SITE_URL}"
        f"{reverse('incident-detail', args=[report.uuid])}",
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )
    message.report_id, message.claimed_at = report.pk, report.flash_alerted_at
    return message
