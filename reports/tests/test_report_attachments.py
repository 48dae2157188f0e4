"""Attachments: checked by content, stored once per (report, SHA-256), photos stripped of
their EXIF except in the original (which keeps it without the camera's position), which only
duty officers download."""

import hashlib
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from reports.models import Attachment
from reports.tests.test_report_filing_api import as_user, report_body


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def jpeg_with_gps(colour=(200, 80, 40)):
    image = Image.new("RGB", (1600, 1200), colour)
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps[2] = (39.0, 32.0, 53.0)  # GPSLatitude: Kornidzor
    gps[1] = "N"
    exif[0x8825] = gps
    exif[0x010F] = "TabletCam"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def report(users):
    body = report_body()
    as_user(users["monitor"]).post(reverse("api-incident-reports"), body, format="json")
    return body["uuid"]


def upload(client, uuid, data, name="photo.jpg", sha=None):
    return client.post(
        reverse("api-incident-report-attachments", args=[uuid]),
        {"file": SimpleUploadedFile(name, data), "sha256": sha or hashlib.sha256(data).hexdigest()},
        format="multipart",
    )


@pytest.mark.django_db
def test_a_resent_photo_is_stored_once(users, report):
    client, data = as_user(users["monitor"]), jpeg_with_gps()
    first, again = upload(client, report, data), upload(client, report, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["sha256"] == again.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert first.json()["report"] == report
    assert Attachment.objects.count() == 1
    shown = client.get(reverse("api-incident-report", args=[report])).json()
    assert shown["attachments"] == [hashlib.sha256(data).hexdigest()]


@pytest.mark.django_db
def test_an_upload_cut_midway_is_refused_and_can_be_resent(users, report):
    client, data = as_user(users["monitor"]), jpeg_with_gps()
    cut = upload(client, report, data[: len(data) // 2], sha=hashlib.sha256(data).hexdigest())
    assert cut.status_code == 400 and "sha256" in cut.json()["errors"]
    assert Attachment.objects.count() == 0
    assert upload(client, report, data).status_code == 201


@pytest.mark.django_db
def test_the_type_is_checked_by_content_not_by_name(users, report):
    client = as_user(users["monitor"])
    fake = b"MZ\x90\x00 this is not a photo"
    response = upload(client, report, fake, name="photo.jpg")
    assert response.status_code == 400
    assert "Only photos" in response.json()["errors"]["file"][0]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    assert upload(client, report, pdf, name="statement.pdf").json()["kind"] == "pdf"


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused(users, report, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    response = upload(as_user(users["monitor"]), report, jpeg_with_gps())
    assert response.status_code == 400 and "larger than" in response.json()["errors"]["file"][0]


@pytest.mark.django_db
def test_no_copy_keeps_the_exif_location_and_only_duty_officers_get_the_original(users, report):
    client, data = as_user(users["monitor"]), jpeg_with_gps()
    sha = upload(client, report, data).json()["sha256"]
    as_user(users["monitor"]).post(reverse("api-incident-report-submit", args=[report]))

    def fetch(user, variant):
        url = reverse("api-incident-report-attachment-file", args=[report, sha, variant])
        return as_user(user).get(url)

    display = b"".join(fetch(users["duty_officer"], "display").streaming_content)
    thumb = b"".join(fetch(users["duty_officer"], "thumbnail").streaming_content)
    for copy in (display, thumb):
        with Image.open(io.BytesIO(copy)) as image:
            assert not image.getexif()
    with Image.open(io.BytesIO(thumb)) as image:
        assert max(image.size) <= 320

    original = fetch(users["duty_officer"], "original")
    assert original.status_code == 200
    kept = b"".join(original.streaming_content)
    # The photo policy (README): the camera's position is removed even from the original (in
    # place: same length, same picture); the rest of its EXIF stays.
    with Image.open(io.BytesIO(kept)) as image:
        assert image.getexif().get_ifd(0x8825) == {} and image.getexif()[0x010F] == "TabletCam"
    assert len(kept) == len(data) and kept != data
    assert kept.split(b"\xff\xda", 1)[1] == data.split(b"\xff\xda", 1)[1]
    assert fetch(users["headquarters"], "original").status_code == 403
    assert fetch(users["duty_officer"], "secrets").status_code == 404


@pytest.mark.django_db
def test_only_the_author_attaches_files(users, report):
    colleague = users["team_leader"]
    colleague.forward_base = users["monitor"].forward_base
    colleague.save()
    as_user(users["monitor"]).post(reverse("api-incident-report-submit", args=[report]))
    response = upload(as_user(colleague), report, jpeg_with_gps())
    assert response.status_code == 403  # a refusal of the person, not of the file
    assert "Only the report's author" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_the_same_photo_sent_in_parallel_is_stored_once(users, report):
    data, codes = jpeg_with_gps(), []
    barrier = threading.Barrier(8)

    def send():
        try:
            client = APIClient()
            client.force_authenticate(users["monitor"])
            barrier.wait()
            codes.append(upload(client, report, data).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Attachment.objects.count() == 1
    assert sorted(codes) == [200] * 7 + [201]
