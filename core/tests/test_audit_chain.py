"""The audit chain: writers insert, one sealer chains with a key kept outside the database,
anchors outside it catch what the key's holder could otherwise rewrite."""

import json
import threading
from io import StringIO

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from conftest import in_thread
from core.audit import anchors, keys
from core.audit.models import GENESIS_MAC, AuditChainHead, AuditEntry
from core.audit.services import audit_seal
from core.audit.verification import audit_chain_verify
from core.models import RestrictedZone
from core.tests.tampering import tamper

pytestmark = pytest.mark.usefixtures("geography")


@pytest.fixture(autouse=True)
def anchor_file(tmp_path, settings):
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit-anchors.jsonl"
    return settings.AUDIT_ANCHOR_FILE


def make_zone(name):
    return RestrictedZone.objects.create(
        name=name,
        reason=RestrictedZone.Reason.SECURITY,
        geom=MultiPolygon(Polygon.from_bbox((46.45, 39.55, 46.47, 39.57)), srid=4326),
        valid_from=timezone.now(),
    )


def rewrite(entry):
    tamper(
        "UPDATE core_auditentry SET object_repr = %s, prev_mac = %s, mac = %s WHERE id = %s",
        [entry.object_repr, entry.prev_mac, entry.mac, entry.pk],
    )


def sealed_chain(zones=5):
    for i in range(zones):
        make_zone(f"Zone {i}")
    audit_seal()
    return list(AuditEntry.objects.sealed().order_by("seq"))


@pytest.mark.django_db
def test_writers_insert_waiting_entries_that_the_sealer_chains_once_in_order():
    audit_seal()
    head_before = AuditChainHead.objects.get(pk=1).last_seq
    zone = make_zone("Closed road near Tegh")
    entry = AuditEntry.objects.get(model="core.restrictedzone", object_pk=str(zone.pk))
    assert (entry.seq, entry.mac, entry.key_id) == (None, "", "")

    assert audit_seal() == 1
    entry.refresh_from_db()
    key_id, key = keys.sealing_key()
    assert entry.seq == head_before + 1 and entry.key_id == key_id
    assert entry.mac == entry.compute_mac(key) and len(entry.mac) == 64
    head = AuditChainHead.objects.get(pk=1)
    assert (head.last_seq, head.last_mac) == (entry.seq, entry.mac)
    # Idempotent: a second run finds nothing and changes nothing.
    assert audit_seal() == 0
    assert AuditChainHead.objects.get(pk=1).last_mac == entry.mac
    seqs = list(AuditEntry.objects.sealed().order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db
def test_audit_verify_passes_on_an_intact_chain_and_says_what_it_checked():
    chain = sealed_chain(2)
    anchors.anchor_file_append()
    make_zone("Not sealed yet")
    out = StringIO()
    call_command("audit_verify", stdout=out)
    text = out.getvalue()
    assert f"intact: {len(chain)} entries verified, 1 anchors matched" in text
    assert "1 newer entries wait to be sealed" in text


@pytest.mark.django_db
def test_it_names_an_entry_edited_with_raw_sql():
    victim = sealed_chain()[20]
    tamper("UPDATE core_auditentry SET object_repr = 'harmless' WHERE id = %s", [victim.pk])
    report = audit_chain_verify()
    assert not report.ok
    assert (report.broken_seq, report.broken_id) == (victim.seq, victim.pk)
    assert "does not match its MAC" in report.problem
    with pytest.raises(CommandError, match=rf"entry #{victim.seq} \(id {victim.pk}\)"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_it_names_the_entry_after_one_removed_from_the_middle():
    middle = sealed_chain()[10]
    tamper("DELETE FROM core_auditentry WHERE id = %s", [middle.pk])
    report = audit_chain_verify()
    assert report.broken_seq == middle.seq + 1 and "missing before it" in report.problem


@pytest.mark.django_db
def test_an_entry_resealed_without_the_key_is_named():
    """The old chain's weakness: anyone could recompute a plain hash. Without the key, a
    forger's seals (here with a key of their own, and every later link redone) do not verify."""
    chain = sealed_chain()
    victim = chain[8]
    forger_key = b"f" * 16 + b"0123456789abcdef"
    prev = victim.prev_mac
    for entry in chain[8:]:
        if entry.pk == victim.pk:
            entry.object_repr = "forged"
        entry.prev_mac = prev
        entry.mac = prev = entry.compute_mac(forger_key)
        rewrite(entry)
    tamper("UPDATE core_auditchainhead SET last_mac = %s", [prev])
    report = audit_chain_verify()
    assert (report.broken_seq, report.broken_id) == (victim.seq, victim.pk)
    assert "does not match its MAC" in report.problem
    # A forger naming a key id of their own is named too.
    tamper("UPDATE core_auditentry SET key_id = 'mine' WHERE id = %s", [chain[3].pk])
    report = audit_chain_verify()
    assert report.broken_seq == chain[3].seq and "'mine', which is not among" in report.problem


@pytest.mark.django_db
def test_cutting_entries_off_the_end_and_rewinding_the_head_is_caught_by_the_anchor_file():
    chain = sealed_chain()
    written = anchors.anchor_file_append()
    assert written["seq"] == chain[-1].seq
    keep = chain[-4]
    tamper("DELETE FROM core_auditentry WHERE seq > %s", [keep.seq])
    tamper("UPDATE core_auditchainhead SET last_seq = %s, last_mac = %s", [keep.seq, keep.mac])

    report = audit_chain_verify()
    assert not report.ok
    assert "anchor file audit-anchors.jsonl line 1" in report.problem
    assert f"records #{chain[-1].seq} but the chain ends at #{keep.seq}" in report.problem
    with pytest.raises(CommandError, match="removed from its end"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_rewriting_an_entry_and_resealing_the_rest_with_the_key_is_caught_by_an_anchor():
    """An attacker who can run the application's own code (so holds the key) edits an entry
    and reseals everything after it: every MAC verifies, but an anchor taken before does not."""
    chain = sealed_chain()
    anchors.anchor_file_append()  # line 1: the head now
    for i in range(3):
        make_zone(f"Later zone {i}")
    audit_seal()
    anchors.anchor_file_append()  # line 2
    victim = chain[12]
    key_id, key = keys.sealing_key()
    entries = list(AuditEntry.objects.filter(seq__gte=victim.seq).order_by("seq"))
    prev = victim.prev_mac
    for entry in entries:
        if entry.pk == victim.pk:
            entry.object_repr = "nothing happened here"
        entry.prev_mac = prev
        entry.mac = prev = entry.compute_mac(key)  # the application's own sealing code
        rewrite(entry)
    tamper("UPDATE core_auditchainhead SET last_mac = %s", [prev])

    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_seq == chain[-1].seq  # where the first anchor after the edit sits
    assert "anchor file audit-anchors.jsonl line 1" in report.problem
    assert f"between #1 and #{chain[-1].seq} were rewritten" in report.problem


@pytest.mark.django_db
def test_a_third_party_checks_an_anchor_read_off_a_document():
    chain = sealed_chain(2)
    last = chain[-1]
    out = StringIO()
    call_command("audit_verify", "--anchor", f"{last.seq}:{last.mac}", stdout=out)
    assert "1 anchors matched" in out.getvalue()
    wrong = f"{last.seq}:{'0' * 64}"
    with pytest.raises(CommandError, match=r"--anchor .* recorded MAC 0{64} for #"):
        call_command("audit_verify", "--anchor", wrong)
    out = StringIO()  # a MAC copied in capitals is the same MAC
    call_command("audit_verify", "--anchor", f"{last.seq}:{last.mac.upper()}", stdout=out)
    assert "1 anchors matched" in out.getvalue()
    # Mistyped where the anchor file has the right one: the anchor is named, not the chain.
    anchors.anchor_file_append()
    typo = f"{last.seq}:{last.mac[:-1]}{'0' if last.mac[-1] != '0' else '1'}"
    with pytest.raises(CommandError, match="agree on .*: that anchor is mistyped or forged"):
        call_command("audit_verify", "--anchor", typo)
    with pytest.raises(CommandError, match="an anchor is <seq>:<64 hex digits"):
        call_command("audit_verify", "--anchor", "12:abc")


@pytest.mark.django_db
def test_the_anchor_file_gets_a_line_only_when_the_head_moved(anchor_file):
    sealed_chain(1)
    assert anchors.anchor_file_append() is not None
    assert anchors.anchor_file_append() is None
    make_zone("One more")
    audit_seal()
    assert anchors.anchor_file_append() is not None
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert [set(line) for line in lines] == [{"seq", "mac", "key_id", "at"}] * 2
    assert lines[1]["seq"] > lines[0]["seq"]


@pytest.mark.django_db
def test_a_line_cut_short_stops_neither_anchoring_nor_verifying(anchor_file):
    sealed_chain(1)
    anchors.anchor_file_append()
    with anchor_file.open("a") as out:
        out.write('{"at": "2026-12-01T19:1')  # the machine stopped mid-write
    report = audit_chain_verify()
    assert report.ok and "line 2 is not an anchor" in report.warnings[0]
    make_zone("After the cut")
    audit_seal()
    assert anchors.anchor_file_append() is not None
    lines = anchor_file.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["seq"] > json.loads(lines[0])["seq"]
    assert audit_chain_verify().anchors_checked == 2


@pytest.mark.django_db
def test_a_backup_is_checked_against_the_anchors_kept_with_it(anchor_file, tmp_path):
    chain = sealed_chain(1)
    anchors.anchor_file_append()
    kept = tmp_path / "kept-with-the-backup.jsonl"
    kept.write_text(anchor_file.read_text())
    make_zone("After the backup")  # the live file moves on; the restored database does not
    audit_seal()
    anchors.anchor_file_append()
    tamper("DELETE FROM core_auditentry WHERE seq > %s", [chain[-1].seq])
    tamper("UPDATE core_auditchainhead SET last_seq = %s, last_mac = %s",
           [chain[-1].seq, chain[-1].mac])  # fmt: skip
    with pytest.raises(CommandError, match="or this database is a backup older than that"):
        call_command("audit_verify")
    out = StringIO()
    call_command("audit_verify", "--anchor-file", str(kept), stdout=out)
    assert "intact" in out.getvalue()
    with pytest.raises(CommandError, match="no such file"):
        call_command("audit_verify", "--anchor-file", str(tmp_path / "missing.jsonl"))


@pytest.mark.django_db
def test_keys_rotate_and_an_entry_whose_key_is_gone_is_named(settings):
    old = settings.AUDIT_KEYS[0]
    chain = sealed_chain(1)
    new = keys.generate_key("k2027")
    settings.AUDIT_KEYS = [new, old]
    make_zone("After the rotation")
    audit_seal()
    latest = AuditEntry.objects.sealed().order_by("-seq").first()
    assert latest.key_id == "k2027" and chain[-1].key_id == old.split(":")[0]
    assert audit_chain_verify().ok
    settings.AUDIT_KEYS = [new]  # the old key dropped too soon
    report = audit_chain_verify()
    assert report.broken_seq == 1 and "not among AUDIT_KEYS" in report.problem


def test_keys_must_be_real_secrets():
    for bad in (["change-me-run-manage-py-audit_key_new"], ["k1:c2hvcnQ="], [],
                ["bad id!:" + keys.generate_key().split(":")[1]]):  # fmt: skip
        with pytest.raises(ImproperlyConfigured):
            keys.parse_keys(bad)
    good = keys.generate_key("k1")
    with pytest.raises(ImproperlyConfigured, match="twice"):
        keys.parse_keys([good, good])
    assert list(keys.parse_keys([good])) == ["k1"]


@pytest.mark.postgresql
@pytest.mark.django_db
def test_on_postgresql_the_database_refuses_any_change_but_sealing_a_waiting_entry_once():
    sealed = sealed_chain(1)[-1]
    for sql in (
        "UPDATE core_auditentry SET actor_label = 'x' WHERE id = %s",
        "UPDATE core_auditentry SET mac = 'x' WHERE id = %s",
        "UPDATE core_auditentry SET seq = NULL WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [sealed.pk])
    waiting = AuditEntry.objects.get(object_pk=str(make_zone("Waiting").pk),
                                     model="core.restrictedzone")  # fmt: skip
    with (  # sealing while changing the content is refused
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET seq = 999999, object_repr = 'x' WHERE id = %s",
                       [waiting.pk])  # fmt: skip
    assert audit_seal() == 1


@pytest.mark.django_db(transaction=True)
def test_writers_a_sealer_and_verifications_at_once_never_fork_nor_false_alarm(geography):
    """Writers never wait for one another on the trail, the sealer runs beside them, and a
    verification in the middle of it all sees one consistent snapshot (no false alarm)."""
    audit_seal()
    start = AuditChainHead.objects.get(pk=1).last_seq
    errors, verdicts, done = [], [], threading.Event()

    def writer(n):
        for i in range(6):
            with transaction.atomic():
                make_zone(f"Writer {n} zone {i}")

    def sealer():
        while not done.is_set():
            audit_seal()

    def verifier():
        while not done.is_set():
            verdicts.append(audit_chain_verify())

    helpers = [in_thread(sealer, errors), in_thread(verifier, errors)]
    writers = [in_thread(writer, errors, n) for n in range(6)]
    for t in helpers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in helpers:
        t.join()

    assert errors == []
    assert verdicts and all(v.ok for v in verdicts), [str(v) for v in verdicts if not v.ok]
    audit_seal()
    seqs = list(AuditEntry.objects.filter(seq__gt=start).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(start + 1, start + 37))
    assert not AuditEntry.objects.waiting().exists()
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_an_anchor_of_the_empty_chain_is_the_genesis():
    report = audit_chain_verify(anchors=[anchors.Anchor("genesis", 0, GENESIS_MAC)])
    assert report.ok


@pytest.mark.django_db
def test_a_row_planted_in_the_sealers_way_is_reported_and_blinds_no_job(
    settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from core import tasks

    settings.ADMINS = [("Mission IT", "it@mission.test")]
    chain = sealed_chain(1)
    make_zone("Waiting behind the planted row")
    # An attacker inserts a "sealed" row at the next place: the sealer cannot take that place.
    tamper(
        "INSERT INTO core_auditentry (seq, at, actor_label, client, client_ref, action, model,"
        " object_pk, object_repr, changes, prev_mac, mac, key_id) VALUES (%s, %s, '', 'system',"
        " '', 'delete', 'reports.incidentreport', '1', 'x', '{}', %s, %s, 'dev')",
        [chain[-1].seq + 1, timezone.now(), "b" * 64, "a" * 64],
    )
    # The unique seq refuses, whatever the database calls it.
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017
        audit_seal()
    # The jobs that seal first still do their work: the check names the break and alerts.
    assert tasks.audit_anchor() in (None, chain[-1].seq)
    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.audit_chain_verify()
    assert f"BROKEN at entry #{chain[-1].seq + 1}" in result
    assert AuditChainHead.objects.get(pk=1).verified_ok is False
    assert len(mail.outbox) == 1 and "BROKEN" in mail.outbox[0].body


@pytest.mark.django_db
def test_on_sqlite_an_erased_seal_is_not_resealed_but_named(settings):
    """SQLite has no trigger: an attacker with the database file can erase an entry's seal,
    hoping the sealer reseals the edited entry with the key. It does not: entries become
    visible in id order there, so a waiting entry older than a sealed one is named."""
    chain = sealed_chain(2)
    victim = chain[-3]
    if connection.vendor != "sqlite":
        # PostgreSQL refuses to erase a seal at all (the trigger; see the test above).
        assert connection.vendor == "postgresql"
        return
    tamper(
        "UPDATE core_auditentry SET object_repr = 'FORGED', seq = NULL, mac = '', prev_mac = '',"
        " key_id = '', sealed_at = NULL WHERE id = %s",
        [victim.pk],
    )
    make_zone("Written after the attack")  # a genuine entry still gets sealed
    audit_seal()
    assert AuditEntry.objects.get(pk=victim.pk).seq is None
    assert AuditEntry.objects.get(object_repr="Written after the attack").seq is not None
    report = audit_chain_verify()
    assert not report.ok
    # The hole in the chain is found first; the verdict names the erased entry's neighbour.
    assert report.broken_seq == victim.seq + 1 and "missing before it" in report.problem


@pytest.mark.django_db
def test_the_upgrade_refuses_to_reseal_an_old_chain_that_was_already_broken():
    """The migration to sealed entries checks the old SHA-256 chain first: resealing must not
    launder tampering done before the upgrade."""
    import hashlib
    import importlib

    from django.apps import apps as registry

    migration = importlib.import_module("core.migrations.0005_audit_sealed_by_one_sealer")
    chain = sealed_chain(1)
    prev = GENESIS_MAC
    for entry in chain:  # written as the old version chained them
        content = {k: v for k, v in entry.content().items() if k != "key_id"}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((prev + canonical).encode()).hexdigest()
        tamper("UPDATE core_auditentry SET prev_mac = %s, mac = %s WHERE id = %s",
               [prev, digest, entry.pk])  # fmt: skip
        prev = digest
    assert migration.old_chain_break(registry) is None
    tamper("UPDATE core_auditentry SET object_repr = 'edited' WHERE id = %s", [chain[5].pk])
    assert migration.old_chain_break(registry) == chain[5].seq
    with pytest.raises(RuntimeError, match=rf"already broken at entry #{chain[5].seq}"):
        migration.requeue(registry, None)


def test_audit_key_new_prints_a_key_the_settings_accept():
    out = StringIO()
    call_command("audit_key_new", "--key-id", "k2027", stdout=out)
    assert list(keys.parse_keys([out.getvalue().strip()])) == ["k2027"]


@pytest.mark.django_db
def test_audit_seal_command_seals_what_waits():
    make_zone("Waiting for the command")
    out = StringIO()
    call_command("audit_seal", stdout=out)
    assert out.getvalue().startswith("Sealed ") and not AuditEntry.objects.waiting().exists()
