"""A burst of tablets on the embedded stack: N clients connect at the same instant and each
files one report (what happens when the signal returns to a valley), against Django's
development server and against the server `make demo` runs (gunicorn, missionapp/gunicorn.conf.py).

    .venv/bin/python bench/parallel_clients.py [--clients 50] [--rounds 3]

A fresh SpatiaLite database in a temporary folder, the dev settings without DEBUG. Each client
opens its own connection when every thread is ready (a barrier) and POSTs a report with a
device token. Printed per server: answers by status, connections reset or refused, p50/p95 and
the round's wall time, and the reports stored (each exactly once).
"""

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# Near Kornidzor and Tegh (Syunik), in the mission area.
PLACES = [(46.5311, 39.5481), (46.4706, 39.5587), (46.4200, 39.5000), (46.3500, 39.3000)]


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                   capture_output=True, text=True, timeout=900)  # fmt: skip


def token_for_monitor(env):
    script = (
        "from core.models import DeviceToken, ForwardBase\n"
        "from core.tests.factories import UserFactory\n"
        "u = UserFactory(username='burst-monitor', roles=['monitor'],"
        " forward_base=ForwardBase.objects.get(name='Kapan'))\n"
        "print(DeviceToken.objects.create(user=u, device_name='burst')[1])\n"
    )
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=BASE_DIR, env=env,
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


def body(i):
    lon, lat = PLACES[i % len(PLACES)]
    observed = datetime.now(UTC) - timedelta(minutes=30)
    return json.dumps({
        "uuid": str(uuid.uuid4()),
        "observed_at": observed.replace(microsecond=0).isoformat(),
        "location": {"type": "Point", "coordinates": [lon + (i % 7) * 1e-3, lat]},
        "category": "small_arms", "severity": 2, "status": "submitted",
        "description": f"Burst report {i}.",
    })  # fmt: skip


def burst(port, token, clients, offset):
    barrier = threading.Barrier(clients)
    results = [None] * clients

    def client(i):
        payload = body(offset + i)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        start = time.perf_counter()
        try:
            connection.request("POST", "/api/reports/", payload, {
                "Authorization": f"Token {token}", "Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            response.read()
            results[i] = (str(response.status), time.perf_counter() - start)
        except (ConnectionError, http.client.HTTPException, OSError) as exc:
            results[i] = (type(exc).__name__, time.perf_counter() - start)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


def wait_listening(port, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.3)
    raise SystemExit("the server did not listen")


def stored(env):
    script = "from reports.models import IncidentReport as R; print(R.objects.count())"
    out = subprocess.run([PYTHON, "manage.py", "shell", "-c", script], cwd=BASE_DIR, env=env,
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return int(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    var = Path(tempfile.mkdtemp(prefix="missionapp-burst-"))
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    env = {**inherited,
           "DJANGO_SETTINGS_MODULE": "missionapp.settings.dev", "DEBUG": "false",
           "MISSIONAPP_VAR_DIR": str(var), "STATIC_ROOT": str(var / "static"),
           "PYTHONUNBUFFERED": "1"}  # fmt: skip
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "load_geography")
    token = token_for_monitor(env)
    sys.path.insert(0, str(BASE_DIR))
    os.environ.update(env)
    import django

    django.setup()
    from bench.ingest import free_port
    from core.management.commands.run_stack import web_command

    servers = {
        "runserver (before)": lambda port: [
            PYTHON,
            "manage.py",
            "runserver",
            "--noreload",
            f"127.0.0.1:{port}",
        ],  # fmt: skip
        "gunicorn (make demo)": lambda port: web_command(),
    }
    rows, offset, before = [], 0, stored(env)
    for name, command in servers.items():
        port = free_port()
        log = open(var / f"{name.split()[0]}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(command(port), cwd=BASE_DIR, stdout=log, stderr=log,
                                env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                                start_new_session=True)  # fmt: skip
        try:
            wait_listening(port, proc)
            time.sleep(2)  # gunicorn's workers booted
            for _ in range(args.rounds):
                results, wall = burst(port, token, args.clients, offset)
                offset += args.clients
                ok = sorted(t for status, t in results if status == "201")
                rows.append((name, Counter(s for s, _ in results), wall,
                             ok[len(ok) // 2] if ok else None,
                             ok[int(len(ok) * 0.95) - 1] if ok else None))  # fmt: skip
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()
    after = stored(env)
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M %Z}"
    print(f"\n{args.clients} clients at once, {args.rounds} rounds per server "
          f"(SpatiaLite, {os.cpu_count()} cores, {when})\n")  # fmt: skip
    print("| server | answers | resets/refused | p50 s | p95 s | round s |")
    print("|---|---|---|---|---|---|")
    for name, counts, wall, p50, p95 in rows:
        failed = sum(n for status, n in counts.items() if not status.isdigit())
        answers = ", ".join(f"{n}× {s}" for s, n in sorted(counts.items()) if s.isdigit())
        print(f"| {name} | {answers or '-'} | {failed} | {p50 or 0:.2f} | {p95 or 0:.2f} | "
              f"{wall:.2f} |")  # fmt: skip
    created = sum(c.get("201", 0) for _, c, *_ in rows)
    print(f"\nReports stored: {after - before} (answered 201: {created}).")
    # The folder holds the run's database and its machine secrets: not left behind.
    shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
