"""/metrics: who may read it, the latency histogram, and the backlog gauges computed when
scraped (their values match the rows, in a bounded number of queries)."""

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import health
from core.audit.models import AuditEntry
from liaison.tests.factories import PartyFactory
from patrols.models import ItineraryNotification
from patrols.tests.factories import ItineraryNotificationFactory, ItineraryVersionFactory
from reports.models import (
    DailySummary,
    IncidentReport,
    SummaryDelivery,
    SummaryRecipient,
    SummaryRevision,
)
from reports.tests.factories import IncidentReportFactory

OUTSIDE = "203.0.113.7"  # TEST-NET-3: not an allowed network


def scrape(client, **extra):
    response = client.get(reverse("metrics"), **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def samples(text):
    """{(name, sorted labels): value} of every sample."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text, name, **labels):
    return samples(text).get((name, tuple(sorted(labels.items()))))


@pytest.mark.django_db
def test_it_refuses_an_address_outside_the_allowed_networks_and_logs_it(client, caplog):
    with caplog.at_level(logging.WARNING, logger="missionapp.security"):
        response = client.get(reverse("metrics"), REMOTE_ADDR=OUTSIDE)

    assert response.status_code == 403
    assert b"missionapp_" not in response.content
    refusals = [r for r in caplog.records if r.name == "missionapp.security"]
    assert refusals and OUTSIDE in refusals[0].getMessage()


@pytest.mark.django_db
def test_loopback_may_read_it_and_the_compose_network_once_named(client, settings):
    assert "missionapp_outbox_backlog" in scrape(client)  # the test client is 127.0.0.1
    # Not by default: the host's proxy forwards every outside request from that network.
    response = client.get(reverse("metrics"), REMOTE_ADDR="172.31.250.9")
    assert response.status_code == 403
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "172.31.250.0/24"]
    assert "missionapp_outbox_backlog" in scrape(client, REMOTE_ADDR="172.31.250.9")


@pytest.mark.django_db
def test_the_token_lets_any_address_in_and_a_wrong_one_is_refused(client, settings):
    settings.METRICS_TOKEN = "a-long-random-metrics-token-for-the-test"

    scrape(client, REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    wrong = client.get(
        reverse("metrics"), REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer guessed"
    )
    assert wrong.status_code == 403


@pytest.mark.django_db
def test_a_request_forwarded_by_an_untrusted_proxy_is_not_believed(client, settings):
    # The host's proxy forwards from the compose gateway; without TRUSTED_PROXIES naming it,
    # every internet client would look like 172.31.250.1.
    settings.TRUSTED_PROXIES = []
    response = client.get(
        reverse("metrics"), REMOTE_ADDR="172.31.250.1", HTTP_X_FORWARDED_FOR=OUTSIDE
    )
    assert response.status_code == 403
    # Nor through a trusted proxy, even inside the allowed networks: a proxy that sends no
    # X-Forwarded-For, or passes on the client's own "127.0.0.1", would otherwise let anyone in.
    settings.TRUSTED_PROXIES = ["172.31.250.1"]
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8", "172.31.250.0/24"]
    for forwarded in ({"HTTP_X_FORWARDED_FOR": OUTSIDE}, {"HTTP_X_FORWARDED_FOR": "127.0.0.1"},
                      {"HTTP_X_FORWARDED_FOR": ""}, {}):  # fmt: skip
        response = client.get(reverse("metrics"), REMOTE_ADDR="172.31.250.1", **forwarded)
        assert response.status_code == 403, forwarded


@pytest.mark.django_db
def test_the_latency_histogram_counts_each_request_by_view_method_and_status(client):
    labels = {"view": "healthz", "method": "GET", "status": "200"}
    before = value(scrape(client), "missionapp_http_request_duration_seconds_count", **labels)
    client.get(reverse("healthz"))
    client.get(reverse("healthz"))
    client.get("/no-such-page/")
    text = scrape(client)

    count = value(text, "missionapp_http_request_duration_seconds_count", **labels)
    assert count == (before or 0) + 2
    assert value(text, "missionapp_http_request_duration_seconds_bucket", le="+Inf", **labels) == (
        count
    )
    assert value(text, "missionapp_http_request_duration_seconds_sum", **labels) > 0
    unresolved = {"view": "unresolved", "method": "GET", "status": "404"}
    assert value(text, "missionapp_http_request_duration_seconds_count", **unresolved) >= 1


@pytest.fixture
def backlog(users):
    """Outbox rows in every state, one flash alert due, and what the writes left unsealed."""
    version = ItineraryVersionFactory()
    S = ItineraryNotification.Status
    for status in (S.QUEUED, S.QUEUED, S.SENDING, S.SENT, S.ACKNOWLEDGED, S.FAILED):
        ItineraryNotificationFactory(version=version, party=PartyFactory(), status=status)
    summary = DailySummary.objects.create(
        year=2026, number=1, period_start=timezone.now() - timedelta(days=1),
        period_end=timezone.now(), time_zone="Asia/Yerevan",
    )  # fmt: skip
    revision = SummaryRevision.objects.create(
        summary=summary, number=1, content={}, content_sha256="0" * 64
    )
    D = SummaryDelivery.Status
    for number, status in enumerate((D.QUEUED, D.SENDING, D.SENDING, D.SENT, D.FAILED)):
        recipient = SummaryRecipient.objects.create(
            name=f"HQ {number}", email=f"hq{number}@example.org", level="internal"
        )
        SummaryDelivery.objects.create(
            revision=revision, recipient=recipient, level="internal", status=status
        )
    IncidentReportFactory(submitted=True, severity=5, flash_alert=True)
    IncidentReportFactory(submitted=True, severity=1)


@pytest.mark.django_db
def test_the_backlog_gauges_match_the_rows_in_a_bounded_number_of_queries(
    client, backlog, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):  # 4 COUNTs and the heartbeats' one cache read
        text = scrape(client)

    kind = "missionapp_outbox_backlog"
    assert value(text, kind, kind="itinerary_notification") == 3  # queued 2, sending 1
    assert value(text, kind, kind="summary_delivery") == 3  # queued 1, sending 2
    due = IncidentReport.objects.filter(flash_alert_due_at__isnull=False).count()
    assert due == 1 and value(text, "missionapp_flash_alerts_pending") == 1
    unsealed = AuditEntry.objects.filter(seq__isnull=True).count()
    assert unsealed > 0  # the writes above were audited, nothing sealed them yet
    assert value(text, "missionapp_audit_entries_unsealed") == unsealed


@pytest.mark.django_db
def test_the_queue_length_counts_the_messages_waiting_on_the_broker(client, settings):
    # A queue of its own: no worker of the test run consumes it.
    queue = f"metrics-test-{os.getpid()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    try:
        for _ in range(3):
            current_app.send_task("core.tasks.health_beat", queue=queue)
        text = scrape(client)
    finally:
        _purge(queue, settings)

    assert value(text, "missionapp_celery_queue_length", queue=queue) == 3
    assert value(scrape(client), "missionapp_celery_queue_length", queue=queue) == 0


def _purge(queue, settings):
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        for path in folder.glob(f"*.{queue}.msg"):
            path.unlink()
    else:
        with current_app.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)


@pytest.mark.django_db
def test_the_heartbeat_ages_are_absent_until_recorded_then_counted_in_seconds(client):
    assert "missionapp_worker_heartbeat_age_seconds" not in scrape(client)

    health._record(health.WORKER_KEY, when=timezone.now() - timedelta(seconds=30))
    health._record(health.BEAT_KEY, when=timezone.now() - timedelta(seconds=5))
    text = scrape(client)

    assert 30 <= value(text, "missionapp_worker_heartbeat_age_seconds") < 40
    assert 5 <= value(text, "missionapp_beat_last_sent_age_seconds") < 15
