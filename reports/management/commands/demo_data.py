"""Plausible mission data for the demo: three weeks of patrols and the incidents they saw.

Every forward base sends one patrol a day along one of its usual routes towards the border
villages; the next three days are planned but not yet done. Incidents are observed
during patrols (most) or from a base's observation post (one a day, rotating over the bases
so that every sector has some). `--incidents N` adds N more, scattered around the border
settlements, to load-test lists, maps and the digest.

Deterministic and idempotent: each patrol day draws from its own random generator seeded by
(seed, base, date), and each incident has a uuid5 of the same key, so a rerun creates only
what is missing. A rerun on a later day adds the days the window has moved on to; plans
already stored keep their status (moving plans through their lifecycle is not faked). Everything is
written through the services, so the audit trail records it as `command demo_data`.
"""

import math
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.gis.geos import LineString, Point
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from core.management.commands.demo_users import DEMO_USERS, refuse_in_production
from core.models import ForwardBase, Province, Settlement, User
from core.roles import Role
from core.selectors import compass_point, in_mission_area
from liaison.models import Contact, ContactChannel, FollowUp, LogEntry, Organisation, Party
from patrols.models import PatrolPlan
from patrols.services import patrol_plan_create
from patrols.services.history import itinerary_history_record
from reports.models import IncidentReport
from reports.services.filing import incident_report_receive
from reports.services.placement import incident_placement

YEREVAN = ZoneInfo("Asia/Yerevan")
DEFAULT_SEED = 20230220  # the day the EU Mission in Armenia was launched
DAYS_BACK = 21
DAYS_AHEAD = 3
BATCH_SIZE = 500
NAMESPACE = uuid.UUID("5b0f7a52-3c1e-5d9a-9f1e-6d2f3c8a4e10")


# --- Where patrols go -------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservationPoint:
    lon: float
    lat: float
    near: str  # the real settlement whose residents, houses and fields a description names
    label: str = ""  # how a description names the point itself, when it is not the village

    @property
    def point(self) -> Point:
        return Point(self.lon, self.lat, srid=4326)

    @property
    def name(self) -> str:
        return self.label or f"the observation point at {self.near}"


@dataclass(frozen=True)
class Route:
    destination: str
    waypoints: tuple[tuple[float, float], ...]  # (lon, lat), from the base outwards
    observation_points: tuple[ObservationPoint, ...]
    incident_rate: float  # incidents per patrol day, on average

    @property
    def line(self) -> LineString:
        return LineString(self.waypoints, srid=4326)


OP = ObservationPoint
KAPAN, GORIS, JERMUK = (46.40576, 39.20755), (46.34168, 39.51111), (45.66949, 39.84168)
YEGHEGNADZOR, MARTUNI, IJEVAN = (45.33239, 39.76389), (45.30548, 40.13892), (45.14851, 40.87877)
ARENI, VARDENIS = (45.18329, 39.71668), (45.73053, 40.18329)

# Waypoints follow the roads roughly and were checked against the generalised province
# polygons: the routes stay inside the five sectors, except the last few hundred metres to
# villages that lie on the line itself (Shurnukh, Kornidzor, Nerkin Khndzoresk, Agarak), which
# the province tolerance still places in their sector.
ROUTES: dict[str, tuple[Route, ...]] = {
    "Kapan": (
        Route(
            "Davit Bek and Shurnukh",
            (KAPAN, (46.45, 39.26), (46.49528, 39.31806), (46.44, 39.29), (46.38, 39.33),
             (46.39139, 39.3775)),
            (OP(46.49528, 39.31806, "Davit Bek"), OP(46.39139, 39.3775, "Shurnukh"),
             OP(46.45, 39.26, "Kapan", "the heights north-east of Kapan")),
            1.0,
        ),
        Route(
            "Kajaran, Meghri and Agarak",
            (KAPAN, (46.23, 39.16), (46.15, 39.12), (46.20, 39.00), (46.24458, 38.90292),
             (46.19639, 38.865)),
            (OP(46.24458, 38.90292, "Meghri"), OP(46.19639, 38.865, "Agarak")),
            0.6,
        ),
    ),
    "Goris": (
        Route(
            "Khndzoresk and Nerkin Khndzoresk",
            (GORIS, (46.4361, 39.50568), (46.49611, 39.50611)),
            (OP(46.4361, 39.50568, "Khndzoresk"), OP(46.49611, 39.50611, "Nerkin Khndzoresk")),
            0.9,
        ),
        Route(
            "Tegh and Kornidzor",
            (GORIS, (46.40, 39.54), (46.48054, 39.55826), (46.53111, 39.54806)),
            (OP(46.48054, 39.55826, "Tegh"), OP(46.53111, 39.54806, "Kornidzor")),
            0.9,
        ),
    ),
    "Jermuk": (
        Route(
            "the border heights east of Jermuk",
            (JERMUK, (45.72, 39.86), (45.77, 39.87)),
            (OP(45.77, 39.87, "Jermuk", "the border heights east of Jermuk"),),
            0.5,
        ),
        Route(
            "the upper Arpa valley north of Jermuk",
            (JERMUK, (45.70, 39.90), (45.73, 39.92)),
            (OP(45.73, 39.92, "Jermuk", "the upper Arpa valley"),),
            0.5,
        ),
        Route(
            "the Syunik border road south-east of Jermuk",
            (JERMUK, (45.70, 39.80), (45.76, 39.78), (45.79, 39.80)),
            (OP(45.79, 39.80, "Jermuk", "the border road south-east of Jermuk"),),
            0.4,
        ),
    ),
    "Yeghegnadzor": (
        Route(
            "Areni and Yeraskh",
            (YEGHEGNADZOR, ARENI, (45.10, 39.76), (45.00, 39.78), (44.90, 39.76),
             (44.83556, 39.73083)),
            (OP(44.90, 39.76, "Yeraskh", "the road east of Yeraskh"),
             OP(44.83556, 39.73083, "Yeraskh")),
            1.1,
        ),
        Route(
            "the Nakhchivan border south of Areni",
            (YEGHEGNADZOR, ARENI, (45.19, 39.64)),
            (OP(45.19, 39.64, "Areni", "the border south of Areni"), OP(*ARENI, "Areni")),
            0.4,
        ),
        Route(
            "Vayk and the border south of it",
            (YEGHEGNADZOR, (45.46668, 39.6889), (45.51, 39.64)),
            (OP(45.51, 39.64, "Vayk", "the border south of Vayk"),),
            0.3,
        ),
    ),
    "Martuni": (
        Route(
            "Vardenis, Sotk and Kut",
            (MARTUNI, (45.55, 40.16), VARDENIS, (45.86472, 40.20306), (45.90167, 40.18083)),
            (OP(45.86472, 40.20306, "Sotk"), OP(45.90167, 40.18083, "Kut")),
            1.0,
        ),
        Route(
            "Vardenis and Geghamasar",
            (MARTUNI, (45.55, 40.16), VARDENIS, (45.67924, 40.31091)),
            (OP(45.67924, 40.31091, "Geghamasar"),),
            0.8,
        ),
        Route(
            "the eastern shore of Lake Sevan to Artanish",
            (MARTUNI, (45.55, 40.16), VARDENIS, (45.67924, 40.31091), (45.55, 40.38),
             (45.43, 40.45), (45.35, 40.48333)),
            (OP(45.55, 40.38, "Geghamasar", "the lakeshore road north-west of Geghamasar"),
             OP(45.35, 40.48333, "Artanish")),
            0.5,
        ),
    ),
    "Ijevan": (
        Route(
            "Berd and the border villages east of it",
            (IJEVAN, (45.25, 40.90), (45.38901, 40.88135), (45.44, 40.92)),
            (OP(45.44, 40.92, "Berd", "the border north-east of Berd"),
             OP(45.38901, 40.88135, "Berd")),
            0.7,
        ),
        Route(
            "Noyemberyan and the Voskepar road",
            (IJEVAN, (45.18, 40.97), (45.07, 41.06), (45.03, 41.10), (44.99917, 41.17244)),
            (OP(45.07, 41.06, "Noyemberyan", "the Voskepar road"),
             OP(44.99917, 41.17244, "Noyemberyan")),
            0.7,
        ),
        Route(
            "Chambarak",
            (IJEVAN, (45.30, 40.78), (45.35498, 40.59655)),
            (OP(45.35498, 40.59655, "Chambarak"),),
            0.5,
        ),
    ),
}  # fmt: skip

# Where each base watches from when it is not on patrol: one report a day from one of them.
OBSERVATION_POSTS = {
    "Kapan": OP(46.49528, 39.31806, "Davit Bek"),
    "Goris": OP(46.53111, 39.54806, "Kornidzor"),
    "Jermuk": OP(45.77, 39.87, "Jermuk", "the border heights east of Jermuk"),
    "Yeghegnadzor": OP(44.83556, 39.73083, "Yeraskh"),
    "Martuni": OP(45.86472, 40.20306, "Sotk"),
    "Ijevan": OP(45.44, 40.92, "Berd", "the border north-east of Berd"),
}

# Ararat has no base of its own: Yeghegnadzor's patrols cover it along the Yeraskh road.
SECTORS_WATCHED = {
    "Kapan": ("Syunik",),
    "Goris": ("Syunik",),
    "Jermuk": ("Vayots Dzor",),
    "Yeghegnadzor": ("Vayots Dzor", "Ararat"),
    "Martuni": ("Gegharkunik",),
    "Ijevan": ("Tavush",),
}

PURPOSES = (
    "Monitoring patrol: {destination}",
    "Presence patrol: {destination}",
    "Observation patrol: {destination}",
    "Community engagement: {destination}",
)

# --- What they see ------------------------------------------------------------------------------

C = IncidentReport.Category
# Relative frequencies: fortification works and small-arms fire are the daily fare; shelling
# is rare.
CATEGORY_WEIGHTS = {
    C.SMALL_ARMS: 30,
    C.FORTIFICATION: 22,
    C.TROOP_MOVEMENT: 12,
    C.DRONE: 8,
    C.EXPLOSION: 8,
    C.CIVILIAN_DAMAGE: 7,
    C.AIRSPACE: 4,
    C.OTHER: 4,
    C.SHELLING: 2,
    C.PROTEST: 2,
}
# Weights of severity 1..5 per category: most reports are minor.
SEVERITY_WEIGHTS = {
    C.SMALL_ARMS: (45, 35, 15, 5, 0),
    C.FORTIFICATION: (60, 35, 5, 0, 0),
    C.TROOP_MOVEMENT: (40, 40, 17, 3, 0),
    C.DRONE: (30, 45, 20, 5, 0),
    C.EXPLOSION: (20, 45, 30, 5, 0),
    C.CIVILIAN_DAMAGE: (10, 40, 40, 10, 0),
    C.AIRSPACE: (30, 50, 20, 0, 0),
    C.OTHER: (70, 30, 0, 0, 0),
    C.SHELLING: (0, 10, 40, 35, 15),
    C.PROTEST: (70, 30, 0, 0, 0),
}
# Where an incident is placed: seen from the observation point (the fire, the works, the
# vehicles are somewhere out there) or in the village itself (a damaged house, a found shell).
AWAY, IN_VILLAGE = "away", "in_village"
# {op} names the observation point, {near} the village; {direction} and {distance} are from
# the one the template is placed by, so the description agrees with the derived phrase.
DESCRIPTIONS = {
    C.SMALL_ARMS: (
        (AWAY, "Monitors heard {n} bursts of small-arms fire from the {direction}, about "
         "{distance} from {op}, between {time} and {later} (Yerevan time). No impacts were "
         "observed."),
        (AWAY, "Between {time} and {later} (Yerevan time) monitors at {op} heard {n} single "
         "shots and {few} short bursts of automatic fire from the {direction}, at an estimated "
         "{distance}. The target of the fire could not be determined."),
        (AWAY, "Residents of {near} told the patrol that they had heard gunfire during the "
         "night. At {time} (Yerevan time) monitors at {op} heard {n} single shots from the "
         "{direction}, about {distance} away."),
    ),
    C.FORTIFICATION: (
        (AWAY, "Monitors observed an excavator and about {many} personnel digging a trench "
         "about {distance} to the {direction} of {op}, on the far side of the border."),
        (AWAY, "Compared with the previous patrol, a new earth berm about {metres} m long is "
         "visible about {distance} to the {direction} of {op}."),
        (AWAY, "Monitors observed {n} personnel in military uniform placing concrete blocks "
         "and camouflage netting at a position about {distance} to the {direction} of {op}. "
         "Work continued while the patrol was present ({time}–{later}, Yerevan time)."),
    ),
    C.TROOP_MOVEMENT: (
        (AWAY, "At {time} (Yerevan time) monitors observed a column of {n} military trucks "
         "moving along the road about {distance} to the {direction} of {op}."),
        (AWAY, "Monitors observed {few} armoured vehicles and about {many} personnel at a "
         "position about {distance} to the {direction} of {op}; the position was unoccupied "
         "during the previous patrol."),
        (AWAY, "A rotation of personnel was observed at the position about {distance} to the "
         "{direction} of {op}: {few} vehicles arrived and {few_more} left between {time} and "
         "{later} (Yerevan time)."),
    ),
    C.DRONE: (
        (AWAY, "At {time} (Yerevan time) monitors at {op} observed a small unmanned aerial "
         "vehicle flying at low altitude from the {direction} for about {minutes} minutes "
         "before it turned back."),
        (IN_VILLAGE, "Monitors heard a drone over {near} at {time} (Yerevan time) but could "
         "not see it. Residents said drones had flown over the village on {few} evenings this "
         "week."),
    ),
    C.EXPLOSION: (
        (IN_VILLAGE, "Residents of {near} showed the patrol an unexploded mortar round in a "
         "field about {metres} m from the last houses. The patrol marked the place and "
         "informed the local authorities and the Rescue Service."),
        (AWAY, "Monitors at {op} heard {n} explosions from the {direction} at an estimated "
         "{distance} between {time} and {later} (Yerevan time), consistent with controlled "
         "demining."),
        (IN_VILLAGE, "A farmer of {near} reported finding an anti-personnel mine while "
         "ploughing a field about {distance} to the {direction} of the village; the patrol saw "
         "the warning signs already placed by the Rescue Service."),
    ),
    C.CIVILIAN_DAMAGE: (
        (IN_VILLAGE, "The owner of a house in {near} showed the patrol {n} bullet holes in the "
         "roof and an upper wall, which he said were caused by gunfire during the night. "
         "Monitors photographed the damage."),
        (IN_VILLAGE, "Monitors observed fresh damage to the irrigation pipeline about "
         "{distance} to the {direction} of {near}; the community head said it had been hit by "
         "gunfire two days earlier."),
        (IN_VILLAGE, "A car parked in {near} had its windscreen shattered; the owner said it "
         "was hit at about {time} (Yerevan time) the previous evening. Monitors could not "
         "establish the cause."),
    ),
    C.AIRSPACE: (
        (AWAY, "At {time} (Yerevan time) monitors at {op} observed a fixed-wing aircraft "
         "crossing the border from the {direction} at high altitude and turning back after "
         "about {few} minutes."),
        (AWAY, "At {time} (Yerevan time) monitors observed a helicopter flying along the "
         "border about {distance} to the {direction} of {op} for about {minutes} minutes."),
    ),
    C.OTHER: (
        (IN_VILLAGE, "Farmers of {near} told the patrol they could not take their livestock "
         "to the pastures near the border because of shooting in recent days."),
        (IN_VILLAGE, "Monitors met the community head of {near}, who said residents were "
         "worried by new positions visible across the border; no incident was observed."),
    ),
    C.SHELLING: (
        (AWAY, "Between {time} and {later} (Yerevan time) monitors at {op} heard {n} impacts "
         "consistent with mortar fire from the {direction}, at an estimated {distance}. The "
         "patrol withdrew to its forward base."),
        (IN_VILLAGE, "Monitors observed {few} fresh craters in pasture land about {distance} "
         "to the {direction} of {near}; residents said they had heard explosions at about "
         "{time} (Yerevan time) the night before."),
    ),
    C.PROTEST: (
        (IN_VILLAGE, "About {many}0 residents of {near} gathered peacefully at the community "
         "hall to call for better protection of the village. Monitors observed from a "
         "distance; police were present and there was no incident."),
    ),
}  # fmt: skip

DIRECTIONS = {
    "N": "north",
    "NE": "north-east",
    "E": "east",
    "SE": "south-east",
    "S": "south",
    "SW": "south-west",
    "W": "west",
    "NW": "north-west",
}


@dataclass
class PlannedIncident:
    uuid: uuid.UUID
    author: User
    observed_at: datetime
    location: Point
    category: str
    severity: int
    description: str
    status: str
    patrol_key: tuple[str, date] | None = None  # (forward base, day) of the patrol
    # Where the monitors stood, for what they saw from a distance (None: seen in the village).
    observer_position: Point | None = None


def offset(origin: Point, bearing: float, km: float) -> Point:
    """The point `km` from `origin` on `bearing` (flat-earth: fine over a few kilometres)."""
    dlat = km * math.cos(math.radians(bearing)) / 111.32
    dlon = km * math.sin(math.radians(bearing)) / (111.32 * math.cos(math.radians(origin.y)))
    return Point(round(origin.x + dlon, 6), round(origin.y + dlat, 6), srid=4326)


def describe(rng: random.Random, template: str, origin: OP, bearing: float, km: float, at):
    local = at.astimezone(YEREVAN)
    return template.format(
        n=rng.randint(3, 15),
        few=rng.randint(2, 6),
        few_more=rng.randint(2, 6),
        many=rng.randint(8, 30),
        minutes=rng.randint(3, 25),
        metres=rng.randint(5, 40) * 10,
        direction=DIRECTIONS[compass_point(bearing)],
        distance=f"{max(round(km * 10), 1) * 100} m" if km < 1 else f"{round(km)} km",
        op=origin.name,
        near=origin.near,
        time=f"{local:%H:%M}",
        later=f"{local + timedelta(minutes=rng.randint(5, 50)):%H:%M}",
    )


def draw_incident(
    rng, *, key, author, observed_at, origin: OP, village: Point, status, accept, radius_km
):
    """One incident seen from `origin` (or in its village); `accept(point)` vets a location."""
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    severity = rng.choices(range(1, 6), weights=SEVERITY_WEIGHTS[category])[0]
    where, template = rng.choice(DESCRIPTIONS[category])
    centre, radius = (origin.point, radius_km) if where == AWAY else (village, (0.2, 0.9))
    for _ in range(40):
        bearing, km = rng.uniform(0, 360), rng.uniform(*radius)
        location = offset(centre, bearing, km)
        if accept(location):
            break
    else:  # the observation points and the villages themselves are in the mission area
        bearing, km, location = 0.0, 0.0, centre
    observed_at = observed_at.replace(second=0, microsecond=0)
    return PlannedIncident(
        uuid=uuid.uuid5(NAMESPACE, key),
        author=author,
        observed_at=observed_at,
        location=location,
        category=category,
        severity=severity,
        description=describe(rng, template, origin, bearing, km, observed_at),
        status=status,
        observer_position=origin.point if where == AWAY else None,
    )


def placeable_from(observer: Point):
    """Whether an incident may be placed at a point seen from `observer`: the observer's rule
    (reports.services.placement), so posts by the line report fire across it as monitors do."""

    def accept(point):
        try:
            incident_placement(location=point, observer_position=observer)
        except ValidationError:
            return False
        return True

    return accept


def _poisson(rng: random.Random, mean: float) -> int:
    count, threshold, product = 0, math.exp(-mean), rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


class Command(BaseCommand):
    help = (
        "Create three weeks of plausible patrols and incident reports (deterministic, "
        "idempotent); --incidents N adds N more for load tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--incidents",
            type=int,
            default=0,
            metavar="N",
            help="Also make sure N load-test incidents exist (the same N on every run).",
        )

    def handle(self, *args, seed, incidents, verbosity, **options):
        refuse_in_production("demo data")
        if incidents < 0:
            raise CommandError("--incidents must be zero or more.")
        self.verbosity = verbosity
        self._ensure_prerequisites()
        now = timezone.now()
        today = now.astimezone(YEREVAN).date()
        with acting_as(client=AuditEntry.Client.COMMAND, client_ref="demo_data"):
            with transaction.atomic():
                plans, new_plans = self._patrols(seed, now, today)
                self._itineraries(seed, plans)
                self._liaison(now)
                planned = self._incidents(seed, today, plans)
                new_incidents = self._write(planned, plans)
            self._say(
                f"Demo data for {today - timedelta(days=DAYS_BACK)} to "
                f"{today + timedelta(days=DAYS_AHEAD)} (Yerevan time): {len(plans)} patrol "
                f"plans ({new_plans} new), {len(planned)} incident reports ({new_incidents} new)."
            )
            if incidents:
                self._load_incidents(seed, today, incidents)
            self._summaries(now)

    # -- daily summaries -----------------------------------------------------------------------

    DEMO_SUMMARY_DAYS = 3

    def _summaries(self, now):
        """The daily summaries of the last few periods, as the scheduler would have made them
        (an unchanged period is left as it is)."""
        from reports.summaries import services as summaries

        last = summaries.last_cutoff(now)
        made = 0
        for days_back in range(self.DEMO_SUMMARY_DAYS - 1, -1, -1):
            made += (
                summaries.summary_produce(period_end=last - timedelta(days=days_back)) is not None
            )
        self._say(f"Daily summaries of the last {self.DEMO_SUMMARY_DAYS} days: {made} built.")

    # -- prerequisites -----------------------------------------------------------------------

    def _ensure_prerequisites(self):
        if not Province.objects.filter(is_sector=True).exists() or not ForwardBase.objects.exists():
            self._say("No geography yet: running `manage.py load_geography` first.")
            call_command("load_geography", verbosity=self.verbosity, stdout=self.stdout)
        usernames = [u.username for u in DEMO_USERS]
        if User.objects.filter(username__in=usernames).count() < len(usernames):
            self._say("Demo users are missing: running `manage.py demo_users` first.")
            call_command("demo_users", stdout=self.stdout)
        users = {u.username: u for u in User.objects.filter(username__in=usernames)}
        self.bases = {b.name: b for b in ForwardBase.objects.select_related("province")}
        self.villages = {s.name: s.location for s in Settlement.objects.all()}
        self.team_leaders, self.observers = {}, {}
        for spec in DEMO_USERS:
            user = users.get(spec.username)
            if user is None or spec.forward_base is None:
                continue
            if spec.role == Role.TEAM_LEADER:
                self.team_leaders.setdefault(spec.forward_base, []).append(user)
            if spec.role in (Role.TEAM_LEADER, Role.MONITOR):
                self.observers.setdefault(spec.forward_base, []).append(user)
        lacking = [b for b in ROUTES if b not in self.team_leaders or b not in self.bases]
        if lacking:
            raise CommandError(
                f"No forward base or demo team leader for {', '.join(lacking)}: run "
                "`manage.py load_geography` and `manage.py demo_users`."
            )

    def _say(self, message):
        if self.verbosity:
            self.stdout.write(message)

    # -- patrols -----------------------------------------------------------------------------

    def _patrols(self, seed, now, today):
        """The patrol plans of the window, keyed by (base, day); missing ones are created."""
        first, last = today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)
        existing = {
            (plan.forward_base_id, plan.planned_departure): plan
            for plan in PatrolPlan.objects.filter(
                forward_base__in=self.bases.values(),
                planned_departure__gte=datetime.combine(first, datetime.min.time(), YEREVAN),
                planned_departure__lt=datetime.combine(last + timedelta(days=1),
                                                       datetime.min.time(), YEREVAN),
            )
        }  # fmt: skip
        plans, created = {}, 0
        for offset_days in range(-DAYS_BACK, DAYS_AHEAD + 1):
            day = today + timedelta(days=offset_days)
            for base_name, routes in ROUTES.items():
                rng = random.Random(f"{seed}:patrol:{base_name}:{day.isoformat()}")
                route = rng.choice(routes)
                departure = datetime.combine(day, datetime.min.time(), YEREVAN) + timedelta(
                    hours=7, minutes=30 + 15 * rng.randint(0, 4)
                )
                back = departure + timedelta(hours=rng.choice((7, 7.5, 8, 8.5, 9)))
                base = self.bases[base_name]
                plan = existing.get((base.pk, departure))
                if plan is None:
                    plan = patrol_plan_create(
                        forward_base=base,
                        team_leader=rng.choice(self.team_leaders[base_name]),
                        purpose=rng.choice(PURPOSES).format(destination=route.destination),
                        planned_departure=departure,
                        planned_return=back,
                        route=route.line,
                        status=self._patrol_status(rng.random(), offset_days, departure, back, now),
                    )
                    created += 1
                plans[(base_name, day)] = (plan, route)
        return plans, created

    @staticmethod
    def _patrol_status(roll, offset_days, departure, back, now):
        S = PatrolPlan.Status
        if offset_days < 0 or back <= now:
            return S.CANCELLED if roll < 0.05 else S.ABORTED if roll < 0.09 else S.COMPLETED
        if departure <= now:
            return S.UNDER_WAY
        if offset_days <= 1:
            return S.NOTIFIED
        if offset_days == 2:
            return S.APPROVED if roll < 0.7 else S.SUBMITTED
        return S.DRAFT

    # -- itineraries told to the parties --------------------------------------------------

    DEMO_RECIPIENTS = {
        "armenia": ("Ministry of Defence liaison desk", "mod-liaison@armenia.demo.invalid"),
        "azerbaijan": ("State Border Service duty desk", "duty@sbs-azerbaijan.demo.invalid"),
    }

    def _itineraries(self, seed, plans):
        """Version 1 and the parties' notifications of every plan past approval: recorded as
        sent (and mostly acknowledged) for the past, queued for the demo worker to send for
        plans still waiting, so the calendar and coordinator pages show real statuses."""
        for code, (name, email) in self.DEMO_RECIPIENTS.items():
            # The party's fallback liaison contact: every sector's itineraries reach it.
            party = Party.objects.get(code=code)
            contact, created = Contact.objects.get_or_create(
                party=party, name_latin=name,
                defaults={"receives_itineraries": True, "is_party_fallback": True},
            )  # fmt: skip
            if created:
                ContactChannel.objects.create(contact=contact, kind="email", value=email,
                                              preferred=True)  # fmt: skip
        coordinator = User.objects.get(username="coordinator")
        for plan, _route in plans.values():
            rng = random.Random(f"{seed}:itinerary:{plan.pk}")
            approved_at = plan.planned_departure - timedelta(days=7, hours=rng.randint(0, 30))
            acknowledged = {
                code: None
                if rng.random() < 0.08
                else approved_at + timedelta(hours=rng.randint(1, 40))
                for code in self.DEMO_RECIPIENTS
            }
            itinerary_history_record(plan=plan, approved_by=coordinator, approved_at=approved_at,
                                     acknowledged_at=acknowledged)  # fmt: skip

    # -- liaison contacts and their log -------------------------------------------------------

    # (party, organisation, unit, position, Latin name, original name, script, sector,
    #  hotline). Invented people; numbers in the reserved fictional range.
    DEMO_CONTACTS = [
        ("armenia", "Ministry of Defence", "Syunik sector command", "Lieutenant colonel",
         "Armen Hakobyan", "Արմեն Հակոբյան", "armenian", "Syunik", "+374 285 0 00 01"),
        ("armenia", "Ministry of Defence", "Gegharkunik sector command", "Major",
         "Davit Sargsyan", "Դավիթ Սարգսյան", "armenian", "Gegharkunik", "+374 264 0 00 02"),
        ("azerbaijan", "State Border Service", "Zangilan detachment", "Colonel",
         "Rauf Huseynov", "Rauf Hüseynov", "azerbaijani", "Syunik", "+994 26 000 0003"),
        ("azerbaijan", "State Border Service", "Gadabay detachment", "Major",
         "Nijat Aliyev", "Nicat Əliyev", "azerbaijani", "Tavush", "+994 22 000 0004"),
        ("russian-border-guards", "FSB Border Directorate", "Meghri post", "Captain",
         "Sergei Volkov", "Сергей Волков", "russian", "Syunik", "+374 286 0 00 05"),
        ("local-authority", "Jermuk community", "", "Head of community",
         "Gayane Martirosyan", "Գայանե Մարտիրոսյան", "armenian", "Vayots Dzor", ""),
    ]  # fmt: skip

    def _liaison(self, now):
        """Hotline contacts per sector, a local authority, and a few exchanges with an
        overdue follow-up. Made once: contacts are found by name on a rerun."""
        officer = User.objects.get(username="liaison_officer")
        sectors = {p.name: p for p in Province.objects.filter(is_sector=True)}
        made = []
        for (
            code,
            org,
            unit,
            position,
            latin,
            original,
            script,
            sector,
            hotline,
        ) in self.DEMO_CONTACTS:
            party = Party.objects.get(code=code)
            organisation, _ = Organisation.objects.get_or_create(party=party, name=org, unit=unit)
            contact, created = Contact.objects.get_or_create(
                party=party, name_latin=latin,
                defaults={"organisation": organisation, "position": position,
                          "name_original": original, "script": script,
                          "languages": "Russian, English"},
            )  # fmt: skip
            if not created:
                continue
            contact.sectors.set([sectors[sector]])
            if hotline:
                ContactChannel.objects.create(contact=contact, kind="hotline", value=hotline,
                                              label="duty", preferred=True)  # fmt: skip
            made.append(contact)
        if not made:
            return
        by_name = {c.name_latin: c for c in made}
        exchanges = [
            (2, "hotline", "deescalation", "azerbaijan", "Syunik", ["Rauf Huseynov"],
             "Shots reported near Nerkin Hand; both sides asked to verify.", 1),
            (5, "meeting", "water", None, "Vayots Dzor", ["Gayane Martirosyan"],
             "Irrigation schedule of the Arpa canal for the spring.", -3),
            (1, "hotline", "itinerary", "armenia", "Gegharkunik", ["Davit Sargsyan"],
             "Confirmed receipt of next week's itineraries.", None),
        ]  # fmt: skip
        for days_ago, kind, topic, party, sector, who, summary, due_in in exchanges:
            entry = LogEntry.objects.create(
                occurred_at=now - timedelta(days=days_ago), kind=kind, topic=topic,
                initiating_party=Party.objects.get(code=party) if party else None,
                sector=sectors[sector], summary=summary, recorded_by=officer,
            )  # fmt: skip
            entry.participants.set([by_name[n] for n in who if n in by_name])
            entry.mission_staff.set([officer])
            if due_in is not None:
                FollowUp.objects.create(entry=entry, action="Report back to the party",
                                        owner=officer,
                                        due_on=now.date() + timedelta(days=due_in))  # fmt: skip

    # -- incidents ---------------------------------------------------------------------------

    def _incidents(self, seed, today, plans) -> list[PlannedIncident]:
        """The incidents of past days: seen by patrols that went out, and from the posts."""
        planned = []
        for (base_name, day), (plan, route) in plans.items():
            # Today's reports are still being written: only past days have their incidents.
            went_out = plan.status in (PatrolPlan.Status.COMPLETED, PatrolPlan.Status.ABORTED)
            if day >= today or not went_out:
                continue
            rng = random.Random(f"{seed}:incidents:{base_name}:{day.isoformat()}")
            # An aborted patrol turned back early: it saw only the first part of its day.
            hours = (plan.planned_return - plan.planned_departure).total_seconds() / 3600
            if plan.status == PatrolPlan.Status.ABORTED:
                hours /= 2
            for k in range(_poisson(rng, route.incident_rate)):
                origin = rng.choice(route.observation_points)
                incident = draw_incident(
                    rng,
                    key=f"{seed}:patrol:{base_name}:{day.isoformat()}:{k}",
                    author=rng.choice(self.observers[base_name]),
                    observed_at=plan.planned_departure
                    + timedelta(hours=rng.uniform(0.75, max(hours - 0.75, 1.0))),
                    origin=origin,
                    village=self.villages[origin.near],
                    status=self._report_status(rng, today, day),
                    accept=in_mission_area,
                    radius_km=(0.3, 3.0),
                )
                incident.patrol_key = (base_name, day)
                planned.append(incident)
        for offset_days in range(-DAYS_BACK, 0):
            day = today + timedelta(days=offset_days)
            # One post report a day, the bases taking turns: every sector gets some.
            base_name = list(OBSERVATION_POSTS)[day.toordinal() % len(OBSERVATION_POSTS)]
            rng = random.Random(f"{seed}:post:{day.isoformat()}")
            post = OBSERVATION_POSTS[base_name]
            planned.append(
                draw_incident(
                    rng,
                    key=f"{seed}:post:{day.isoformat()}",
                    author=rng.choice(self.observers[base_name]),
                    observed_at=datetime.combine(day, datetime.min.time(), YEREVAN)
                    + timedelta(minutes=rng.randint(0, 24 * 60 - 1)),
                    origin=post,
                    village=self.villages[post.near],
                    status=self._report_status(rng, today, day),
                    # What a post sees may lie across the line (up to 8 km off, here).
                    accept=placeable_from(post.point),
                    radius_km=(0.5, 8.0),
                )
            )
        return planned

    @staticmethod
    def _report_status(rng, today, day):
        S = IncidentReport.Status
        age = (today - day).days
        if age > 2:
            return S.REVIEWED
        return S.DRAFT if rng.random() < 0.1 else S.SUBMITTED

    def _write(self, planned: list[PlannedIncident], plans=None, progress=None) -> int:
        """File the incidents not yet stored; returns how many were filed."""
        stored = set(
            IncidentReport.objects.filter(uuid__in=[p.uuid for p in planned]).values_list(
                "uuid", flat=True
            )
        )
        written = 0
        for p in planned:
            if p.uuid not in stored:
                # As a tablet files it (the same checks, once per UUID), but history: its
                # serious reports were dealt with long ago, so no flash alert goes out.
                incident_report_receive(
                    author=p.author,
                    uuid=p.uuid,
                    fields={
                        "observed_at": p.observed_at,
                        "location": p.location,
                        "category": p.category,
                        "severity": p.severity,
                        "description": p.description,
                        "patrol": plans[p.patrol_key][0] if p.patrol_key else None,
                        "status": p.status,
                        "observer_position": p.observer_position,
                    },
                    flash_alert=False,
                )
                written += 1
            if progress is not None:
                progress.update(1)
        return written

    # -- load test ---------------------------------------------------------------------------

    def _load_incidents(self, seed, today, count):
        """Make sure load-test incidents 0..count-1 exist, scattered around border villages."""
        sectors = [p.geom for p in Province.objects.filter(is_sector=True)]
        others = [p.geom for p in Province.objects.filter(is_sector=False)]
        in_sector = _union(sectors).prepared
        elsewhere = _union(others).prepared

        def accept(point):
            # Decided here without a query: strictly inside a sector and in no other province,
            # so the service's sector_at() cannot disagree.
            return in_sector.contains(point) and not elsewhere.intersects(point)

        villages = list(
            Settlement.objects.filter(province__is_sector=True).select_related("province")
        )
        observers_by_sector = {}
        for base_name, sectors in SECTORS_WATCHED.items():
            for sector in sectors:
                observers_by_sector.setdefault(sector, []).extend(self.observers[base_name])
        start = datetime.combine(today, datetime.min.time(), YEREVAN)

        started, written = time.monotonic(), 0
        with tqdm(
            total=count,
            desc="Load-test incidents",
            unit="incident",
            file=self.stderr._out,
            disable=not self.verbosity,
        ) as progress:
            for first in range(0, count, BATCH_SIZE):
                batch = []
                for i in range(first, min(first + BATCH_SIZE, count)):
                    rng = random.Random(f"{seed}:load:{i}")
                    village = rng.choice(villages)
                    observed_at = start - timedelta(seconds=rng.randint(1, DAYS_BACK * 86400))
                    batch.append(
                        draw_incident(
                            rng,
                            key=f"{seed}:load:{i}",
                            author=rng.choice(observers_by_sector[village.province.name]),
                            observed_at=observed_at,
                            origin=OP(village.location.x, village.location.y, village.name),
                            village=village.location,
                            status=self._report_status(rng, today, observed_at.date()),
                            accept=accept,
                            radius_km=(0.5, 12.0),
                        )
                    )
                # One transaction per batch: a commit per incident would be far slower.
                with transaction.atomic():
                    written += self._write(batch, progress=progress)
        elapsed = time.monotonic() - started
        rate = f" ({written / elapsed:.0f} incidents/s)" if written and elapsed else ""
        self._say(f"Load-test incidents: {count} wanted, {written} new in {elapsed:.1f} s{rate}.")


def _union(geoms):
    result = geoms[0]
    for geom in geoms[1:]:
        result = result.union(geom)
    return result
