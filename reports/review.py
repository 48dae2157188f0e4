"""Duty officers' review and verification of incident reports, and the flash alert.

Editorial status (submitted → reviewed / returned / rejected) and verification level
(unverified → … → verified) are separate: a report can be reviewed and still unverified.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.audit.registry import audit_read_locked
from core.models import User
from core.roles import Role, has_role
from reports.models import IncidentEvent, IncidentReport

S = IncidentReport.Status


def _require_duty_officer(by):
    if not has_role(by, Role.DUTY_OFFICER):
        # A refusal of the person, not of the input: 403 in the API, logged.
        raise PermissionDenied("Only a duty officer reviews and verifies reports.")


def _locked(report):
    return IncidentReport.objects.select_for_update().get(pk=report.pk)


def _decide(report, by, status, **fields):
    _require_duty_officer(by)
    report = _locked(report)
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


@transaction.atomic
def report_verify(*, report: IncidentReport, by: User, level: str, note: str) -> IncidentReport:
    _require_duty_officer(by)
    if level not in IncidentReport.Verification.values:
        raise ValidationError({"level": ["Choose a verification level."]})
    if level != IncidentReport.Verification.UNVERIFIED and not (note or "").strip():
        raise ValidationError({"note": ["Say what corroborates the report."]})
    report = _locked(report)
    if report.status not in (S.SUBMITTED, S.REVIEWED):
        raise ValidationError({"status": ["Only a submitted or reviewed report is verified."]})
    report.verification, report.verification_note = level, (note or "").strip()
    report.version += 1
    report.save(update_fields=["verification", "verification_note", "version"])
    return report


@transaction.atomic
def reports_link_as_one_event(
    *, reports: list[IncidentReport], by: User, note: str = ""
) -> IncidentEvent:
    """Two or more reports of the same event, so summaries count it once."""
    _require_duty_officer(by)
    if len(reports) < 2:
        raise ValidationError({"reports": ["Link at least two reports."]})
    locked = [_locked(r) for r in reports]
    events = {r.event_id for r in locked if r.event_id}
    if len(events) > 1:
        raise ValidationError({"reports": ["These reports already belong to different events."]})
    event = (IncidentEvent.objects.get(pk=events.pop()) if events
             else IncidentEvent.objects.create(created_by=by, note=note))  # fmt: skip
    for report in locked:
        if report.event_id != event.pk:
            report.event = event
            report.save(update_fields=["event"])
    return event


def qualifies_for_flash_alert(report: IncidentReport) -> bool:
    return report.status != S.DRAFT and (
        report.casualties > 0 or report.severity >= settings.FLASH_ALERT_SEVERITY
    )


def flash_alert_enqueue_if_needed(report: IncidentReport) -> None:
    """Called when a report is submitted: the alert goes out after the commit."""
    if qualifies_for_flash_alert(report) and report.flash_alerted_at is None:
        from reports import tasks

        transaction.on_commit(lambda: tasks.report_flash_alert.delay(report.pk))


def report_flash_alert_send(*, report_id: int) -> bool:
    """E-mail duty officers and headquarters about a serious report, once per report:
    `flash_alerted_at` is claimed in the same transaction that decides to send, and given
    back if the mail could not be handed to the mail server, so that the task's retry sends
    it (a lost flash alert is worse than a second one). Raises the mail error for the retry."""
    message = _flash_alert_claim(report_id)
    if message is None:
        return False
    try:
        message.send(fail_silently=False)
    except Exception:
        _flash_alert_unclaim(report_id, message.claimed_at)
        raise
    return True


def _flash_alert_unclaim(report_id, claimed_at):
    with transaction.atomic():
        report = IncidentReport.objects.select_for_update(of=("self",)).filter(pk=report_id).first()
        if report is not None and report.flash_alerted_at == claimed_at:
            audit_read_locked(report, ["flash_alerted_at"])
            report.flash_alerted_at = None
            report.save(update_fields=["flash_alerted_at"])


FLASH_ALERT_READS = (
    "uuid", "status", "severity", "category", "location_phrase", "observed_at", "description",
    "observation_means", "verification", "flash_alerted_at", "civilians_killed",
    "civilians_injured", "military_killed", "military_injured", "author",
)  # fmt: skip


def _flash_alert_claim(report_id):
    """Claim the report's flash alert and build its message; None when it is not due."""
    with transaction.atomic():
        # Only the report row is locked (the claim on flash_alerted_at): without of=, FOR
        # UPDATE also locked the author's user row and the sector's province row, blocking
        # unrelated writes to them. (SQLite has no row locks: Django leaves the clause out.)
        report = (
            IncidentReport.objects.select_for_update(of=("self",))
            .select_related("author")
            # What the claim and the message read, and no more: the whole row with its sector
            # (the province's outline) made this task ~4x dearer than sending the mail.
            .only(*FLASH_ALERT_READS, "author__first_name", "author__last_name")
            .filter(pk=report_id)
            .first()
        )
        if report is None or report.flash_alerted_at is not None:
            return None
        if not qualifies_for_flash_alert(report):
            return None
        audit_read_locked(report, ["flash_alerted_at"])
        report.flash_alerted_at = timezone.now()
        report.save(update_fields=["flash_alerted_at"])
        recipients = sorted(
            set(
                User.objects.filter(
                    groups__name__in=[Role.DUTY_OFFICER, Role.HEADQUARTERS], is_active=True
                )
                .exclude(email="")
                .values_list("email", flat=True)
            )
        )
        local = timezone.localtime(report.observed_at)
        casualties = (
            f"{report.civilians_killed} civilians killed, {report.civilians_injured} injured; "
            f"{report.military_killed} military killed, {report.military_injured} injured"
        )
        message = EmailMessage(
            f"FLASH: {report.get_category_display()} {report.location_phrase} "
            f"(severity {report.severity})",
            f"{report.get_category_display()} {report.location_phrase}, observed "
            f"{local:%d %b %Y %H:%M} ({settings.TIME_ZONE}).\n"
            f"Severity {report.severity}. Casualties: {casualties}.\n\n"
            f"{report.description}\n\nReported by {report.author.get_full_name()} "
            f"({report.get_observation_means_display().lower()}). Unreviewed, "
            f"{report.get_verification_display().lower()}.\n"
            f"Review it: {settings.SITE_URL}"
            f"{reverse('incident-detail', args=[report.uuid])}",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
        message.claimed_at = report.flash_alerted_at
    # Sent after the claim is committed: a worker killed in between leaves the claim (the
    # alert then needs a duty officer's eye, as before); a refused mail gives it back.
    return message
