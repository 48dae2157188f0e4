"""Scheduled jobs run on a real Celery worker and are idempotent."""

import pytest
from django.conf import settings
from django.core import mail

from conftest import wait_for
from core.audit.models import AuditChainHead, AuditEntry
from core.audit.services import audit_seal
from core.tasks import audit_chain_verify, device_tokens_purge_expired
from core.tests.tampering import tamper


def break_entry(entry):
    tamper("UPDATE core_auditentry SET object_repr = 'edited' WHERE id = %s", [entry.pk])


def test_beat_schedules_the_chain_verification_and_the_token_purge():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"core.tasks.audit_chain_verify", "core.tasks.device_tokens_purge_expired"} <= tasks
    from missionapp.celery import app

    assert {"core.tasks.audit_chain_verify", "core.tasks.device_tokens_purge_expired"} <= set(
        app.tasks
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_verifies_the_chain_and_records_the_first_broken_entry(
    celery_worker, geography
):
    AuditChainHead.objects.filter(pk=1).update(verified_at=None, verified_ok=None)
    audit_chain_verify.delay()
    head = wait_for(
        lambda: AuditChainHead.objects.filter(pk=1, verified_ok=True).first(),
        message="the worker to verify the intact chain",
    )
    assert head.verified_problem == ""

    # The task sealed what waited before verifying.
    victim = AuditEntry.objects.sealed().order_by("seq")[7]
    break_entry(victim)
    audit_chain_verify.delay()
    head = wait_for(
        lambda: AuditChainHead.objects.filter(pk=1, verified_ok=False).first(),
        message="the worker to notice the broken chain",
    )
    assert f"entry #{victim.seq} (id {victim.pk})" in head.verified_problem


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_purges_expired_device_tokens(celery_worker, users):
    from datetime import timedelta

    from django.utils import timezone

    from core.models import DeviceToken

    DeviceToken.objects.create(user=users["monitor"], device_name="old tablet")
    DeviceToken.objects.create(user=users["monitor"], device_name="current tablet")
    DeviceToken.objects.filter(device_name="old tablet").update(
        expiry=timezone.now() - timedelta(hours=1)
    )
    device_tokens_purge_expired.delay()
    wait_for(
        lambda: not DeviceToken.objects.filter(device_name="old tablet").exists(),
        message="the worker to purge the expired token",
    )
    assert DeviceToken.objects.filter(device_name="current tablet").exists()
    entry = AuditEntry.objects.filter(model="core.devicetoken", action="delete").get()
    assert (entry.client, entry.client_ref) == ("task", "device_tokens_purge_expired")


@pytest.mark.django_db
def test_a_broken_chain_alerts_the_administrators_once_however_often_the_job_runs(
    geography, settings, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("Mission IT", "it@mission.test")]
    audit_seal()
    break_entry(AuditEntry.objects.order_by("seq")[3])
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            result = audit_chain_verify()
    assert "BROKEN" in result
    assert len(mail.outbox) == 1
    assert "entry #4" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_broken_chain_with_nobody_to_e_mail_says_so_in_the_log(
    geography, settings, django_capture_on_commit_callbacks, caplog
):
    settings.ADMINS = []
    audit_seal()
    break_entry(AuditEntry.objects.order_by("seq")[3])
    with django_capture_on_commit_callbacks(execute=True):
        assert "BROKEN" in audit_chain_verify()
    assert mail.outbox == []
    assert any(r.levelname == "CRITICAL" and "set ADMINS" in r.getMessage() for r in caplog.records)
