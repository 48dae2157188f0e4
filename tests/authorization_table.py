"""Who may do what: the mission's authorisation rules as one declared table.

For every page (by URL name) and every API operation (method and path as the OpenAPI schema
names them), for every role, the outcome expected for an object of each ownership relation:

- own: the caller wrote it, leads it or is on it (a report's author; a plan's author, team
  leader or monitors; a follow-up's owner; the caller's own device);
- same_base: another person's, of the caller's forward base;
- same_sector: of another forward base in the caller's sector (the base's province);
- other: anything else (for staff without a forward base every object not their own is this).

Outcomes: OK (2xx or 3xx, and for a write: not refused; a 400 for an empty body is fine),
HIDDEN (404: the object's existence is not told), REFUSED (403, with the reason, and logged
to `missionapp.security`), LOGIN (anonymous: 401 from the API, a redirect to the login page
from a page).

The table lives with the tests, not in `core`: it is the mission's expectation, written
apart from the selectors and services that implement it. If the views read it, the test
walking it would compare the code with itself and could not fail. The rules themselves live
in each app's selectors (`reports.selectors`, `patrols.selectors`, `liaison.selectors`,
`reports.summaries.selectors`); this is what they must add up to.

The demo superuser is held to the Administrator row: an administrator is an operator who
reads what mission-wide staff read, not every role (no filing, planning, review or approval;
see the README on giving an administrator a field role).
"""

from dataclasses import dataclass, field

# --- Vocabulary -----------------------------------------------------------------------------

OK, HIDDEN, REFUSED, LOGIN = "ok", "hidden (404)", "refused (403)", "login"

MONITOR = "monitor"
OTHER_MONITOR = "other_monitor"  # a second monitor, of another forward base and sector
TEAM_LEADER = "team_leader"
COORDINATOR = "coordinator"
DUTY_OFFICER = "duty_officer"
LIAISON_OFFICER = "liaison_officer"
HEADQUARTERS = "headquarters"
ADMINISTRATOR = "administrator"
ANONYMOUS = "anonymous"

ROLES = (MONITOR, OTHER_MONITOR, TEAM_LEADER, COORDINATOR, DUTY_OFFICER, LIAISON_OFFICER,
         HEADQUARTERS, ADMINISTRATOR, ANONYMOUS)  # fmt: skip
SIGNED_IN = ROLES[:-1]
RELATIONS = ("own", "same_base", "same_sector", "other")

# Who works from a forward base, and who sees the mission as a whole.
FIELD = (MONITOR, OTHER_MONITOR, TEAM_LEADER)
MONITORS = (MONITOR, OTHER_MONITOR)
REPORT_READERS = (DUTY_OFFICER, COORDINATOR, HEADQUARTERS, ADMINISTRATOR)
PLAN_READERS = (COORDINATOR, DUTY_OFFICER, LIAISON_OFFICER, HEADQUARTERS, ADMINISTRATOR)
CONTACTS_FULL = (LIAISON_OFFICER, COORDINATOR, ADMINISTRATOR)
CONTACTS_COUNTS = (HEADQUARTERS, DUTY_OFFICER)
SUMMARY_READERS = (HEADQUARTERS, DUTY_OFFICER, COORDINATOR, ADMINISTRATOR, LIAISON_OFFICER)
NOTIFICATION_READERS = (COORDINATOR, LIAISON_OFFICER, DUTY_OFFICER, HEADQUARTERS, ADMINISTRATOR)
RECORDERS = (LIAISON_OFFICER, COORDINATOR)


def rel(own=None, same_base=None, same_sector=None, other=None, *, rest=None):
    """Outcomes by ownership relation; `rest` for every relation not named."""
    given = {"own": own, "same_base": same_base, "same_sector": same_sector, "other": other}
    return {name: value if value is not None else rest for name, value in given.items()}


def roles(*allowed, outcome=OK, otherwise=REFUSED, anonymous=LOGIN, **per_role):
    """`outcome` for the roles named, `otherwise` for the other signed-in roles, `anonymous`
    for anonymous; `per_role` overrides one role (an outcome or a rel(...))."""
    table = {role: outcome if role in allowed else otherwise for role in SIGNED_IN}
    table[ANONYMOUS] = anonymous
    table.update(per_role)
    return table


EVERYONE = roles(*SIGNED_IN)
PUBLIC = roles(*SIGNED_IN, anonymous=OK)


@dataclass(frozen=True)
class Rule:
    """What `operation` does for each role, on an object of `subject` in each relation.

    `operation`: "GET /api/reports/{uuid}/" (API, as the schema names it) or
    "POST page:incident-review" (a page, by URL name; admin pages as "GET page:admin:index").
    `subject`: the kind of object whose relation to the caller decides, or None when the
    operation takes no object (a list, a form to start something).
    """

    operation: str
    outcomes: dict
    subject: str | None = None
    why: str = field(default="", compare=False)


# --- Rule sets used by several operations ---------------------------------------------------

# Reports. Nobody sees another person's draft; monitors and team leaders see their base's
# filed reports; mission-wide staff (not liaison officers) see every filed report.
REPORT_DRAFT_READ = roles(*FIELD, *REPORT_READERS, outcome=rel(own=OK, rest=HIDDEN))
REPORT_FILED_READ_API = roles(
    *FIELD, outcome=rel(own=OK, same_base=OK, rest=HIDDEN),
    **{r: rel(rest=OK) for r in REPORT_READERS},
)  # fmt: skip
# The pages say "another forward base's report" (403) where the API hides it (404).
REPORT_FILED_READ_PAGE = roles(
    *FIELD, outcome=rel(own=OK, same_base=OK, rest=REFUSED),
    **{r: rel(rest=OK) for r in REPORT_READERS},
)  # fmt: skip
# Only the author changes a report (a draft, or an amendment of a filed one).
REPORT_DRAFT_CHANGE = roles(*FIELD, *REPORT_READERS, outcome=rel(own=OK, rest=HIDDEN))
REPORT_FILED_CHANGE = roles(
    *FIELD, outcome=rel(own=OK, same_base=REFUSED, rest=HIDDEN),
    **{r: rel(rest=REFUSED) for r in REPORT_READERS},
)  # fmt: skip
# Review and verification are the duty officers' (refused by role before any lookup).
REPORT_DUTY_API = {
    "report.draft": roles(DUTY_OFFICER, outcome=rel(rest=HIDDEN)),
    "report.filed": roles(DUTY_OFFICER, outcome=rel(rest=OK)),
}
REPORT_DUTY_PAGE = {
    "report.draft": roles(
        *FIELD, *REPORT_READERS, outcome=rel(own=REFUSED, rest=HIDDEN)
    ),
    "report.filed": roles(
        *FIELD, *REPORT_READERS, outcome=rel(rest=REFUSED), duty_officer=rel(rest=OK),
    ),
}  # fmt: skip

# Patrol plans. Drafts are their planners' and crew's; monitors and team leaders see their
# base's filed plans; mission-wide staff every filed plan.
PLAN_DRAFT_READ = roles(*FIELD, *PLAN_READERS, outcome=rel(own=OK, rest=HIDDEN))
PLAN_FILED_READ_API = roles(
    *FIELD, outcome=rel(own=OK, same_base=OK, rest=HIDDEN),
    **{r: rel(rest=OK) for r in PLAN_READERS},
)  # fmt: skip
PLAN_FILED_READ_PAGE = roles(
    *FIELD, outcome=rel(own=OK, same_base=OK, rest=REFUSED),
    **{r: rel(rest=OK) for r in PLAN_READERS},
)  # fmt: skip


def plan_action(*, field_own, coordinator, page=False):
    """A change to a filed plan: `field_own` for a field role on a plan of its own (the team
    leader's outcome; a monitor on the crew is refused), `coordinator` for coordinators;
    every other role that sees the plan is refused, one that does not see it is hidden from
    (the pages say 403 for another base's filed plan)."""
    elsewhere = REFUSED if page else HIDDEN
    return roles(
        *FIELD, *PLAN_READERS, outcome=rel(rest=REFUSED),
        team_leader=rel(own=field_own, same_base=REFUSED, rest=elsewhere),
        monitor=rel(own=REFUSED, same_base=REFUSED, rest=elsewhere),
        other_monitor=rel(own=REFUSED, same_base=REFUSED, rest=elsewhere),
        coordinator=rel(rest=coordinator),
    )  # fmt: skip


def plan_draft_action(*, field_own):
    """The same change to a draft: nobody but its planners and crew sees it."""
    return roles(
        *FIELD, *PLAN_READERS, outcome=rel(rest=HIDDEN),
        team_leader=rel(own=field_own, rest=HIDDEN),
        monitor=rel(own=REFUSED, rest=HIDDEN), other_monitor=rel(own=REFUSED, rest=HIDDEN),
    )  # fmt: skip


PLANNER_CHANGE = {
    "plan.draft": plan_draft_action(field_own=OK),
    "plan.filed": plan_action(field_own=OK, coordinator=OK),
}
PLANNER_CHANGE_PAGE = {
    "plan.draft": plan_draft_action(field_own=OK),
    "plan.filed": plan_action(field_own=OK, coordinator=OK, page=True),
}
# The plan form asks for a planner's role before it looks the plan up.
PLAN_FORM_PAGE = {
    "plan.draft": roles(
        team_leader=rel(own=OK, rest=HIDDEN), coordinator=rel(rest=HIDDEN),
    ),
    "plan.filed": roles(
        team_leader=rel(own=OK, rest=REFUSED), coordinator=rel(rest=OK),
    ),
}  # fmt: skip
LEADER_ACTION = {"plan.under_way": plan_action(field_own=OK, coordinator=REFUSED)}
LEADER_ACTION_PAGE = {"plan.under_way": plan_action(field_own=OK, coordinator=REFUSED, page=True)}
# Approval and return: coordinators only, refused by role before the plan is looked up.
COORDINATOR_DECISION = {"plan.filed": roles(COORDINATOR, outcome=rel(rest=OK))}
# The crew records what stopped the patrol: the team leader and the monitors on it.
CREW_RECORD = {
    "plan.under_way": roles(
        *FIELD, *PLAN_READERS, outcome=rel(rest=REFUSED),
        **{r: rel(own=OK, same_base=REFUSED, rest=HIDDEN) for r in FIELD},
    )
}  # fmt: skip

# Liaison contacts: in full for liaison officers, coordinators and administrators; monitors
# and team leaders see the hotline numbers of their own sector's contacts (any other contact
# does not exist for them); headquarters and duty officers see counts only.
CONTACT_READ_API = {
    "contact.hotline": roles(
        *CONTACTS_FULL, *FIELD, outcome=rel(rest=OK),
        **{r: rel(same_sector=OK, rest=HIDDEN) for r in FIELD},
    ),
    "contact.no_hotline": roles(
        *CONTACTS_FULL, *FIELD, outcome=rel(rest=OK),
        **{r: rel(rest=HIDDEN) for r in FIELD},
    ),
}  # fmt: skip
CONTACT_FULL_ONLY = {
    "contact.hotline": roles(*CONTACTS_FULL, outcome=rel(rest=OK)),
    "contact.no_hotline": roles(*CONTACTS_FULL, outcome=rel(rest=OK)),
}

SUMMARY = {"summary": roles(*SUMMARY_READERS, outcome=rel(rest=OK))}


def rules_for(operation, by_subject=None, *, why="", outcomes=None):
    """One Rule per subject (or one with no subject)."""
    if outcomes is not None:
        return [Rule(operation, outcomes, None, why)]
    return [Rule(operation, table, subject, why) for subject, table in by_subject.items()]


# --- The API ----------------------------------------------------------------------------------

API = [
    # Core: devices, who am I, the mission geography.
    *rules_for("POST /api/auth/login/", outcomes=PUBLIC, why="a device logs in"),
    *rules_for("GET /api/auth/devices/", outcomes=EVERYONE),
    *rules_for(
        "DELETE /api/auth/devices/{token_key}/",
        {
            "device": roles(*SIGNED_IN, outcome=rel(own=OK, rest=HIDDEN)),
        },
        why="one's own devices only; another's device does not exist for the caller",
    ),
    *rules_for("GET /api/me/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/basemap/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/border/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/forward-bases/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/locate/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/provinces/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/restricted-zones/", outcomes=EVERYONE),
    *rules_for("GET /api/geography/settlements/", outcomes=EVERYONE),
    # Incident reports.
    *rules_for("GET /api/reports/", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("GET /api/reports/geojson/", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("GET /api/reports/map/", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("GET /api/reports/export.csv", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("POST /api/reports/", outcomes=roles(*FIELD), why="monitors and team leaders file"),
    *rules_for(
        "GET /api/reports/{uuid}/",
        {
            "report.draft": REPORT_DRAFT_READ,
            "report.filed": REPORT_FILED_READ_API,
        },
    ),
    *rules_for(
        "PATCH /api/reports/{uuid}/",
        {
            "report.draft": REPORT_DRAFT_CHANGE,
            "report.filed": REPORT_FILED_CHANGE,
        },
        why="only the author edits (a filed report is amended, with its history)",
    ),
    *rules_for(
        "POST /api/reports/{uuid}/submit/",
        {
            "report.draft": REPORT_DRAFT_CHANGE,
            "report.filed": REPORT_FILED_CHANGE,
        },
    ),
    *rules_for(
        "GET /api/reports/{uuid}/attachments/",
        {
            "report.draft": REPORT_DRAFT_READ,
            "report.filed": REPORT_FILED_READ_API,
        },
    ),
    *rules_for(
        "POST /api/reports/{uuid}/attachments/",
        {
            "report.draft": REPORT_DRAFT_CHANGE,
            "report.filed": REPORT_FILED_CHANGE,
        },
        why="only the author attaches files",
    ),
    *rules_for(
        "POST /api/reports/{uuid}/uploads/",
        {
            "report.draft": REPORT_DRAFT_CHANGE,
            "report.filed": REPORT_FILED_CHANGE,
        },
        why="only the author uploads files",
    ),
    # An upload's progress is its author's alone (nobody else sends its parts).
    *rules_for(
        "GET /api/reports/{uuid}/uploads/{sha256}/",
        {"upload.filed": REPORT_FILED_CHANGE},
        why="only the author asks how much of a file arrived",
    ),
    *rules_for(
        "PUT /api/reports/{uuid}/uploads/{sha256}/",
        {"upload.filed": REPORT_FILED_CHANGE},
        why="only the author uploads files",
    ),
    *rules_for(
        "GET /api/reports/{uuid}/attachments/{sha256}/{variant}",
        {
            "attachment.display": REPORT_FILED_READ_API,
            "attachment.original": roles(
                *FIELD,
                *REPORT_READERS,
                outcome=rel(rest=REFUSED),
                duty_officer=rel(rest=OK),
                **{r: rel(own=REFUSED, same_base=REFUSED, rest=HIDDEN) for r in FIELD},
            ),
        },
        why="originals keep the camera's EXIF (its position): duty officers only",
    ),
    *rules_for("POST /api/reports/{uuid}/review/", REPORT_DUTY_API),
    *rules_for("POST /api/reports/{uuid}/verify/", REPORT_DUTY_API),
    # Summaries.
    *rules_for("GET /api/summaries/", outcomes=roles(*SUMMARY_READERS)),
    *rules_for("GET /api/summaries/{year}/{number}/", SUMMARY),
    *rules_for("GET /api/summaries/{year}/{number}/content/", SUMMARY),
    *rules_for("GET /api/summaries/{year}/{number}/r{revision}/{level}.{fmt}", SUMMARY),
    # Patrol plans.
    *rules_for("GET /api/patrols/", outcomes=EVERYONE),
    *rules_for(
        "POST /api/patrols/",
        outcomes=roles(TEAM_LEADER),
        why="team leaders plan their own base's patrols",
    ),
    *rules_for(
        "GET /api/patrols/{id}/",
        {
            "plan.draft": PLAN_DRAFT_READ,
            "plan.filed": PLAN_FILED_READ_API,
        },
    ),
    *rules_for("PATCH /api/patrols/{id}/", PLANNER_CHANGE),
    *rules_for("POST /api/patrols/{id}/amend/", PLANNER_CHANGE),
    *rules_for("POST /api/patrols/{id}/submit/", PLANNER_CHANGE),
    *rules_for("POST /api/patrols/{id}/cancel/", PLANNER_CHANGE),
    *rules_for(
        "GET /api/patrols/{id}/checks/",
        {
            "plan.draft": PLAN_DRAFT_READ,
            "plan.filed": PLAN_FILED_READ_API,
        },
    ),
    *rules_for(
        "POST /api/patrols/{id}/approve/",
        COORDINATOR_DECISION,
        why="four eyes: the coordinator approves what a team leader planned",
    ),
    *rules_for("POST /api/patrols/{id}/return/", COORDINATOR_DECISION),
    *rules_for("POST /api/patrols/{id}/start/", LEADER_ACTION),
    *rules_for("POST /api/patrols/{id}/complete/", LEADER_ACTION),
    *rules_for("POST /api/patrols/{id}/abort/", LEADER_ACTION),
    *rules_for(
        "POST /api/patrols/{id}/track/",
        LEADER_ACTION,
        why="the team leader's tablet uploads the track",
    ),
    *rules_for("GET /api/patrols/{id}/restrictions/", {"plan.under_way": PLAN_FILED_READ_API}),
    *rules_for("POST /api/patrols/{id}/restrictions/", CREW_RECORD),
    *rules_for("GET /api/patrols/{id}/itinerary.gpx", {"plan.notified": PLAN_FILED_READ_API}),
    *rules_for("GET /api/patrols/{id}/itinerary.pdf", {"plan.notified": PLAN_FILED_READ_API}),
    # Itinerary notifications (per party): followed by staff, recorded by liaison officers
    # and coordinators, retried by coordinators.
    *rules_for("GET /api/itinerary-notifications/", outcomes=roles(*NOTIFICATION_READERS)),
    *rules_for(
        "POST /api/itinerary-notifications/{id}/acknowledge/",
        {
            "notification": roles(*RECORDERS, outcome=rel(rest=OK)),
        },
    ),
    *rules_for(
        "POST /api/itinerary-notifications/{id}/objection/",
        {
            "notification": roles(*RECORDERS, outcome=rel(rest=OK)),
        },
    ),
    *rules_for(
        "POST /api/itinerary-notifications/{id}/retry/",
        {
            "notification": roles(COORDINATOR, outcome=rel(rest=OK)),
        },
    ),
    # Liaison.
    *rules_for("GET /api/liaison/contacts/", outcomes=roles(*CONTACTS_FULL, *FIELD)),
    *rules_for("POST /api/liaison/contacts/", outcomes=roles(*CONTACTS_FULL)),
    *rules_for("GET /api/liaison/contacts/{id}/", CONTACT_READ_API),
    *rules_for("PATCH /api/liaison/contacts/{id}/", CONTACT_FULL_ONLY),
    *rules_for(
        "GET /api/liaison/contacts/summary/",
        outcomes=roles(*CONTACTS_FULL, *FIELD, *CONTACTS_COUNTS),
    ),
    *rules_for("GET /api/liaison/log/", outcomes=roles(*CONTACTS_FULL)),
    *rules_for("POST /api/liaison/log/", outcomes=roles(*CONTACTS_FULL)),
    *rules_for("GET /api/liaison/follow-ups/", outcomes=roles(*CONTACTS_FULL)),
    *rules_for(
        "POST /api/liaison/follow-ups/{id}/done/",
        {
            "follow_up": roles(*CONTACTS_FULL, outcome=rel(rest=OK)),
        },
    ),
    *rules_for(
        "GET /api/liaison/hotline-activations/", outcomes=roles(*CONTACTS_FULL, *CONTACTS_COUNTS)
    ),
]

# --- The pages --------------------------------------------------------------------------------

PAGES = [
    *rules_for("GET page:home", outcomes=EVERYONE),
    *rules_for("GET page:healthz", outcomes=PUBLIC, why="the load balancer's probe"),
    # Not by role but by network or token: anyone from METRICS_ALLOWED_NETWORKS (this walk's
    # test client is 127.0.0.1) or with METRICS_TOKEN; any other address is refused and
    # logged (core/tests/test_metrics.py).
    *rules_for("GET page:metrics", outcomes=PUBLIC, why="Prometheus, from the allowed networks"),
    *rules_for("GET page:login", outcomes=PUBLIC),
    # The login's second step and the member's own account: everyone signed in, each for
    # their own account only (a session verified already is sent on from the second step).
    *rules_for("GET page:second-factor", outcomes=EVERYONE),
    *rules_for("POST page:second-factor", outcomes=EVERYONE),
    *rules_for("GET page:second-factor-setup", outcomes=EVERYONE),
    *rules_for("POST page:second-factor-setup", outcomes=EVERYONE),
    *rules_for("GET page:account", outcomes=EVERYONE),
    *rules_for("GET page:password-change", outcomes=EVERYONE),
    *rules_for("POST page:password-change", outcomes=EVERYONE),
    *rules_for("POST page:recovery-codes-renew", outcomes=EVERYONE),
    # Logging out ends at the login page: that redirect is the logout done.
    *rules_for("POST page:logout", outcomes=roles(outcome=LOGIN, otherwise=LOGIN)),
    *rules_for("GET page:schema", outcomes=EVERYONE, why="the API's map is for the mission"),
    *rules_for("GET page:api-docs", outcomes=EVERYONE),
    # The acknowledgement link: a party's officer has no account; the signed token decides.
    *rules_for(
        "GET page:itinerary-ack",
        {"notification": roles(*SIGNED_IN, outcome=rel(rest=OK), anonymous=rel(rest=OK))},
    ),
    *rules_for(
        "POST page:itinerary-ack",
        {"notification": roles(*SIGNED_IN, outcome=rel(rest=OK), anonymous=rel(rest=OK))},
    ),
    # The base layer's tiles: like the geography layers, for everyone signed in.
    *rules_for("GET page:basemap-tile", {"tile": roles(*SIGNED_IN, outcome=rel(rest=OK))}),
    # The tablet app: monitors and team leaders; the worker and the manifest hold no data.
    *rules_for("GET page:tablet", outcomes=roles(*FIELD)),
    *rules_for("GET page:tablet-sw", outcomes=PUBLIC),
    *rules_for("GET page:tablet-manifest", outcomes=PUBLIC),
    *rules_for("GET page:tablet-patrols", outcomes=roles(*FIELD)),
    # Incidents.
    *rules_for("GET page:incident-list", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("GET page:incident-map", outcomes=roles(*FIELD, *REPORT_READERS)),
    *rules_for("GET page:incident-queue", outcomes=roles(DUTY_OFFICER)),
    *rules_for(
        "GET page:incident-detail",
        {
            "report.draft": roles(*FIELD, *REPORT_READERS, outcome=rel(own=OK, rest=HIDDEN)),
            "report.filed": REPORT_FILED_READ_PAGE,
        },
    ),
    *rules_for("POST page:incident-review", REPORT_DUTY_PAGE),
    *rules_for("POST page:incident-verify", REPORT_DUTY_PAGE),
    *rules_for("POST page:incident-link", REPORT_DUTY_PAGE),
    # Summaries.
    *rules_for("GET page:summary-list", outcomes=roles(*SUMMARY_READERS)),
    *rules_for("GET page:summary-detail", SUMMARY),
    *rules_for("GET page:summary-file", SUMMARY),
    # Patrols.
    *rules_for("GET page:patrol-list", outcomes=EVERYONE),
    *rules_for("GET page:patrol-calendar", outcomes=EVERYONE),
    *rules_for("GET page:patrol-new", outcomes=roles(TEAM_LEADER)),
    *rules_for("POST page:patrol-new", outcomes=roles(TEAM_LEADER)),
    *rules_for("GET page:patrol-approvals", outcomes=roles(COORDINATOR)),
    *rules_for(
        "GET page:patrol-detail",
        {
            "plan.draft": PLAN_DRAFT_READ,
            "plan.filed": PLAN_FILED_READ_PAGE,
        },
    ),
    *rules_for("GET page:patrol-edit", PLAN_FORM_PAGE),
    *rules_for("POST page:patrol-edit", PLAN_FORM_PAGE),
    *rules_for("POST page:patrol-submit", PLANNER_CHANGE_PAGE),
    *rules_for("POST page:patrol-cancel", PLANNER_CHANGE_PAGE),
    *rules_for("POST page:patrol-start", LEADER_ACTION_PAGE),
    *rules_for("POST page:patrol-complete", LEADER_ACTION_PAGE),
    *rules_for("POST page:patrol-abort", LEADER_ACTION_PAGE),
    *rules_for("GET page:patrol-review", COORDINATOR_DECISION),
    *rules_for("POST page:patrol-approve", COORDINATOR_DECISION),
    *rules_for("POST page:patrol-return", COORDINATOR_DECISION),
    *rules_for(
        "POST page:patrol-notification-acknowledge",
        {
            "notification": roles(*RECORDERS, outcome=rel(rest=OK)),
        },
    ),
    *rules_for(
        "POST page:patrol-notification-objection",
        {
            "notification": roles(*RECORDERS, outcome=rel(rest=OK)),
        },
    ),
    *rules_for(
        "POST page:patrol-notification-retry",
        {
            "notification": roles(COORDINATOR, outcome=rel(rest=OK)),
        },
    ),
    # Liaison.
    *rules_for(
        "GET page:liaison-contacts", outcomes=roles(*CONTACTS_FULL, *FIELD, *CONTACTS_COUNTS)
    ),
    *rules_for("GET page:liaison-contact", CONTACT_READ_API),
    *rules_for("GET page:liaison-log-new", CONTACT_FULL_ONLY),
    *rules_for("POST page:liaison-log-new", CONTACT_FULL_ONLY),
    *rules_for("GET page:liaison-map", outcomes=roles(*CONTACTS_FULL, *CONTACTS_COUNTS)),
    *rules_for("GET page:liaison-follow-ups", outcomes=roles(*CONTACTS_FULL)),
    *rules_for(
        "POST page:liaison-follow-up-done",
        {
            "follow_up": roles(*CONTACTS_FULL, outcome=rel(rest=OK)),
        },
    ),
    # The admin is its own subsystem (its lists are scoped in each admin.py); its door: staff
    # accounts (coordinators, duty officers, administrators) get in, others are sent to log in.
    *rules_for(
        "GET page:admin:index",
        outcomes=roles(
            COORDINATOR,
            DUTY_OFFICER,
            ADMINISTRATOR,
            otherwise=LOGIN,
        ),
    ),
]

TABLE = API + PAGES
