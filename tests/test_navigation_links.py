"""The header and the home page's "Go to" links: each role sees a link exactly when the page
behind it lets them in (missionapp.context_processors.navigation asks the pages' own
predicates), so no link a person is shown answers 403."""

import re

import pytest
from django.test import Client

from core.roles import Role
from core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LINK = re.compile(r'<a class="(?:site-nav__link|button button--block[^"]*)" href="(/[^"]*)"')
# What each role must find among its links (the rest is asked of every link: it opens).
EXPECTED = {
    Role.MONITOR: {"/tablet/", "/incidents/"},
    Role.TEAM_LEADER: {"/patrols/new/", "/tablet/"},
    Role.COORDINATOR: {"/patrols/approvals/", "/summaries/"},
    Role.DUTY_OFFICER: {"/incidents/queue/", "/summaries/"},
    Role.HEADQUARTERS: {"/summaries/", "/incidents/map/"},
}
NOT_FOR = {
    Role.MONITOR: {"/patrols/approvals/", "/incidents/queue/", "/patrols/new/"},
    Role.LIAISON_OFFICER: {"/incidents/", "/patrols/approvals/", "/tablet/"},
    Role.HEADQUARTERS: {"/patrols/approvals/", "/incidents/queue/", "/tablet/"},
}


def links_of(client):
    home = client.get("/")
    assert home.status_code == 200
    return set(LINK.findall(home.content.decode()))


@pytest.mark.parametrize("role", list(Role))
def test_every_link_a_role_is_shown_opens(role, users):
    client = Client()
    client.force_login(users[role.value])
    links = links_of(client)
    assert EXPECTED.get(role, set()) <= links, links
    assert not NOT_FOR.get(role, set()) & links, links
    refused = {url: client.get(url).status_code for url in links}
    assert {url: code for url, code in refused.items() if code != 200} == {}


def test_a_superuser_with_no_role_is_not_shown_the_coordinators_queue(geography):
    client = Client()
    client.force_login(UserFactory(username="t-root", roles=[], is_superuser=True, is_staff=True))
    links = links_of(client)
    assert "/patrols/approvals/" not in links and "/incidents/queue/" not in links
    refused = {url: client.get(url).status_code for url in links}
    assert {url: code for url, code in refused.items() if code != 200} == {}
