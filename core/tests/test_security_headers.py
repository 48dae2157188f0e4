"""Every response carries the browser security headers (missionapp/settings/base.py).

Content-Security-Policy with no 'unsafe-inline' script source and frame-ancestors 'none',
nosniff, Referrer-Policy, and a Permissions-Policy that allows the camera and GPS to the
tablet app only. Sampled over pages of each kind, the login page, refusals (403, 404), the
API and the API docs, which need a login.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)


def policy(response):
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, _, values in (part.strip().partition(" ") for part in header.split(";"))
    }


def assert_secure_headers(response, *, tablet=False):
    directives = policy(response)
    for name, value in REQUIRED_DIRECTIVES.items():
        assert directives.get(name) == value, (name, directives)
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[name], directives[name]
        assert "'unsafe-eval'" not in directives[name], directives[name]
        # Our own origin only: no CDN, no other host.
        assert all(s == "'self'" or s.startswith("'nonce-") for s in directives[name].split())
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    permissions = response["Permissions-Policy"]
    assert "microphone=()" in permissions
    if tablet:
        assert "camera=(self)" in permissions and "geolocation=(self)" in permissions
    else:
        assert "camera=()" in permissions and "geolocation=()" in permissions


def assert_inline_scripts_carry_the_nonce(response):
    """Any inline script on the page runs only with this response's nonce; data blocks
    (json_script) are not scripts and need none."""
    html = response.content.decode()
    nonces = re.findall(r"'nonce-([^']+)'", policy(response).get("script-src", ""))
    for match in INLINE_SCRIPT.finditer(html):
        attrs = match.group("attrs")
        if "src=" in attrs or 'type="application/json"' in attrs:
            continue
        assert nonces and f'nonce="{nonces[0]}"' in attrs, match.group(0)[:200]


@pytest.mark.django_db
def test_every_kind_of_page_and_answer_carries_the_policy(client, users):
    anonymous = Client()
    samples = {
        "login page": (anonymous.get(reverse("login")), 200),
        "a page, logged out": (anonymous.get(reverse("home")), 302),
        "admin login": (anonymous.get("/admin/login/"), 200),
        "the API, logged out": (anonymous.get(reverse("api-me")), 401),
    }
    client.force_login(users["monitor"])
    samples |= {
        "home": (client.get(reverse("home")), 200),
        "incident map": (client.get(reverse("incident-map")), 200),
        "a page refused (403)": (client.get(reverse("patrol-approvals")), 403),
        "a page not found (404)": (client.get("/patrols/999999/"), 404),
        "an unknown URL (404)": (client.get("/no/such/page/"), 404),
        "the API": (client.get(reverse("api-me")), 200),
        "liaison": (client.get(reverse("liaison-contacts")), 200),
    }
    for name, (response, status) in samples.items():
        assert response.status_code == status, name
        assert_secure_headers(response)
        if response["Content-Type"].startswith("text/html"):
            assert_inline_scripts_carry_the_nonce(response)


@pytest.mark.django_db
def test_the_maps_inline_set_up_runs_with_the_responses_own_nonce(client, users):
    client.force_login(users["team_leader"])
    first, second = client.get(reverse("home")), client.get(reverse("home"))
    nonce = re.search(r"'nonce-([^']+)'", policy(first)["script-src"]).group(1)
    assert f'<script nonce="{nonce}">' in first.content.decode()
    # A new one for each response: a nonce read from one page is no use on the next.
    assert nonce not in second["Content-Security-Policy"]
    # The plan form's route widget and the admin's map widgets write their own.
    form = client.get(reverse("patrol-new"))
    assert form.status_code == 200
    assert_inline_scripts_carry_the_nonce(form)
    assert "L.Map.djangoMap" in form.content.decode()


@pytest.mark.django_db
def test_the_admins_map_widgets_run_with_the_nonce(client, users):
    administrator = users["administrator"]
    administrator.is_staff = True
    administrator.save(update_fields=["is_staff"])
    client.force_login(administrator)
    response = client.get("/admin/core/restrictedzone/add/")
    assert response.status_code == 200
    assert "L.Map.djangoMap" in response.content.decode()
    assert_secure_headers(response)
    assert_inline_scripts_carry_the_nonce(response)


@pytest.mark.django_db
def test_only_the_tablet_app_may_use_the_camera_and_gps(client, users):
    client.force_login(users["monitor"])
    for url in (reverse("tablet"), reverse("tablet-sw"), reverse("tablet-manifest")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_secure_headers(response, tablet=True)
    assert_secure_headers(client.get(reverse("incident-list")))


@pytest.mark.django_db
def test_the_api_schema_and_docs_need_a_login(client, users):
    anonymous = Client()
    schema = anonymous.get(reverse("schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 401
    assert schema.json()["code"] == "not_authenticated"
    docs = anonymous.get(reverse("api-docs"))
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("login"))

    client.force_login(users["monitor"])
    assert client.get(reverse("schema")).status_code == 200
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    # Swagger UI from our own static files, its set-up as a script file, nothing inline.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert f'<script src="{reverse("api-docs")}?script="></script>' in html
    assert_secure_headers(page)
    assert_inline_scripts_carry_the_nonce(page)
    script = client.get(reverse("api-docs"), {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
