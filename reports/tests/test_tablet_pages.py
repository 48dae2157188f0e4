"""The tablet app's three URLs: the shell (monitors and team leaders only), its service worker
and its manifest, with the types and headers a browser needs to install and run them."""

import json

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def logged_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.parametrize("role", ["monitor", "team_leader"])
def test_monitors_and_team_leaders_get_the_app_shell(client, users, role):
    response = logged_in(client, users[role]).get(reverse("tablet"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]
    assert "csrftoken" in response.cookies  # sync.js sends it back as X-CSRFToken
    html = response.content.decode()
    for asset in ["tablet/app.js", "tablet/db.js", "tablet/sync.js", "tablet/tablet.css",
                  "leaflet/leaflet.js", "leaflet/leaflet.css"]:  # fmt: skip
        assert f"/static/{asset}" in html
    assert 'rel="manifest"' in html
    config = json.loads(html.split('id="tablet-config" type="application/json">')[1].split("<")[0])
    assert config["username"] == users[role].username
    assert config["swUrl"] == "/tablet/sw.js"
    assert config["api"]["patrols"] == "/tablet/patrols.json"


@pytest.mark.parametrize("role", ["headquarters", "liaison_officer", "outsider"])
def test_everyone_else_is_refused_the_app(client, users, role):
    response = logged_in(client, users[role]).get(reverse("tablet"))
    assert response.status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in_and_back(client, geography):
    response = client.get(reverse("tablet"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/tablet/"


def test_the_service_worker_is_served_as_javascript_for_the_app_scope(client, geography):
    response = client.get(reverse("tablet-sw"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/tablet/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    config = json.loads(body.split("self.TABLET_SW_CONFIG = ")[1].split(";\n")[0])
    assert "/tablet/" in config["precache"]
    assert "/static/leaflet/leaflet.js" in config["precache"]
    assert "/static/tablet/app.js" in config["precache"]
    # Only the map layers and "who am I" may be kept from the API: no reports, no liaison.
    assert sorted(config["cachedApi"]) == [
        "/api/geography/basemap/", "/api/geography/border/", "/api/geography/forward-bases/",
        "/api/geography/provinces/", "/api/geography/settlements/", "/api/me/",
    ]  # fmt: skip
    assert 'addEventListener("fetch"' in body


def test_the_service_worker_version_is_stable_between_requests(client, geography):
    def version():
        body = client.get(reverse("tablet-sw")).content.decode()
        return json.loads(body.split("self.TABLET_SW_CONFIG = ")[1].split(";\n")[0])["version"]

    assert version() == version()


def test_the_manifest_makes_the_app_installable(client, geography):
    response = client.get(reverse("tablet-manifest"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["start_url"] == "/tablet/"
    assert manifest["scope"] == "/tablet/"
    assert manifest["display"] == "standalone"
    assert manifest["name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert finders.find(icon["src"].removeprefix(settings.STATIC_URL)), icon["src"]
