"""The ingest benchmark's load generator: tablets posting incident reports over HTTP.

Started by `bench/ingest.py` as a separate process (its CPU is measured apart from the
server's), never on its own. Standard library only, plus Pillow for the photo: one thread per
tablet, each with its own keep-alive `http.client` connection (gunicorn's sync workers close
every connection after the response; `http.client` then reconnects on the next request).

Protocol, one JSON line each way on stdin/stdout:
  stdin  line 1: the configuration (see `main`)
  stdout "ready": payloads built, threads about to start (ingest) or waiting for "go" (backlog)
  ingest / floor: the threads post until stdin says "stop", then stdout gets the results.
  backlog: stdin "go" starts the 20 outboxes; stdout gets the results when all are empty;
           then stdin "resend" resends a sample of what was delivered, and stdout gets those.
"""

import hashlib
import http.client
import io
import json
import random
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

CATEGORIES = [
    # (category, weight, what a monitor writes)
    ("shelling", 14, "Artillery impacts heard and seen on the slope east of the village."),
    ("small_arms", 22, "Bursts of automatic fire from the positions across the border."),
    ("drone", 6, "A small drone circled over the road for about ten minutes."),
    ("explosion", 6, "One explosion in the field south of the road; smoke visible."),
    ("armed_clash", 3, "Exchange of fire between positions on both sides."),
    ("troop_movement", 14, "Column of military trucks moving towards the border."),
    ("fortification", 14, "New earthworks and a trench line since the last patrol."),
    ("civilian_damage", 7, "Roof of a house and a barn damaged; residents show the impacts."),
    ("violence_civilians", 2, "Residents report a farmer fired at while in his field."),
    ("detention", 1, "A shepherd reported detained near the line of contact."),
    ("airspace", 4, "Aircraft heard passing north at altitude."),
    ("protest", 2, "Residents gathered at the village hall about the road closure."),
    ("other", 5, "Local authority reports a closed road; nothing seen by the patrol."),
]
MEANS = ["seen", "seen", "seen", "heard", "heard", "local_authority", "residents"]
# About 2 MiB: what a tablet's camera makes of a photo at its default quality.
PHOTO_BYTES = 2 * 1024 * 1024


def report_payload(rnd: random.Random, bases: list, now: datetime, max_age_minutes: int) -> dict:
    """What the tablet's buildPayload() sends for a submitted report (static/tablet/app.js)."""
    base = rnd.choice(bases)
    lon, lat = rnd.choice(base)  # a point in the mission area near a base
    # Where the monitors stood: another of the base's points, in the mission area as the
    # observer's rule requires (reports.services.placement); a point jittered around the
    # incident could fall across the generalised line, which is 1 km from Kapan.
    observer_lon, observer_lat = rnd.choice(base)
    category, _, description = rnd.choices(CATEGORIES, weights=[c[1] for c in CATEGORIES])[0]
    serious = rnd.random() < 0.10  # severity 4-5 or casualties: a flash alert for the worker
    casualties = serious and rnd.random() < 0.4
    observed = now - timedelta(minutes=rnd.randint(1, max_age_minutes), seconds=rnd.randint(0, 59))
    heard = category in ("shelling", "small_arms", "explosion", "armed_clash")
    return {
        "uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "status": "submitted",
        "observed_at": observed.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "time_precision": "exact" if rnd.random() < 0.7 else "approximate",
        "observed_until": None,
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "location_precision": rnd.choice(["exact", "approximate", "approximate", "area"]),
        "observer_position": {"type": "Point", "coordinates": [observer_lon, observer_lat]},
        "observation_means": rnd.choice(MEANS),
        "category": category,
        "severity": rnd.randint(4, 5) if serious and not casualties else rnd.randint(1, 3),
        "description": description,
        "weapons": "automatic rifles" if category == "small_arms" else "",
        "alleged_actor": "",
        "alleged_by": "",
        "casualty_source": "party_reported" if casualties else "",
        "damage": "Roof and windows." if category == "civilian_damage" else "",
        "patrol": None,
        "direction_degrees": rnd.randint(0, 359),
        "estimated_distance_m": rnd.choice([300, 500, 1000, 2000, 3000]),
        "explosions": rnd.randint(1, 12) if category in ("shelling", "explosion") else None,
        "shots": rnd.randint(5, 200) if heard and category != "explosion" else None,
        "bursts": rnd.randint(1, 20) if category == "small_arms" else None,
        "civilians_killed": 0,
        "civilians_injured": rnd.randint(1, 3) if casualties else 0,
        "military_killed": 0,
        "military_injured": 0,
    }


def floor_payload(rnd: random.Random, bases: list) -> dict:
    lon, lat = rnd.choice(rnd.choice(bases))
    return {
        "uuid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }


def make_photo(seed: int) -> bytes:
    """A real JPEG of about 2 MiB (5 MP, photo-like noise and gradients)."""
    from PIL import Image

    random.seed(seed)
    w, h = 2592, 1944
    coarse = Image.effect_noise((w // 4, h // 4), 60).resize((w, h), Image.BILINEAR)
    fine = Image.effect_noise((w, h), 25)
    grad = Image.linear_gradient("L").resize((w, h))
    image = Image.merge(
        "RGB",
        (
            Image.blend(coarse, grad, 0.5),
            Image.blend(fine, coarse, 0.6),
            Image.blend(grad, fine, 0.3),
        ),
    )
    best = None
    for quality in range(84, 96):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        data = out.getvalue()
        if best is None or abs(len(data) - PHOTO_BYTES) < abs(len(best) - PHOTO_BYTES):
            best = data
    return best


def photo_for(base: bytes, report_uuid: str) -> bytes:
    """The same picture, made distinct per report by a JPEG comment (COM) segment."""
    comment = f"bench photo of report {report_uuid}".encode()
    return base[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + base[2:]


def multipart(data: bytes, sha256: str, name: str) -> tuple[bytes, str]:
    """The tablet's FormData: `file` (the blob) then `sha256`."""
    boundary = f"----benchform{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = (
        f"\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="sha256"\r\n\r\n'
        f"{sha256}\r\n--{boundary}--\r\n"
    ).encode()
    return head + data + tail, f"multipart/form-data; boundary={boundary}"


class Tablet:
    """One device: its token, its address as the reverse proxy reports it, one connection."""

    def __init__(self, config, client):
        self.host, self.port = config["host"], config["port"]
        self.headers = {
            "Accept": "application/json",
            "User-Agent": "missionapp-bench-tablet",
            # Production sits behind a reverse proxy: each tablet has its own address.
            "X-Forwarded-For": client["address"],
            "X-Forwarded-Proto": "https",
        }
        if client.get("token"):
            self.headers["Authorization"] = f"Token {client['token']}"
        self.conn = None
        self.records = []  # (monotonic end, latency s, status, kind)
        self.samples = []  # first few refusals, for the harness to show

    def send(self, method, path, body=None, content_type="application/json", kind="report"):
        """One request; returns (status, parsed JSON or None). Status 0: no answer."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        start = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
            if response.will_close:
                self.conn.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as exc:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            raw, status = repr(exc).encode(), 0
        end = time.monotonic()
        self.records.append((end, end - start, status, kind))
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
        if not 200 <= status < 300 and len(self.samples) < 5:
            self.samples.append(
                {"status": status, "path": path, "body": raw[:600].decode("utf-8", "replace")}
            )
        return status, answer


def run_ingest(config, tablets, stop):
    bases = list(config["bases"].values())
    floor = config["mode"] == "floor"
    path = "/bench/floor/" if floor else "/api/reports/"

    def loop(index, tablet):
        rnd = random.Random(config["seed"] * 1000 + index)
        while not stop.is_set():
            now = datetime.now(UTC)
            payload = floor_payload(rnd, bases) if floor else report_payload(rnd, bases, now, 180)
            status, answer = tablet.send("POST", path, json.dumps(payload).encode())
            if 200 <= status < 300 and (not answer or answer.get("uuid") != payload["uuid"]):
                tablet.records[-1] = (*tablet.records[-1][:2], -1, "report")  # no echo: lost

    return [threading.Thread(target=loop, args=(i, t), daemon=True) for i, t in enumerate(tablets)]


def send_until_settled(
    tablet, method, path, body, content_type, kind, expect_uuid=None, expect_sha=None
):
    """Like the tablet's outbox: resend on no answer or a 5xx (backing off), stop on 2xx/4xx."""
    for attempt in range(6):
        status, answer = tablet.send(method, path, body, content_type, kind)
        if 200 <= status < 300:
            echoed = (answer or {}).get("uuid" if expect_uuid else "sha256")
            if echoed == (expect_uuid or expect_sha):
                return status
        elif 0 < status < 500 and status not in (408, 429):
            return status
        time.sleep(min(8.0, 0.5 * 2**attempt))
    return status


def run_backlog(config, tablets, photo):
    """Each tablet empties its outbox: GET /api/me/, every report in order, then its photos."""
    per_tablet, photo_every = config["per_tablet"], config["photo_every"]
    bases = list(config["bases"].values())
    now = datetime.now(UTC)
    outboxes = []
    for index, tablet in enumerate(tablets):
        rnd = random.Random(config["seed"] * 1000 + index)
        home = [bases[index % len(bases)]]  # a tablet reports around its own forward base
        reports, photos = [], []
        for n in range(per_tablet):
            payload = report_payload(rnd, home, now, 2 * 24 * 60)  # queued over two days
            reports.append((payload["uuid"], json.dumps(payload).encode()))
            if n % photo_every == photo_every - 1:
                data = photo_for(photo, payload["uuid"])
                photos.append((payload["uuid"], hashlib.sha256(data).hexdigest()))
        outboxes.append((tablet, reports, photos))

    results = {"last_report_at": [], "done_at": [], "final": {}}
    lock = threading.Lock()

    def flush(tablet, reports, photos):
        tablet.send("GET", "/api/me/", kind="probe")
        final = {}
        for report_uuid, body in reports:
            final[report_uuid] = send_until_settled(
                tablet,
                "POST",
                "/api/reports/",
                body,
                "application/json",
                "report",
                expect_uuid=report_uuid,
            )
        last_report = time.monotonic()
        for report_uuid, sha256 in photos:
            body, content_type = multipart(photo_for(photo, report_uuid), sha256, "IMG.jpg")
            final[f"{report_uuid}:{sha256}"] = send_until_settled(
                tablet,
                "POST",
                f"/api/reports/{report_uuid}/attachments/",
                body,
                content_type,
                "photo",
                expect_sha=sha256,
            )
        with lock:
            results["last_report_at"].append(last_report)
            results["done_at"].append(time.monotonic())
            results["final"].update(final)

    threads = [threading.Thread(target=flush, args=o, daemon=True) for o in outboxes]
    return outboxes, threads, results


def resend_sample(config, outboxes, photo):
    """A retry of delivered items (answers lost on the way): the same bytes again."""
    rnd = random.Random(config["seed"] + 7)
    items = [(t, u, b) for t, reports, _ in outboxes for u, b in reports]
    chosen = rnd.sample(items, min(config["resend"], len(items)))
    photos = [(t, u, s) for t, _, photos in outboxes for u, s in photos]
    chosen_photos = rnd.sample(photos, min(max(1, config["resend"] // 10), len(photos)))
    statuses = {"report": {}, "photo": {}}
    for tablet, report_uuid, body in chosen:
        status, answer = tablet.send("POST", "/api/reports/", body, kind="resend")
        echoed = (answer or {}).get("uuid") == report_uuid
        key = str(status if echoed or status != 200 else -1)
        statuses["report"][key] = statuses["report"].get(key, 0) + 1
    for tablet, report_uuid, sha256 in chosen_photos:
        body, content_type = multipart(photo_for(photo, report_uuid), sha256, "IMG.jpg")
        status, _ = tablet.send(
            "POST",
            f"/api/reports/{report_uuid}/attachments/",
            body,
            content_type,
            kind="resend-photo",
        )
        statuses["photo"][str(status)] = statuses["photo"].get(str(status), 0) + 1
    return statuses


def emit(obj):
    sys.stdout.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
    sys.stdout.flush()


def main():
    # {"host", "port", "mode": "ingest"|"floor"|"backlog", "seed",
    #  "bases": {name: [[lon, lat], ...]} (points in the mission area near each forward base),
    #  "clients": [{"token", "address"}], backlog only: "per_tablet", "photo_every", "resend"}
    config = json.loads(sys.stdin.readline())
    tablets = [Tablet(config, client) for client in config["clients"]]
    if config["mode"] in ("ingest", "floor"):
        stop = threading.Event()
        threads = run_ingest(config, tablets, stop)
        emit("ready")
        for thread in threads:
            thread.start()
        sys.stdin.readline()  # "stop"
        stop.set()
        for thread in threads:
            thread.join(timeout=150)
        emit(
            {
                "records": [r for t in tablets for r in t.records],
                "samples": [s for t in tablets for s in t.samples],
            }
        )
        return
    photo = make_photo(config["seed"])
    outboxes, threads, results = run_backlog(config, tablets, photo)
    emit("ready")
    sys.stdin.readline()  # "go"
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    emit(
        {
            "started": started,
            "photo_bytes": len(photo),
            "uuids": [u for _, reports, _ in outboxes for u, _ in reports],
            "photos": sum(len(p) for _, _, p in outboxes),
            "records": [r for t in tablets for r in t.records],
            "samples": [s for t in tablets for s in t.samples],
            "last_report_at": max(results["last_report_at"]),
            "done_at": max(results["done_at"]),
            "not_settled": {k: v for k, v in results["final"].items() if not 200 <= v < 300},
        }
    )
    sys.stdin.readline()  # "resend"
    for tablet in tablets:
        tablet.records, tablet.samples = [], []
    statuses = resend_sample(config, outboxes, photo)
    emit(
        {
            "statuses": statuses,
            "records": [r for t in tablets for r in t.records],
            "samples": [s for t in tablets for s in t.samples],
        }
    )


if __name__ == "__main__":
    main()
