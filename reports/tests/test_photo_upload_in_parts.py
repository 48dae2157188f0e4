"""Photos sent in parts over a link that drops: the server holds a prefix of the file, says
how much, trims overlaps, refuses gaps, checks the SHA-256 on the last byte and attaches the
file once however often any part is sent; abandoned uploads are purged."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.models import ForwardBase
from core.tests.factories import UserFactory
from reports.models import Attachment, PhotoUpload, PhotoUploadPart
from reports.services.uploads import photo_uploads_purge_expired
from reports.tasks import photo_uploads_purge_expired as purge_task
from reports.tests.test_report_attachments import jpeg_with_gps
from reports.tests.test_report_filing_api import as_user, report_body

CHUNK = 64 * 1024


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def parts_of(upload):
    """The bytes held of an unfinished upload (in the database: every web node sees them)."""
    return PhotoUploadPart.objects.filter(upload=upload)


def noisy_jpeg(side=700, seed=1):
    """A photo that does not compress to nothing: several parts of CHUNK."""
    image = Image.effect_noise((side, side), 80 + seed).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


@pytest.fixture
def monitor(users):
    return users["monitor"]


@pytest.fixture
def report(monitor):
    body = report_body(status="submitted")  # a filed report: the author's colleagues see it
    filed = as_user(monitor).post(reverse("api-incident-reports"), body, format="json")
    assert filed.status_code == 201
    return body["uuid"]


def start(client, uuid, data, **extra):
    body = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
            "content_type": "image/jpeg", "name": "photo.jpg", **extra}  # fmt: skip
    return client.post(reverse("api-incident-report-uploads", args=[uuid]), body, format="json")


def url(uuid, data):
    return reverse("api-incident-report-upload", args=[uuid, hashlib.sha256(data).hexdigest()])


def put(client, uuid, data, first, last, total=None, body=None):
    """Bytes first..last (inclusive) of `data`."""
    part = data[first : last + 1] if body is None else body
    header = f"bytes {first}-{first + len(part) - 1}/{len(data) if total is None else total}"
    return client.generic("PUT", url(uuid, data), part, content_type="application/octet-stream",
                          HTTP_CONTENT_RANGE=header)  # fmt: skip


def send_all(client, uuid, data, start_at=0, size=CHUNK):
    response = None
    for first in range(start_at, len(data), size):
        response = put(client, uuid, data, first, min(first + size, len(data)) - 1)
        assert response.status_code == 200, response.json()
    return response


@pytest.mark.django_db
def test_a_photo_sent_in_parts_is_attached_once_when_its_last_part_arrives(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    assert len(data) > 3 * CHUNK
    started = start(client, report, data)
    assert started.status_code == 201
    assert started.json()["received"] == 0 and started.json()["complete"] is False
    first = put(client, report, data, 0, CHUNK - 1)
    assert first.json()["received"] == CHUNK and first["Upload-Offset"] == str(CHUNK)
    assert Attachment.objects.count() == 0  # not before the last part
    last = send_all(client, report, data, start_at=CHUNK)
    body = last.json()
    assert body["complete"] is True and body["received"] == len(data)
    assert body["attachment"]["sha256"] == hashlib.sha256(data).hexdigest()
    attachment = Attachment.objects.get()
    assert attachment.original.read() == data  # no location in it: stored as sent
    assert not parts_of(PhotoUpload.objects.get()).exists()


@pytest.mark.django_db
def test_the_server_says_how_many_bytes_it_holds_so_a_tablet_resumes_there(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, 2 * CHUNK - 1)
    # The browser restarted: it starts the upload again and asks.
    again = start(client, report, data)
    assert again.status_code == 200 and again.json()["received"] == 2 * CHUNK
    asked = client.get(url(report, data))
    assert asked.status_code == 200 and asked.json()["received"] == 2 * CHUNK
    assert asked["Upload-Offset"] == str(2 * CHUNK)
    send_all(client, report, data, start_at=2 * CHUNK)
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_a_part_beyond_the_bytes_held_is_refused_with_the_offset_to_send_from(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, CHUNK - 1)
    gap = put(client, report, data, 2 * CHUNK, 3 * CHUNK - 1)
    assert gap.status_code == 409 and gap["Upload-Offset"] == str(CHUNK)
    assert gap.json()["errors"] == {"Content-Range": [f"Send from byte {CHUNK}."]}
    assert PhotoUpload.objects.get().received == CHUNK


@pytest.mark.django_db
def test_overlapping_and_repeated_parts_are_trimmed_to_what_is_new(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, CHUNK - 1)
    # The answer to the first part was lost: the tablet sends it again, then a larger one
    # from the middle of what the server holds.
    assert put(client, report, data, 0, CHUNK - 1).json()["received"] == CHUNK
    overlapping = put(client, report, data, CHUNK // 2, 2 * CHUNK - 1)
    assert overlapping.json()["received"] == 2 * CHUNK
    send_all(client, report, data, start_at=2 * CHUNK)
    assert Attachment.objects.get().original.read() == data


@pytest.mark.django_db
def test_a_resent_last_part_returns_the_same_attachment_and_stores_nothing_more(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    done = send_all(client, report, data)
    last_first = (len(data) - 1) // CHUNK * CHUNK
    again = put(client, report, data, last_first, len(data) - 1)
    assert again.status_code == 200 and again.json() == done.json()
    assert start(client, report, data).json()["complete"] is True
    assert Attachment.objects.count() == 1 and PhotoUpload.objects.count() == 1


@pytest.mark.django_db
def test_a_file_that_arrives_altered_is_refused_by_its_sha256_and_starts_again(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, CHUNK - 1)
    altered = bytearray(data[CHUNK:])
    altered[10] ^= 0xFF
    refused = put(client, report, data, CHUNK, len(data) - 1, body=bytes(altered))
    assert refused.status_code == 400
    assert "SHA-256 differs" in refused.json()["errors"]["sha256"][0]
    assert Attachment.objects.count() == 0
    assert client.get(url(report, data)).json()["received"] == 0
    send_all(client, report, data)
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_a_wrong_sha256_for_the_whole_file_is_refused_at_the_last_part(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    wrong = hashlib.sha256(b"another photo").hexdigest()
    response = client.post(reverse("api-incident-report-uploads", args=[report]),
                           {"sha256": wrong, "size": len(data)}, format="json")  # fmt: skip
    assert response.status_code == 201
    path = reverse("api-incident-report-upload", args=[report, wrong])
    answer = client.generic("PUT", path, data, content_type="application/octet-stream",
                            HTTP_CONTENT_RANGE=f"bytes 0-{len(data) - 1}/{len(data)}")  # fmt: skip
    assert answer.status_code == 400 and "sha256" in answer.json()["errors"]
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_only_the_reports_author_starts_asks_or_sends(users, monitor, report):
    data = noisy_jpeg()
    start(as_user(monitor), report, data)
    colleague = UserFactory(username="t-colleague", roles=["monitor"],
                            forward_base=monitor.forward_base)  # fmt: skip
    elsewhere = ForwardBase.objects.exclude(pk=monitor.forward_base_id).first()
    other_base = UserFactory(username="t-elsewhere", roles=["monitor"], forward_base=elsewhere)
    for user, code in ((colleague, 403), (users["duty_officer"], 403), (other_base, 404)):
        client = as_user(user)
        assert start(client, report, data).status_code == code, user
        assert client.get(url(report, data)).status_code == code, user
        assert put(client, report, data, 0, CHUNK - 1).status_code == code, user
    assert PhotoUpload.objects.get().received == 0


@pytest.mark.django_db
def test_sizes_are_bounded_by_the_attachment_limit_and_parts_by_the_body_limit(
    settings, monitor, report
):
    client, data = as_user(monitor), noisy_jpeg()
    settings.ATTACHMENT_MAX_BYTES = len(data) - 1
    too_large = start(client, report, data)
    assert too_large.status_code == 400
    assert "ATTACHMENT_MAX_MB" in too_large.json()["errors"]["size"][0]
    settings.ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    start(client, report, data)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = CHUNK
    part = put(client, report, data, 0, CHUNK)  # one byte over
    assert part.status_code == 413 and "body" in part.json()["errors"]
    beyond = put(client, report, data, 0, CHUNK - 1, total=len(data) + 10)
    assert beyond.status_code == 400 and "Content-Range" in beyond.json()["errors"]
    missing = client.generic("PUT", url(report, data), b"x", content_type="application/x-raw")
    assert missing.status_code == 400 and "Content-Range" in missing.json()["errors"]
    # The same hash with another size is not the same file.
    other_size = client.post(reverse("api-incident-report-uploads", args=[report]),
                             {"sha256": hashlib.sha256(data).hexdigest(), "size": 99},
                             format="json")  # fmt: skip
    assert other_size.status_code == 400 and "size" in other_size.json()["errors"]


@pytest.mark.django_db
def test_a_photo_already_attached_whole_needs_no_part(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    from reports.tests.test_report_attachments import upload

    assert upload(client, report, data).status_code == 201
    started = start(client, report, data)
    assert started.json()["complete"] is True and started.json()["received"] == len(data)


@pytest.mark.django_db
def test_a_part_costs_a_bounded_number_of_queries(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, CHUNK - 1)
    with CaptureQueriesContext(connection) as middle:
        put(client, report, data, CHUNK, 2 * CHUNK - 1)
    with CaptureQueriesContext(connection) as asked:
        client.get(url(report, data))
    assert len(middle) <= 6, [q["sql"] for q in middle]
    assert len(asked) <= 4, [q["sql"] for q in asked]


@pytest.mark.django_db
def test_abandoned_uploads_are_purged_with_their_parts_once(settings, monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    kept = noisy_jpeg(seed=2)
    start(client, report, data)
    put(client, report, data, 0, CHUNK - 1)
    start(client, report, kept)
    upload = PhotoUpload.objects.get(sha256=hashlib.sha256(data).hexdigest())
    assert parts_of(upload).exists()
    old = timezone.now() - timedelta(hours=settings.PHOTO_UPLOAD_EXPIRY_HOURS + 1)
    PhotoUpload.objects.filter(pk=upload.pk).update(updated_at=old)
    assert purge_task() == 1
    assert not parts_of(upload).exists()
    assert list(PhotoUpload.objects.values_list("sha256", flat=True)) == [
        hashlib.sha256(kept).hexdigest()
    ]
    assert photo_uploads_purge_expired() == 0  # twice: nothing more
    # The tablet comes back later: it starts that photo again from byte 0.
    assert start(client, report, data).json()["received"] == 0


@pytest.mark.django_db
def test_parts_that_lost_bytes_are_resumed_from_what_they_really_hold(monitor, report):
    client, data = as_user(monitor), noisy_jpeg()
    start(client, report, data)
    put(client, report, data, 0, 2 * CHUNK - 1)
    parts_of(PhotoUpload.objects.get()).delete()
    gap = put(client, report, data, 2 * CHUNK, 3 * CHUNK - 1)
    assert gap.status_code == 409 and gap["Upload-Offset"] == "0"
    send_all(client, report, data)
    assert Attachment.objects.get().original.read() == data


@pytest.mark.django_db
def test_a_kept_original_is_stored_without_its_camera_position(monitor, report):
    client, data = as_user(monitor), jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    start(client, report, data, original=True)
    done = send_all(client, report, data)
    # Named by what the tablet sent (a resend finds it); stored without the position.
    assert done.json()["attachment"]["sha256"] == hashlib.sha256(data).hexdigest()
    stored = Attachment.objects.get().original.read()
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert exif.get_ifd(0x8825) == {} and exif[0x010F] == "TabletCam"
    assert len(stored) == len(data)  # blanked in place: the picture's bytes untouched
    assert stored.split(b"\xff\xda", 1)[1] == data.split(b"\xff\xda", 1)[1]


@pytest.mark.django_db
def test_a_file_refused_when_whole_is_attached_when_its_last_byte_is_sent_again(
    settings, monitor, report
):
    client, data = as_user(monitor), noisy_jpeg()
    settings.ATTACHMENT_MAX_PIXELS = 1000
    start(client, report, data)
    put(client, report, data, 0, len(data) - 2)  # all but the last byte
    refused = put(client, report, data, len(data) - 1, len(data) - 1)
    assert refused.status_code == 400 and "ATTACHMENT_MAX_MEGAPIXELS" in refused.json()["detail"]
    assert PhotoUpload.objects.get().received == len(data) and Attachment.objects.count() == 0
    settings.ATTACHMENT_MAX_PIXELS = 40_000_000
    asked = start(client, report, data).json()
    assert (asked["received"], asked["complete"]) == (len(data), False)
    again = put(client, report, data, len(data) - 1, len(data) - 1)
    assert again.status_code == 200 and again.json()["complete"] is True
    assert Attachment.objects.get().original.read() == data
