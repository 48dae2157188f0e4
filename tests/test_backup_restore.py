"""Backups and the restore drill: a database with reports, a photo, a daily summary and a
sealed audit chain is backed up, restored by `manage.py restore` in its own process into a
fresh database and media folder, and is the same system: every row, every file, the audit
chain, and it takes the next report. A damaged archive, a database that is not empty and
another database vendor are refused with nothing changed; the nightly job makes one archive
a night and deletes only our old ones.

On whichever database the suite runs on: a new SpatiaLite file, or a new PostGIS database
(CREATE DATABASE, dropped at the end).
"""

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from conftest import BASE_DIR, _process_env
from core.audit.anchors import anchor_file_append
from core.audit.keys import generate_key
from core.audit.services import audit_seal
from core.backups.archive import DATABASE_MEMBERS, MANIFEST, archive_verify, sha256_file
from core.backups.authenticity import manifest_authenticate
from core.backups.nightly import backups_retain
from core.tasks import backup_nightly
from reports.models import Attachment, IncidentReport
from reports.services.uploads import photo_upload_part, photo_upload_start
from reports.tests.factories import AttachmentFactory, IncidentReportFactory
from reports.tests.test_daily_summary import period as period  # noqa: F401  (a fixture)
from reports.tests.test_daily_summary import produce
from reports.tests.test_report_attachments import jpeg_with_gps
from tests.restored_system import tables

YEREVAN = timezone.get_default_timezone()
pytestmark = pytest.mark.long  # about a minute on PostGIS (a database created and restored)
# Committed rows: `manage.py restore` and the checks run in processes of their own.
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # This test's own anchors: the run's file holds the anchors of other tests' chains.
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.jsonl"
    return settings.MEDIA_ROOT


@pytest.fixture
def fresh_database(tmp_path):
    """The DATABASE_URL of a new, empty database of the suite's kind."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        yield f"spatialite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg

    name = f"restore_drill_{uuid.uuid4().hex[:12]}"
    server = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432,
              "user": db["USER"], "password": db["PASSWORD"] or None}  # fmt: skip
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # template1 has the postgis extension
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    yield f"postgis://{auth}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args, env, timeout=300):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


def file_hashes(root: Path) -> dict:
    return {path.relative_to(root).as_posix(): sha256_file(path)
            for path in sorted(root.rglob("*")) if path.is_file()}  # fmt: skip


def backed_up(tmp_path) -> Path:
    call_command("backup", output_dir=str(tmp_path / "backups"), stdout=io.StringIO())
    (archive,) = (tmp_path / "backups").glob("missionapp-*.tar")
    return archive


@pytest.fixture
def mission_record(period, users, media):  # noqa: F811  (period: the fixture imported above)
    """Reports (the summary's period), a photo with its copies, a daily summary with its
    documents, a half-received photo upload, and a sealed, anchored audit chain."""
    photo = AttachmentFactory(report=period["shelling"], data=jpeg_with_gps(), name="a.jpg")
    assert photo.original and photo.display and photo.thumbnail
    audit_seal()
    revision = produce()
    assert revision.artefacts.count() >= 4  # PDF and JSON, internal and releasable
    IncidentReportFactory(author=users["monitor"], submitted=True)  # after the summary
    # Half a photo received, in parts: rows (PhotoUploadPart), so in the database dump.
    half, report = jpeg_with_gps((10, 20, 30)), period["shelling"]
    upload, _ = photo_upload_start(report=report, by=report.author, size=len(half),
                                   sha256=hashlib.sha256(half).hexdigest())  # fmt: skip
    photo_upload_part(upload=upload, by=report.author, offset=0, data=half[:1000],
                      total=len(half))  # fmt: skip
    audit_seal()
    assert anchor_file_append() is not None
    return {"photo": photo, "revision": revision}


@committed
def test_a_restored_backup_is_the_same_system_and_takes_new_reports(
    mission_record, users, media, fresh_database, tmp_path
):
    started = time.monotonic()
    archive = backed_up(tmp_path)
    backup_seconds = time.monotonic() - started
    manifest = archive_verify(archive)
    assert manifest["database_vendor"] == connection.vendor
    assert manifest["migrations"]["reports"].startswith("00")
    check = subprocess.run(["sha256sum", "-c", f"{archive.name}.sha256"], cwd=archive.parent,
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0 and ": OK" in check.stdout

    source_rows = tables()
    source_files = file_hashes(media)
    photo = mission_record["photo"]
    assert {photo.original.name, photo.display.name, photo.thumbnail.name} <= set(source_files)

    restored = tmp_path / "restored"
    env = {**_process_env(tmp_path / "mail"), "DATABASE_URL": fresh_database,
           "MEDIA_ROOT": str(restored / "media"),
           "AUDIT_ANCHOR_FILE": str(restored / "anchors.jsonl"),
           "ALLOWED_HOSTS": "testserver"}  # fmt: skip
    started = time.monotonic()
    result = manage("restore", "--yes", str(archive), env=env)
    restore_seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit chain intact" in result.stdout
    print(f"backup {backup_seconds:.1f} s, restore {restore_seconds:.1f} s, "
          f"archive {archive.stat().st_size} bytes")  # fmt: skip

    # Every row of every table, every media file, the anchor file.
    dumped = tmp_path / "restored-rows.json"
    result = subprocess.run([sys.executable, "tests/restored_system.py", "rows", str(dumped)],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    restored_rows = json.loads(dumped.read_text())
    assert restored_rows.keys() == source_rows.keys()
    for label, rows in source_rows.items():
        assert restored_rows[label] == json.loads(json.dumps(rows)), label
    assert len(source_rows["reports.IncidentReport"]) == IncidentReport.objects.count() >= 8
    assert len(source_rows["reports.Attachment"]) == Attachment.objects.count() == 1
    assert source_rows["core.AuditEntry"] and source_rows["reports.SummaryArtefact"]
    assert len(source_rows["reports.PhotoUploadPart"]) == 1  # the half-received photo
    assert file_hashes(restored / "media") == source_files
    assert sha256_file(restored / "anchors.jsonl") == sha256_file(settings.AUDIT_ANCHOR_FILE)

    result = manage("audit_verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Audit chain intact" in result.stdout

    # The restored system takes the next report: a new primary key and the next reference.
    result = subprocess.run(
        [sys.executable, "tests/restored_system.py", "file-report", users["monitor"].username],
        cwd=BASE_DIR, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    new = json.loads(result.stdout.strip().splitlines()[-1])
    prefix = new["reference"].rsplit("-", 1)[0]
    before = IncidentReport.objects.filter(reference__startswith=f"{prefix}-")
    assert new["pk"] > max(IncidentReport.objects.values_list("pk", flat=True))
    assert (
        int(new["reference"].rsplit("-", 1)[1])
        == max(
            int(reference.rsplit("-", 1)[1])
            for reference in before.values_list("reference", flat=True)
        )
        + 1
    )
    assert manage("audit_verify", env=env).returncode == 0


def _damage(archive: Path, member: str):
    """Change one byte in the middle of a member's data."""
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    with open(archive, "r+b") as out:
        out.seek(info.offset_data + info.size // 2)
        byte = out.read(1)
        out.seek(-1, 1)
        out.write(bytes([byte[0] ^ 0x01]))


@committed
def test_a_damaged_archive_is_refused_naming_the_member(users, media, tmp_path):
    photo = AttachmentFactory(report=IncidentReportFactory(author=users["monitor"],
                                                           submitted=True))  # fmt: skip
    archive = backed_up(tmp_path)
    member = f"media/{photo.original.name}"
    _damage(archive, member)
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), yes=True, stdout=io.StringIO())
    assert f"member {member} differs from the manifest" in str(refused.value)
    assert f"differs from {archive.name}.sha256" in str(refused.value)
    assert "nothing was restored" in str(refused.value)
    assert IncidentReport.objects.count() == 1  # the database it would have gone into


@committed
def test_restoring_onto_a_database_that_is_not_empty_is_refused_and_changes_nothing(
    users, media, tmp_path
):
    report = IncidentReportFactory(author=users["monitor"], submitted=True)
    AttachmentFactory(report=report)
    archive = backed_up(tmp_path)
    IncidentReportFactory(author=users["monitor"], submitted=True)  # made after the backup
    rows, files = tables(), file_hashes(media)
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), yes=True, stdout=io.StringIO())
    assert "is not empty" in str(refused.value) and "nothing was changed" in str(refused.value)
    assert tables() == rows and file_hashes(media) == files


@committed
def test_a_media_file_or_anchor_file_of_other_content_is_not_overwritten(
    users, media, fresh_database, tmp_path
):
    photo = AttachmentFactory(report=IncidentReportFactory(author=users["monitor"],
                                                           submitted=True))  # fmt: skip
    audit_seal()
    anchor_file_append()
    archive = backed_up(tmp_path)
    restored = tmp_path / "restored"
    (restored / "media" / photo.original.name).parent.mkdir(parents=True)
    (restored / "media" / photo.original.name).write_bytes(b"another photo")
    env = {**_process_env(tmp_path / "mail"), "DATABASE_URL": fresh_database,
           "MEDIA_ROOT": str(restored / "media"),
           "AUDIT_ANCHOR_FILE": str(restored / "anchors.jsonl")}  # fmt: skip
    result = manage("restore", "--yes", str(archive), env=env)
    assert result.returncode == 1
    assert f"media files exist already with other content ({photo.original.name})" in (
        result.stderr
    )
    (restored / "media" / photo.original.name).unlink()
    (restored / "anchors.jsonl").write_text('{"seq": 1, "mac": "another chain"}\n')
    result = manage("restore", "--yes", str(archive), env=env)
    assert result.returncode == 1 and "exists and differs from the archive's" in result.stderr
    # Nothing was written: the database is still empty, so the restore can be run again.
    assert file_hashes(restored / "media") == {}
    (restored / "anchors.jsonl").unlink()
    result = manage("restore", "--yes", str(archive), env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def forge(archive: Path, folder: Path, change=None, *, replace=None, authenticate=False) -> Path:
    """A copy of `archive` with members `replace`d ({name: bytes}) and its manifest edited by
    `change`, its checksums and sidecar made to match (what anyone able to write an archive
    can do); authenticated again only if `authenticate` (as the installation's keys would)."""
    replace = replace or {}
    forged = folder / archive.name
    folder.mkdir()
    with tarfile.open(archive) as source, tarfile.open(forged, "w") as out:
        for info in source:
            data = replace.get(info.name) or source.extractfile(info).read()
            if info.name == MANIFEST:
                manifest = json.loads(data)
                for name, content in replace.items():
                    digest = hashlib.sha256(content).hexdigest()
                    manifest["members"][name] = {"size": len(content), "sha256": digest}
                if change:
                    change(manifest)
                if authenticate:
                    manifest_authenticate(manifest)
                data = json.dumps(manifest).encode()
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    forged.with_name(f"{forged.name}.sha256").write_text(f"{sha256_file(forged)}  {forged.name}\n")
    return forged


@committed
def test_an_archive_of_another_database_vendor_is_refused(users, media, tmp_path):
    archive = backed_up(tmp_path)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    forged = forge(
        archive,
        tmp_path / "forged",
        lambda manifest: manifest.update(database_vendor=other),
        authenticate=True,
    )
    tables_before = tables()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(forged), yes=True, stdout=io.StringIO())
    assert "restore it onto the same kind of database" in str(refused.value)
    assert tables() == tables_before


@committed
def test_an_archive_altered_with_matching_checksums_is_refused_as_not_authentic(
    users, media, tmp_path, settings
):
    archive = backed_up(tmp_path)
    # A database member replaced (say, with an administrator added): its size and SHA-256 put
    # in the manifest, the sidecar recomputed. Only the MAC under AUDIT_KEYS tells.
    replaced = {DATABASE_MEMBERS[connection.vendor]: b"not the mission's database"}
    forged = forge(archive, tmp_path / "forged", replace=replaced)
    tables_before = tables()
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(forged), yes=True, stdout=io.StringIO())
    assert "origin is not proven" in str(refused.value)
    assert "altered after it was made" in str(refused.value)
    assert tables() == tables_before
    # The real archive, but this installation has other audit keys: refused too, naming why.
    settings.AUDIT_KEYS = [generate_key("other")]
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), yes=True, stdout=io.StringIO())
    assert "which AUDIT_KEYS does not hold" in str(refused.value)
    assert tables() == tables_before


@committed
def test_the_nightly_job_makes_one_archive_a_night_and_keeps_the_last_days(
    users, media, tmp_path, settings
):
    settings.BACKUP_DIR = folder = tmp_path / "backups"
    folder.mkdir()
    # Ours and old (with its sidecar); not ours (whatever their names say); ours and recent.
    old = ["missionapp-20261101T000000Z.tar", "missionapp-20261101T000000Z.tar.sha256"]
    foreign = ["notes.txt", "missionapp-20261101T000000Z.tar.bak", "other-20261101T000000Z.tar",
               "missionapp-old.tar"]  # fmt: skip
    recent = ["missionapp-20261201T000000Z.tar"]
    for name in old + foreign + recent:
        (folder / name).write_text(name)

    night = datetime(2026, 12, 8, 2, 30, tzinfo=YEREVAN)
    with time_machine.travel(night, tick=False):
        made = backup_nightly()
    with time_machine.travel(night + timedelta(minutes=40), tick=False):
        assert backup_nightly() is None  # the same night: nothing
    assert Path(made).name == "missionapp-20261207T223000Z.tar"  # 02:30 in Yerevan, in UTC
    assert sorted(path.name for path in folder.glob("missionapp-2026120*.tar")) == [
        *recent, Path(made).name,
    ]  # fmt: skip
    remaining = {path.name for path in folder.iterdir()}
    assert not set(old) & remaining
    assert set(foreign) | set(recent) <= remaining
    with time_machine.travel(night + timedelta(days=1), tick=False):
        assert backup_nightly() is not None  # the next night: one more
    assert len(list(folder.glob("missionapp-2026120*.tar"))) == 3
    assert len(list(folder.glob("missionapp-2026120*.tar.sha256"))) == 2  # fakes have none


def test_the_newest_archive_is_kept_however_old(tmp_path):
    for name in ("missionapp-20250101T000000Z.tar", "missionapp-20250102T000000Z.tar"):
        (tmp_path / name).write_text(name)
    now = timezone.now()
    assert backups_retain(folder=tmp_path, keep_days=14, now=now) == [
        "missionapp-20250101T000000Z.tar"
    ]
    assert backups_retain(folder=tmp_path, keep_days=14, now=now) == []
    assert [p.name for p in tmp_path.iterdir()] == ["missionapp-20250102T000000Z.tar"]


def test_beat_runs_the_nightly_backup_at_backup_hour_in_mission_time():
    from missionapp.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["backup-nightly"]
    assert entry["task"] == "core.tasks.backup_nightly" and entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {30})
    assert str(app.timezone) == settings.TIME_ZONE == "Asia/Yerevan"


@committed
def test_a_restore_without_the_contacts_keys_is_refused_before_writing(
    users, media, tmp_path, settings
):
    archive = backed_up(tmp_path)
    tables_before = tables()
    from core.crypto import generate_key

    # Another installation's keys (the embedded stack makes a new one when the file is
    # missing): the channels would restore unreadable, so nothing is restored.
    settings.FIELD_ENCRYPTION_KEYS = [generate_key()]
    with pytest.raises(CommandError) as refused:
        call_command("restore", str(archive), yes=True, stdout=io.StringIO())
    assert "FIELD_ENCRYPTION_KEYS lacks 1 of the keys" in str(refused.value)
    assert tables() == tables_before
