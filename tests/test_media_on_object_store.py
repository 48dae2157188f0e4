"""Media for more than one web node: attachments in an S3-compatible bucket (a real moto
server process, tests/s3.py), the parts of unfinished photo uploads in the database, and two
gunicorn processes on one database and one bucket serving the same attachment, a photo sent
in parts to both."""

import hashlib
import json
import os
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from conftest import BASE_DIR, _process_env, stop_process
from core.tests.factories import code_for, second_factor_for
from reports.models import Attachment, PhotoUpload, PhotoUploadPart
from reports.services.uploads import photo_uploads_purge_expired
from reports.tests.test_photo_upload_in_parts import noisy_jpeg
from reports.tests.test_report_attachments import jpeg_with_gps, upload
from reports.tests.test_report_filing_api import as_user, report_body
from tests.test_production_stack import _production_env, _run_python

# Starts a moto server and, three times, two gunicorn processes: ~50 s.
pytestmark = pytest.mark.long

PASSWORD = "correct horse battery staple"  # core.tests.factories.UserFactory's
GUNICORN = BASE_DIR / ".venv" / "bin" / "gunicorn"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_url(uuid, data, variant):
    return reverse("api-incident-report-attachment-file", args=[uuid, sha(data), variant])


# --- the settings -----------------------------------------------------------------------------


def _default_storage(settings_module, **env):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES))"
    )
    result = _run_python(code, {**env, "DJANGO_SETTINGS_MODULE": settings_module})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


S3_ENV = {
    "MEDIA_S3_BUCKET": "mission-media",
    "MEDIA_S3_ENDPOINT_URL": "https://objects.example.org",
    "MEDIA_S3_REGION": "eu-central-1",
    "MEDIA_S3_ACCESS_KEY_ID": "key-id",
    "MEDIA_S3_SECRET_ACCESS_KEY": "key-secret",
}


@pytest.mark.parametrize("module", ["production", "test"])
def test_media_stay_on_the_filesystem_unless_a_bucket_is_named(module):
    env = _production_env() if module == "production" else dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("MEDIA_S3_")}
    storages = _default_storage(f"missionapp.settings.{module}", **env)
    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    static = storages["staticfiles"]["BACKEND"]
    assert static.startswith("whitenoise." if module == "production" else "django.")

    on_s3 = _default_storage(f"missionapp.settings.{module}", **env, **S3_ENV)["default"]
    assert on_s3["BACKEND"] == "storages.backends.s3.S3Storage"
    options = on_s3["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"], options["region_name"]) == (
        "mission-media", "https://objects.example.org", "eu-central-1"
    )  # fmt: skip
    assert (options["access_key"], options["secret_key"]) == ("key-id", "key-secret")
    # Private (no ACL sent, no public URL), and a name taken is never written over.
    assert options["default_acl"] is None and options["file_overwrite"] is False
    assert 0 < options["max_memory_size"] <= 5 * 1024 * 1024  # a 20 MB original: not in memory
    assert (
        _default_storage(f"missionapp.settings.{module}", **env, **S3_ENV)["staticfiles"]
        == (storages["staticfiles"])
    )


# --- one process, the bucket --------------------------------------------------------------------


@pytest.mark.django_db
def test_an_attachment_is_stored_in_the_bucket_and_streamed_from_it(users, s3_media, tmp_path,
                                                                    settings):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path / "media"
    monitor = as_user(users["monitor"])
    body = report_body(status="submitted")
    assert monitor.post(reverse("api-incident-reports"), body, format="json").status_code == 201
    data = jpeg_with_gps()
    assert upload(monitor, body["uuid"], data).status_code == 201

    attachment = Attachment.objects.get()
    names = {v: getattr(attachment, v).name for v in ("original", "display", "thumbnail")}
    assert s3_media.keys() == sorted(names.values())
    assert all(f"/{variant}/{sha(data)}." in name for variant, name in names.items())
    stored = {variant: s3_media.read(name) for variant, name in names.items()}
    assert len(stored["original"]) == attachment.size and stored["original"][:2] == b"\xff\xd8"
    assert len(stored["thumbnail"]) < len(stored["display"]) < len(stored["original"])
    assert not (tmp_path / "media").exists()  # nothing on the local disk

    duty_officer = as_user(users["duty_officer"])
    for variant in ("original", "display", "thumbnail"):
        response = duty_officer.get(file_url(body["uuid"], data, variant))
        assert response.status_code == 200, variant
        served = b"".join(response.streaming_content)
        assert served == stored[variant], variant
        assert response["Content-Length"] == str(len(served))
    # The same file again: stored once, nothing more in the bucket.
    assert upload(monitor, body["uuid"], data).status_code == 200
    assert s3_media.keys() == sorted(names.values())


@pytest.mark.django_db(transaction=True)  # the backup reads committed rows
def test_the_backup_reads_the_attachments_from_the_bucket(users, s3_media, settings, tmp_path):
    """`manage.py backup` walks the media through the storage API: from the bucket, the
    same files as the bucket holds, byte for byte."""
    import io
    import tarfile

    from django.core.management import call_command

    from core.backups.archive import archive_verify
    from reports.tests.factories import AttachmentFactory, IncidentReportFactory

    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.jsonl"
    report = IncidentReportFactory(author=users["monitor"], submitted=True)
    AttachmentFactory(report=report, data=jpeg_with_gps(), name="a.jpg")
    keys = s3_media.keys()
    assert len(keys) == 3
    call_command("backup", output_dir=str(tmp_path / "backups"), stdout=io.StringIO())
    (archive,) = (tmp_path / "backups").glob("missionapp-*.tar")
    manifest = archive_verify(archive)
    media = sorted(name for name in manifest["members"] if name.startswith("media/"))
    assert media == [f"media/{key}" for key in keys]
    with tarfile.open(archive) as tar:
        for key in keys:
            assert tar.extractfile(f"media/{key}").read() == s3_media.read(key), key


# --- the parts of unfinished uploads ------------------------------------------------------------


@pytest.mark.django_db
def test_a_part_read_before_another_node_completed_the_file_answers_the_attachment(users):
    """The request read the upload while it was unfinished; by the time it holds the lock,
    another node has attached the file and deleted its parts: it answers the attachment,
    with every byte received, and stores nothing."""
    from reports.services.uploads import photo_upload_part, photo_upload_start
    from reports.tests.test_photo_upload_in_parts import put, start

    monitor = users["monitor"]
    client = as_user(monitor)
    body = report_body(status="submitted")
    client.post(reverse("api-incident-reports"), body, format="json")
    uuid, data = body["uuid"], noisy_jpeg(300, seed=6)
    start(client, uuid, data)
    put(client, uuid, data, 0, 999)
    report = PhotoUpload.objects.get().report
    stale, _ = photo_upload_start(report=report, by=monitor, sha256=sha(data), size=len(data))
    assert put(client, uuid, data, 1000, len(data) - 1).json()["complete"] is True
    assert stale.attachment_id is None and not PhotoUploadPart.objects.exists()

    answered = photo_upload_part(upload=stale, by=monitor, offset=1000, data=data[1000:],
                                 total=len(data))  # fmt: skip
    assert answered.attachment == Attachment.objects.get()
    assert answered.received == len(data) == PhotoUpload.objects.get().received
    assert not PhotoUploadPart.objects.exists()


def _put(session, base, uuid, data, first, last):
    part = data[first : last + 1]
    return session.put(
        base + reverse("api-incident-report-upload", args=[uuid, sha(data)]), data=part,
        headers={"Content-Range": f"bytes {first}-{last}/{len(data)}",
                 "Content-Type": "application/octet-stream"},
        timeout=60,
    )  # fmt: skip


def _start_node(port, media_root, env, log_path):
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(GUNICORN), "missionapp.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "120"],
            cwd=BASE_DIR, env={**env, "MEDIA_ROOT": str(media_root), "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    proc.log_path, proc.base = log_path, f"http://127.0.0.1:{port}"
    return proc


def _wait_until_serving(proc, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"gunicorn did not start:\n{proc.log_path.read_text()[-3000:]}")
        try:
            requests.get(proc.base + "/healthz", timeout=10)  # the first loads the app
            return
        except requests.RequestException:  # not listening yet, or still loading
            time.sleep(0.3)


@pytest.fixture
def two_nodes(s3_media, tmp_path):
    """Two gunicorn processes on the test database and one bucket, each with its own empty
    MEDIA_ROOT (a file on one's disk could not be served by the other)."""
    from tests.s3 import _free_port

    env = {**_process_env(tmp_path / "mail"), **s3_media.env}
    nodes = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            nodes.append(_start_node(_free_port(), tmp_path / name, env,
                                     tmp_path / f"gunicorn-{name}.log"))  # fmt: skip
        for node in nodes:
            _wait_until_serving(node)
        yield nodes
    finally:
        for node in nodes:
            stop_process(node)


def _login(base, user, device):
    body = {"username": user.username, "password": PASSWORD, "device_name": device}
    from core import services

    if services.second_factor_required(user):
        second_factor_for(user)
        body["otp_code"] = code_for(user)
    response = requests.post(base + reverse("api-device-login"), json=body, timeout=30)
    assert response.status_code == 201, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Token {response.json()['token']}"
    return session


def _monitor_with_a_report(node, users):
    """The monitor's tablet logged in on `node`, and the uuid of a report it filed there."""
    monitor = _login(node.base, users["monitor"], "Tablet KPN-03")
    body = report_body(status="submitted")
    filed = monitor.post(node.base + reverse("api-incident-reports"), json=body, timeout=30)
    assert filed.status_code == 201, filed.text
    return monitor, body["uuid"]


def _start(monitor, base, uuid, data, **extra):
    body = {"sha256": sha(data), "size": len(data), **extra}
    url = base + reverse("api-incident-report-uploads", args=[uuid])
    started = monitor.post(url, json=body, timeout=30)
    assert started.status_code in (200, 201), started.text
    return started


def _files_under(path: Path):
    return [p for p in path.rglob("*") if p.is_file()]


@pytest.mark.django_db(transaction=True)
def test_two_nodes_take_a_photo_in_parts_from_both_and_serve_the_same_attachment(
    users, s3_media, two_nodes, tmp_path
):
    node_a, node_b = two_nodes
    monitor, uuid = _monitor_with_a_report(node_a, users)
    data = noisy_jpeg()
    half = len(data) // 2

    started = _start(monitor, node_a.base, uuid, data, content_type="image/jpeg", name="photo.jpg")
    assert started.status_code == 201, started.text
    first = _put(monitor, node_a.base, uuid, data, 0, half - 1)
    assert first.status_code == 200 and first.json()["received"] == half
    # Held where every node sees it: in the database, not on node A's disk.
    assert list(PhotoUploadPart.objects.values_list("offset", "size")) == [(0, half)]
    # The answer was lost: the tablet sends part 1 again, now to node B, which trims it.
    again = _put(monitor, node_b.base, uuid, data, 0, half - 1)
    assert again.status_code == 200 and again.headers["Upload-Offset"] == str(half)
    asked = monitor.get(node_b.base + reverse("api-incident-report-upload", args=[uuid, sha(data)]))
    assert asked.json()["received"] == half
    assert PhotoUploadPart.objects.count() == 1

    last = _put(monitor, node_b.base, uuid, data, half, len(data) - 1)
    assert last.status_code == 200, last.text
    assert last.json()["complete"] is True and last.json()["attachment"]["sha256"] == sha(data)
    assert not PhotoUploadPart.objects.exists()  # deleted once attached
    attachment = Attachment.objects.get()
    assert s3_media.read(attachment.original.name) == data  # no position in it: as sent

    duty_officer = _login(node_a.base, users["duty_officer"], "HQ laptop")
    for variant in ("original", "display", "thumbnail"):
        served = {}
        for node in (node_a, node_b):
            client = duty_officer if variant == "original" else monitor
            response = client.get(node.base + file_url(uuid, data, variant), timeout=30)
            assert response.status_code == 200, (variant, node.base, response.text[:300])
            assert response.headers["Content-Length"] == str(len(response.content))
            served[node.base] = response.content
        assert served[node_a.base] == served[node_b.base], variant
        assert served[node_a.base] == s3_media.read(getattr(attachment, variant).name)
    assert sha(served[node_a.base]) == sha(served[node_b.base])
    assert not _files_under(tmp_path / "a") and not _files_under(tmp_path / "b")


@pytest.mark.django_db(transaction=True)
def test_the_same_last_part_racing_to_both_nodes_attaches_the_photo_once(
    users, s3_media, two_nodes
):
    node_a, node_b = two_nodes
    monitor, uuid = _monitor_with_a_report(node_a, users)
    data = noisy_jpeg(seed=3)
    _start(monitor, node_a.base, uuid, data)
    half = len(data) // 2
    assert _put(monitor, node_a.base, uuid, data, 0, half - 1).status_code == 200

    answers = {}

    def send(node):
        answers[node.base] = _put(monitor, node.base, uuid, data, half, len(data) - 1)

    threads = [threading.Thread(target=send, args=(node,)) for node in two_nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for base, answer in answers.items():
        assert answer.status_code == 200, (base, answer.text)
        assert answer.json()["complete"] is True
    assert len(answers) == 2
    assert Attachment.objects.count() == 1 and not PhotoUploadPart.objects.exists()
    attachment = Attachment.objects.get()
    names = [getattr(attachment, v).name for v in ("original", "display", "thumbnail")]
    assert all(s3_media.read(name) for name in names)  # the loser left the winner's files
    assert s3_media.read(attachment.original.name) == data


@pytest.mark.django_db(transaction=True)
def test_parts_held_across_processes_are_purged_with_their_expired_upload(
    settings, users, two_nodes
):
    node_a, node_b = two_nodes
    monitor, uuid = _monitor_with_a_report(node_b, users)
    data, kept = noisy_jpeg(seed=4), noisy_jpeg(seed=5)
    for photo in (data, kept):
        _start(monitor, node_b.base, uuid, photo)
        assert _put(monitor, node_b.base, uuid, photo, 0, 99_999).status_code == 200
    assert _put(monitor, node_a.base, uuid, data, 100_000, 149_999).json()["received"] == 150_000
    abandoned = PhotoUpload.objects.get(sha256=sha(data))
    assert list(abandoned.parts.order_by("offset").values_list("offset", "size")) == [
        (0, 100_000), (100_000, 50_000)
    ]  # fmt: skip
    assert (
        b"".join(bytes(p) for p in abandoned.parts.values_list("data", flat=True))
        == (data[:150_000])
    )
    old = timezone.now() - timedelta(hours=settings.PHOTO_UPLOAD_EXPIRY_HOURS + 1)
    PhotoUpload.objects.filter(pk=abandoned.pk).update(updated_at=old)
    assert photo_uploads_purge_expired() == 1
    assert not PhotoUploadPart.objects.filter(upload_id=abandoned.pk).exists()
    assert PhotoUploadPart.objects.get().upload.sha256 == sha(kept)
    assert photo_uploads_purge_expired() == 0
    # The tablet comes back to node A: it starts that photo again from byte 0.
    again = _start(monitor, node_a.base, uuid, data)
    assert again.status_code == 201 and again.json()["received"] == 0
