"""Users of the ingest benchmark: monitors (one tablet each) and the flash alerts' recipients.

Run by `bench/ingest.py` on the fresh bench database only. Prints JSON: the monitors'
usernames and the forward bases' positions (where the load generator places incidents).
"""

import json
import os
import random

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.gis.geos import Point
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from core.models import ForwardBase, User
from core.roles import Role
from core.selectors import sector_at

# Incidents are placed within about 3 km of a forward base, at points that lie in the mission
# area (Kapan and Goris are close to the border: a random offset can fall outside it).
POINTS_PER_BASE = 120
SPREAD_DEGREES = 0.03

# Duty officers and headquarters receive the flash alerts, so the worker sends real mail.
RECIPIENTS = [
    ("bench-duty-1", Role.DUTY_OFFICER),
    ("bench-duty-2", Role.DUTY_OFFICER),
    ("bench-hq-1", Role.HEADQUARTERS),
]


class Command(BaseCommand):
    help = "Create the ingest benchmark's monitors and alert recipients ($BENCH_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--monitors", type=int, required=True)

    def handle(self, *args, monitors, **options):
        password = os.environ.get("BENCH_PASSWORD", "")
        if len(password) < 12:
            raise CommandError("Set BENCH_PASSWORD (12 characters or more).")
        bases = list(ForwardBase.objects.order_by("name"))
        if not bases:
            raise CommandError("No forward bases: run `manage.py load_geography` first.")
        groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
        # One hash for everyone: production's PBKDF2 costs ~0.3 s of CPU per user otherwise.
        hashed = make_password(password)
        usernames = []
        with (
            transaction.atomic(),
            acting_as(client=AuditEntry.Client.COMMAND, client_ref="bench_users"),
        ):
            for i in range(monitors):
                username = f"bench-monitor-{i + 1:02d}"
                user = User.objects.create(
                    username=username,
                    password=hashed,
                    forward_base=bases[i % len(bases)],
                    first_name="Bench",
                    last_name=f"Monitor {i + 1}",
                )
                user.groups.add(groups[Role.MONITOR])
                usernames.append(username)
            for username, role in RECIPIENTS:
                user = User.objects.create(
                    username=username,
                    password=hashed,
                    email=f"{username}@bench.invalid",
                    is_staff=role == Role.DUTY_OFFICER,
                )
                user.groups.add(groups[role])
        self.stdout.write(json.dumps({"monitors": usernames, "bases": self._points(bases)}))

    def _points(self, bases):
        rnd = random.Random(4)
        points = {}
        for base in bases:
            found = points[base.name] = []
            while len(found) < POINTS_PER_BASE:
                lon = base.location.x + rnd.uniform(-SPREAD_DEGREES, SPREAD_DEGREES)
                lat = base.location.y + rnd.uniform(-SPREAD_DEGREES, SPREAD_DEGREES)
                if sector_at(Point(lon, lat, srid=4326)) is not None:
                    found.append([round(lon, 6), round(lat, 6)])
        return points
