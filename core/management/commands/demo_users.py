"""Create one demo user per role, plus a team leader and monitors at every forward base.

No password is in the repository: each is generated the first time and kept in
VAR_DIR/demo-logins.txt (mode 600). Later runs keep the users and their passwords and print
the same logins again; a run that finds everything as it should be writes nothing to the
database, so it records nothing in the audit trail.

Checking 18 passwords against their PBKDF2 hashes costs ~10 s of CPU, on every run of
`make demo`. Beside the logins, VAR_DIR/demo-logins.checked (mode 600) keeps, per user, an
HMAC (keyed with SECRET_KEY) of the password with the stored hash it was last checked against:
when both are still the same, the check is not done again. A password edited in the logins
file, or a hash changed in the database, misses it and is checked (and set) as before.
"""

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from core.models import ForwardBase, User
from core.roles import Role

LOGINS_FILE_NAME = "demo-logins.txt"
CHECKED_FILE_NAME = "demo-logins.checked"
EMAIL_DOMAIN = "demo.mission.invalid"  # .invalid: a demo address can never receive mail


def demo_url() -> str:
    """Where the demo serves (bin/demo sets SITE_URL from PORT)."""
    return settings.SITE_URL.rstrip("/") + "/"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    first_name: str
    last_name: str
    forward_base: str | None  # None for headquarters staff

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.COORDINATOR, Role.DUTY_OFFICER, Role.ADMINISTRATOR)

    @property
    def is_superuser(self) -> bool:
        return self.role == Role.ADMINISTRATOR


# One user per role named after the role (easy to guess in a demo), then a team leader and a
# monitor at every other forward base so that each base can run its daily patrol.
DEMO_USERS = [
    DemoUser("monitor", Role.MONITOR, "Elena", "Marinescu", "Kapan"),
    DemoUser("team_leader", Role.TEAM_LEADER, "Jonas", "Lindqvist", "Kapan"),
    DemoUser("coordinator", Role.COORDINATOR, "Claire", "Dubois", None),
    DemoUser("duty_officer", Role.DUTY_OFFICER, "Tomas", "Novak", None),
    DemoUser("liaison_officer", Role.LIAISON_OFFICER, "Giulia", "Romano", "Goris"),
    DemoUser("headquarters", Role.HEADQUARTERS, "Pieter", "de Vries", None),
    DemoUser("administrator", Role.ADMINISTRATOR, "Katrin", "Vogel", None),
    DemoUser("anna.schmidt", Role.MONITOR, "Anna", "Schmidt", "Kapan"),
    DemoUser("lukas.berger", Role.TEAM_LEADER, "Lukas", "Berger", "Goris"),
    DemoUser("sofia.ruiz", Role.MONITOR, "Sofia", "Ruiz", "Goris"),
    DemoUser("ines.carvalho", Role.TEAM_LEADER, "Inês", "Carvalho", "Jermuk"),
    DemoUser("dimitris.papadakis", Role.MONITOR, "Dimitris", "Papadakis", "Jermuk"),
    DemoUser("mikkel.jensen", Role.TEAM_LEADER, "Mikkel", "Jensen", "Yeghegnadzor"),
    DemoUser("laura.bianchi", Role.MONITOR, "Laura", "Bianchi", "Yeghegnadzor"),
    DemoUser("ana.kovac", Role.TEAM_LEADER, "Ana", "Kovač", "Martuni"),
    DemoUser("eva.horvath", Role.MONITOR, "Eva", "Horváth", "Martuni"),
    DemoUser("pawel.zielinski", Role.TEAM_LEADER, "Paweł", "Zieliński", "Ijevan"),
    DemoUser("oskar.nilsson", Role.MONITOR, "Oskar", "Nilsson", "Ijevan"),
]


def refuse_in_production(what: str):
    """Demo users (a superuser among them) and invented incidents must never reach production."""
    module = getattr(settings, "SETTINGS_MODULE", "") or ""
    if module.rsplit(".", 1)[-1] == "production":
        raise CommandError(f"Refusing to create {what} with the production settings ({module}).")


def logins_path() -> Path:
    # Read at call time: tests point VAR_DIR at a temporary directory.
    return Path(settings.VAR_DIR) / LOGINS_FILE_NAME


def _checked(username: str, password: str, encoded: str) -> str:
    """What demo-logins.checked keeps for a password known to match the hash `encoded`."""
    message = "\0".join((username, password, encoded)).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _read_checked(path: Path) -> dict[str, str]:
    """username → HMAC from the file; a damaged file or entry is ignored (that password is
    checked again), never an error."""
    try:
        checked = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(checked, dict):
        return {}
    return {
        username: value
        for username, value in checked.items()
        if isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value)
    }


def _verifiable(encoded: str) -> bool:
    """Whether one of the configured hashers can check this hash at all (check_password is
    False for a hash made by a hasher since removed from PASSWORD_HASHERS)."""
    try:
        identify_hasher(encoded)
    except ValueError:
        return False
    return True


def _write_checked(path: Path, checked: dict[str, str], stderr):
    """Only a time saver: if it cannot be written, the next run checks the passwords again."""
    try:
        _write_private(path, json.dumps(checked, indent=1) + "\n")
    except OSError as exc:
        stderr.write(f"Could not write {path} ({exc}): the next run checks the passwords again.")


def read_logins(path: Path) -> dict[str, str]:
    """username → password from the logins file (empty when there is none yet)."""
    if not path.exists():
        return {}
    passwords = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 3 or fields[1] == "username":
            continue
        passwords[fields[1]] = fields[2]
    return passwords


def _logins_text(rows) -> str:
    lines = [
        f"# Demo logins for missionapp at {demo_url()}, written by `manage.py demo_users`.",
        "# Keep this file private: it holds working passwords (mode 600, never committed).",
        "role\tusername\tpassword\tforward base",
    ]
    lines += ["\t".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str):
    """Replace the file atomically; it is never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created mode 600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Create one demo user per role (and a team leader and monitors per forward base); "
        f"passwords are generated once and kept in VAR_DIR/{LOGINS_FILE_NAME}. Idempotent."
    )

    def handle(self, *args, **options):
        refuse_in_production("demo users")
        bases = {b.name: b for b in ForwardBase.objects.all()}
        missing_bases = {u.forward_base for u in DEMO_USERS if u.forward_base} - bases.keys()
        if missing_bases:
            raise CommandError(
                f"Forward bases {', '.join(sorted(missing_bases))} are missing: "
                "run `manage.py load_geography` first."
            )
        groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
        if missing_groups := set(Role.values) - groups.keys():
            raise CommandError(
                f"Role groups {', '.join(sorted(missing_groups))} are missing: "
                "run `manage.py migrate` first."
            )

        path = logins_path()
        stored = read_logins(path)
        checked_path = path.with_name(CHECKED_FILE_NAME)
        checked = _read_checked(checked_path)
        now_checked = {}
        with (
            transaction.atomic(),
            acting_as(client=AuditEntry.Client.COMMAND, client_ref="demo_users"),
        ):
            rows, created, updated = [], 0, 0
            for spec in DEMO_USERS:
                password = stored.get(spec.username) or secrets.token_urlsafe(9)
                outcome, encoded = self._ensure_user(
                    spec, password, bases, groups, checked.get(spec.username)
                )
                now_checked[spec.username] = _checked(spec.username, password, encoded)
                created += outcome == "created"
                updated += outcome == "updated"
                rows.append(
                    (Role(spec.role).label, spec.username, password, spec.forward_base or "—")
                )
            text = _logins_text(rows)
            # Written inside the transaction: if the file cannot be written, no user is
            # created whose password nobody knows.
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                _write_private(path, text)
        path.chmod(0o600)
        # After the transaction: the users are as the logins file says whatever happens here.
        if now_checked != checked:
            _write_checked(checked_path, now_checked, self.stderr)
        with contextlib.suppress(OSError):
            checked_path.chmod(0o600)
        self._print(rows, path, created, updated)

    def _ensure_user(self, spec: DemoUser, password: str, bases, groups, checked) -> tuple:
        """Create or update the user; return the outcome and the user's password hash."""
        wanted = {
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@{EMAIL_DOMAIN}",
            "forward_base_id": bases[spec.forward_base].pk if spec.forward_base else None,
            "is_staff": spec.is_staff,
            "is_superuser": spec.is_superuser,
            "is_active": True,
        }
        group = groups[spec.role.value]
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username, **wanted)
            user.set_password(password)
            user.full_clean()
            user.save()
            user.groups.add(group)
            return "created", user.password

        changed = [field for field, value in wanted.items() if getattr(user, field) != value]
        for field in changed:
            setattr(user, field, wanted[field])
        # The plain hasher check, not user.check_password(): that one may re-hash and save.
        known = (
            checked is not None
            and hmac.compare_digest(checked, _checked(spec.username, password, user.password))
            and _verifiable(user.password)
        )
        if not known and not check_password(password, user.password):
            user.set_password(password)
            changed.append("password")
        if changed:
            user.full_clean()
            user.save()
        if not user.groups.filter(pk=group.pk).exists():
            user.groups.add(group)
            changed.append("groups")
        return ("updated" if changed else "unchanged"), user.password

    def _print(self, rows, path, created, updated):
        header = ("Role", "Username", "Password", "Forward base")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def line(cells):
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write(line(header))
        self.stdout.write(line(["-" * w for w in widths]))
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write("")
        self.stdout.write(f"Log in at {demo_url()} (these logins are kept in {path}).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo users: {len(rows)} ({created} created, {updated} updated, "
                f"{len(rows) - created - updated} unchanged)."
            )
        )
