"""The migrations that move parties from patrols into liaison keep the data: the party rows
and their ids, the notifications pointing at them, and every notification recipient, which
becomes a liaison contact with an encrypted e-mail channel (the notifications already sent
keep pointing at the same people)."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from conftest import restore_role_groups
from liaison.models import Contact, ContactChannel, Party
from patrols.models import ItineraryNotification

BEFORE = [("patrols", "0004_parties_and_permissions"), ("liaison", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_parties_and_recipients_move_to_liaison_keeping_their_rows(geography):
    try:
        old = migrate(BEFORE)
        # An earlier transactional test's flush may have emptied the parties the data
        # migration made: replay it on the old state (it is idempotent).
        importlib.import_module("patrols.migrations.0004_parties_and_permissions").forwards(
            old, None
        )
        OldParty = old.get_model("patrols", "Party")
        Recipient = old.get_model("patrols", "NotificationRecipient")
        armenia = OldParty.objects.get(code="armenia")
        syunik = old.get_model("core", "Province").objects.get(name="Syunik")
        desk = Recipient.objects.create(party=armenia, name="MoD desk", email="desk@mod.am.test")
        desk.sectors.set([syunik])
        leader = old.get_model("core", "User").objects.create(username="t-migration-leader")
        base = old.get_model("core", "ForwardBase").objects.get(name="Goris")
        departure = datetime(2026, 11, 30, 6, tzinfo=UTC)
        plan = old.get_model("patrols", "PatrolPlan").objects.create(
            forward_base=base, team_leader=leader, purpose="Migration", status="notified",
            planned_departure=departure, planned_return=departure + timedelta(hours=5),
        )  # fmt: skip
        version = old.get_model("patrols", "ItineraryVersion").objects.create(
            plan=plan, number=1, content={}, content_sha256="0" * 64, approved_by=leader,
            approved_at=departure - timedelta(days=7),
        )  # fmt: skip
        old.get_model("patrols", "ItineraryNotification").objects.create(
            version=version, party=armenia, purpose="itinerary", status="sent",
            recipients=["desk@mod.am.test", "old-desk@mod.am.test"],
        )  # fmt: skip
        armenia_pk = armenia.pk
    finally:
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes())

    assert Party.objects.get(code="armenia").pk == armenia_pk
    assert Party.objects.filter(code="local-authority").exists()
    contact = Contact.objects.get(name_latin="MoD desk")
    assert contact.party_id == armenia_pk and contact.receives_itineraries
    assert [s.name for s in contact.itinerary_sectors.all()] == ["Syunik"]
    channel = ContactChannel.objects.get(contact=contact)
    assert (channel.kind, channel.value) == ("email", "desk@mod.am.test")
    notification = ItineraryNotification.objects.select_related("party").get()
    assert notification.party.code == "armenia"
    addresses = ContactChannel.objects.filter(pk__in=notification.recipients)
    assert sorted(c.value for c in addresses) == ["desk@mod.am.test", "old-desk@mod.am.test"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM liaison_contactchannel")
        assert not any("@" in row[0] for row in cursor.fetchall())
    restore_role_groups()
