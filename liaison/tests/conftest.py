"""Liaison fixtures: contacts in two sectors, Syunik (where the standing monitor's forward
base Goris is) and Tavush, with phones, e-mails and hotlines."""

import pytest

from core.models import ForwardBase, Province
from liaison.models import ContactChannel, Party
from liaison.tests.factories import ChannelFactory, ContactFactory, OrganisationFactory

SYUNIK_HOTLINE = "+374 285 2 11 11"
TAVUSH_HOTLINE = "+374 263 2 22 22"
SECRET_PHONE = "+374 91 123456"
SECRET_EMAIL = "major.petrosyan@mod.am.example"


@pytest.fixture
def world(users):
    """Two contacts of Armenia's side; `users` have one per role (monitor at Goris, Syunik)."""
    from patrols.tests.conftest import restore_parties

    restore_parties()
    syunik, tavush = Province.objects.get(name="Syunik"), Province.objects.get(name="Tavush")
    assert users["monitor"].forward_base == ForwardBase.objects.get(name="Goris")
    armenia = Party.objects.get(code="armenia")
    azerbaijan = Party.objects.get(code="azerbaijan")
    org = OrganisationFactory(party=armenia, name="Ministry of Defence", unit="Syunik sector")
    south = ContactFactory(party=armenia, organisation=org, name_latin="Aram Petrosyan",
                           sectors=[syunik])  # fmt: skip
    ChannelFactory(contact=south, kind=ContactChannel.Kind.PHONE, value=SECRET_PHONE)
    ChannelFactory(contact=south, kind=ContactChannel.Kind.EMAIL, value=SECRET_EMAIL)
    ChannelFactory(contact=south, kind=ContactChannel.Kind.HOTLINE, value=SYUNIK_HOTLINE)
    north = ContactFactory(
        party=azerbaijan,
        organisation=OrganisationFactory(party=azerbaijan, name="State Border Service"),
        name_latin="Elchin Mammadov", name_original="Elçin Məmmədov", script="azerbaijani",
        sectors=[tavush],
    )  # fmt: skip
    ChannelFactory(contact=north, kind=ContactChannel.Kind.HOTLINE, value=TAVUSH_HOTLINE)
    ChannelFactory(contact=north, kind=ContactChannel.Kind.PHONE, value="+994 50 7654321")
    return {"south": south, "north": north, "syunik": syunik, "tavush": tavush,
            "armenia": armenia, "azerbaijan": azerbaijan}  # fmt: skip
