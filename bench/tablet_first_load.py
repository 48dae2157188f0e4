"""Bench rows for the tablet in the field: what its first load costs on the wire, and what
the base layer's offline copy costs per sector. Sizes, not times.

First load: a monitor opens /tablet/ once with signal. Counted: the shell page, every file
it names (scripts, stylesheets, icons, the manifest), the service worker and everything it
stores at install (its precache list and the API answers it keeps), and the API answers the
app asks for at start (who is logged in, the map's layers, the monitor's returned and
rejected reports, the patrols, the base layer's description) — each URL once, as a fresh
bench database answers them (no reports yet). Compressed as production serves or could
serve them: static files gzip level 9 (whitenoise's CompressedManifestStaticFilesStorage),
pages and API answers gzip level 6 (the HTTPS proxy's usual setting; the app itself sends
them uncompressed). The base layer's tiles are counted apart, per sector.
"""

import gzip
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

TARGET_KB = 500


class _References(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.config = [], None
        self._in_config = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        elif tag == "img" and attrs.get("src"):
            self.urls.append(attrs["src"])
        self._in_config = tag == "script" and attrs.get("id") == "tablet-config"

    def handle_data(self, data):
        if self._in_config:
            self.config = json.loads(data)
            self._in_config = False


def first_load(user, rows):
    client = Client()
    client.force_login(user)
    shell = client.get("/tablet/")
    assert shell.status_code == 200, shell.status_code
    page = _References()
    page.feed(shell.content.decode())
    api = page.config["api"]
    sw = client.get(page.config["swUrl"])
    sw_config = json.loads(re.match(rb"self.TABLET_SW_CONFIG = (.*?);\n", sw.content).group(1))
    reviewed = "?mine=true&page_size=100&status="
    urls = [
        *page.urls, *sw_config["precache"], *sw_config["cachedApi"], api["me"],
        api["patrols"], api["reports"] + reviewed + "returned",
        api["reports"] + reviewed + "rejected", "/api/geography/basemap/",
    ]  # fmt: skip
    answers = {"/tablet/": shell.content, page.config["swUrl"]: sw.content}
    for url in dict.fromkeys(urls):
        if url in answers:
            continue
        if url.startswith(settings.STATIC_URL):
            # What the web server sends for it (DEBUG is off: no static view to ask).
            answers[url] = Path(finders.find(url.removeprefix(settings.STATIC_URL))).read_bytes()
            continue
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        answers[url] = body
    raw = sum(len(body) for body in answers.values())
    packed = sum(
        len(gzip.compress(body, 9 if url.startswith(settings.STATIC_URL) else 6))
        for url, body in answers.items()
    )
    rows.append((
        f"tablet first load, gzip ({len(answers)} requests; raw {raw / 1024:,.0f} KB)",
        len(answers), f"{packed / 1024:,.0f} KB", "", f"< {TARGET_KB} KB before the base layer",
    ))  # fmt: skip
    return packed


def basemap_per_sector(rows, user, path=None):
    """Loads the demo's base layer (var/demo-basemap.mbtiles, drawn here when absent: zooms
    6–12 as bin/demo draws it) and adds a row per sector: the tiles and bytes of its box, and
    what a monitor's tablet stores within BASEMAP_PRECACHE_MAX_MB."""
    from django.core.management import call_command

    from core.basemap import manifest
    from core.basemap.mbtiles import loaded

    path = Path(path or settings.BASE_DIR / "var" / "demo-basemap.mbtiles")
    if not path.exists():
        path = Path(settings.VAR_DIR) / "demo-basemap.mbtiles"
        start = time.perf_counter()
        call_command("make_basemap", str(path), "--maxzoom", "12", verbosity=0)
        elapsed = time.perf_counter() - start
        rows.append(("make_basemap (demo base layer, zooms 6–12)", 1, "", f"{elapsed:.1f} s",
                     "setup"))  # fmt: skip
    call_command("load_basemap", str(path), verbosity=0)
    basemap = loaded()
    info = basemap.info
    rows.append((
        f"demo base layer file (zooms {info.minzoom}–{info.maxzoom}, {info.tiles:,} tiles)",
        info.tiles, f"{Path(info.path).stat().st_size / 1024:,.0f} KB", "", "",
    ))  # fmt: skip
    limit = f"≤ {settings.BASEMAP_PRECACHE_MAX_MB:g} MB stored"
    for sector in manifest.sector_tiles(basemap):
        rows.append((f"base layer cache: {sector['name']} (tiles, size)", sector["tiles"],
                     f"{sector['bytes'] / 1024:,.0f} KB", "", limit))  # fmt: skip
    plan = manifest.precache_plan(basemap, user)
    rows.append((
        f"tablet stores for {', '.join(plan['sectors'])} (zooms {plan['zooms'][0]}–"
        f"{plan['zooms'][-1]})", plan["tiles"], f"{plan['bytes'] / 1024:,.0f} KB", "", limit,
    ))  # fmt: skip
