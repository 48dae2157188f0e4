"""`demo_users`: one user per role in that role's group only, staff and superuser where the
role is, a logins file only its owner reads, and a second run that changes nothing."""

import io
import json
import re
import stat

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command

from core.audit.models import AuditEntry
from core.management.commands import demo_users
from core.management.commands.demo_users import CHECKED_FILE_NAME, DEMO_USERS, LOGINS_FILE_NAME
from core.models import ForwardBase, User
from core.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(settings, tmp_path):
    """The logins file goes to a temporary VAR_DIR, never to the checkout's var/."""
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo_users() -> str:
    out = io.StringIO()
    call_command("demo_users", stdout=out)
    return out.getvalue()


def printed_logins(output: str) -> dict[str, str]:
    """username → password from the printed table (columns are two or more spaces apart)."""
    usernames = {spec.username for spec in DEMO_USERS}
    logins = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 4 and cells[1] in usernames:
            logins[cells[1]] = cells[2]
    return logins


def test_it_creates_one_user_per_role_in_that_roles_group_only(geography, var_dir):
    run_demo_users()

    for role in Role:
        user = User.objects.get(username=role.value)
        assert user.role_names == [role.value]
    for spec in DEMO_USERS:
        assert User.objects.get(username=spec.username).role_names == [spec.role.value]


def test_headquarters_staff_have_no_forward_base_and_every_base_can_send_a_patrol(
    geography, var_dir
):
    run_demo_users()

    for role in (Role.COORDINATOR, Role.DUTY_OFFICER, Role.HEADQUARTERS, Role.ADMINISTRATOR):
        assert User.objects.get(username=role.value).forward_base is None
    assert User.objects.get(username="monitor").forward_base.name == "Kapan"
    for base in ForwardBase.objects.all():
        members = User.objects.filter(forward_base=base)
        assert members.filter(groups__name=Role.TEAM_LEADER).exists(), base
        assert members.filter(groups__name=Role.MONITOR).exists(), base


def test_only_coordination_roles_are_staff_and_only_the_administrator_is_superuser(
    geography, var_dir
):
    run_demo_users()

    staff = set(User.objects.filter(is_staff=True).values_list("username", flat=True))
    superusers = set(User.objects.filter(is_superuser=True).values_list("username", flat=True))
    assert staff == {"coordinator", "duty_officer", "administrator"}
    assert superusers == {"administrator"}


def test_a_second_run_writes_nothing_and_prints_the_same_logins(geography, var_dir):
    first = run_demo_users()
    logins_file = (var_dir / LOGINS_FILE_NAME).read_text()
    entries = AuditEntry.objects.count()

    second = run_demo_users()

    assert AuditEntry.objects.count() == entries
    assert printed_logins(first) == printed_logins(second)
    assert set(printed_logins(first)) == {spec.username for spec in DEMO_USERS}
    assert (var_dir / LOGINS_FILE_NAME).read_text() == logins_file


def test_the_first_run_is_recorded_in_the_audit_trail_without_the_passwords(geography, var_dir):
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0

    logins = printed_logins(run_demo_users())

    entries = AuditEntry.objects.filter(id__gt=before)
    created = entries.filter(model="core.user", action=AuditEntry.Action.CREATE)
    assert created.count() == len(DEMO_USERS)
    assert set(entries.values_list("client", "client_ref")) == {
        (AuditEntry.Client.COMMAND, "demo_users")
    }
    recorded = json.dumps(list(entries.values_list("changes", flat=True)))
    assert not any(password in recorded for password in logins.values())


def test_the_logins_files_are_readable_by_their_owner_only(geography, var_dir):
    run_demo_users()
    (var_dir / CHECKED_FILE_NAME).chmod(0o644)
    run_demo_users()

    for name in (LOGINS_FILE_NAME, CHECKED_FILE_NAME):
        assert stat.S_IMODE((var_dir / name).stat().st_mode) == 0o600, name


@pytest.fixture
def password_checks(monkeypatch):
    """How many passwords demo_users checks against their hashes (the real check, counted)."""
    calls = []
    real = demo_users.check_password

    def counted(password, encoded, *args, **kwargs):
        calls.append(password)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(demo_users, "check_password", counted)
    return calls


def test_a_rerun_does_not_check_again_the_passwords_it_already_checked(
    geography, var_dir, password_checks
):
    run_demo_users()
    run_demo_users()
    assert password_checks == []  # the first run set them, the second knew them

    (var_dir / CHECKED_FILE_NAME).unlink()
    run_demo_users()
    assert len(password_checks) == len(DEMO_USERS)
    run_demo_users()
    assert len(password_checks) == len(DEMO_USERS)


def test_a_password_edited_in_the_logins_file_is_the_one_set_at_the_next_run(
    geography, var_dir, password_checks
):
    run_demo_users()
    path = var_dir / LOGINS_FILE_NAME
    logins = demo_users.read_logins(path)
    path.write_text(path.read_text().replace(f"\t{logins['monitor']}\t", "\tnew-secret-42\t"))

    again = printed_logins(run_demo_users())

    assert password_checks == ["new-secret-42"]
    assert again["monitor"] == "new-secret-42"
    assert authenticate(username="monitor", password="new-secret-42") is not None
    assert authenticate(username="monitor", password=logins["monitor"]) is None


def test_a_printed_password_logs_the_user_in(geography, var_dir):
    logins = printed_logins(run_demo_users())

    assert authenticate(username="monitor", password=logins["monitor"]) == User.objects.get(
        username="monitor"
    )
    assert authenticate(username="monitor", password=logins["monitor"] + "x") is None


def test_a_password_changed_since_is_reset_to_the_one_in_the_logins_file(geography, var_dir):
    logins = printed_logins(run_demo_users())
    user = User.objects.get(username="coordinator")
    user.set_password("something else entirely")
    user.save()

    again = printed_logins(run_demo_users())

    assert again == logins
    assert authenticate(username="coordinator", password=logins["coordinator"]) is not None


@pytest.mark.parametrize("damage", ['{"monitor": 1}', '{"monitor": "é"}', '{"monitor": ["x"]}',
                                    "[1, 2]", "not json at all"])  # fmt: skip
def test_a_damaged_checked_file_is_ignored_and_rewritten(geography, var_dir, damage):
    logins = printed_logins(run_demo_users())
    (var_dir / CHECKED_FILE_NAME).write_text(damage)

    assert printed_logins(run_demo_users()) == logins
    assert authenticate(username="monitor", password=logins["monitor"]) is not None
    assert set(json.loads((var_dir / CHECKED_FILE_NAME).read_text())) == set(logins)


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 as configured in production, with few iterations: the test is about which
    hasher is configured, not its cost (18 users at 1,000,000 iterations took ~10 s)."""

    iterations = 1_000


def test_a_hash_no_configured_hasher_can_check_is_set_again(geography, var_dir, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    logins = printed_logins(run_demo_users())
    settings.PASSWORD_HASHERS = [f"{__name__}.QuickPBKDF2PasswordHasher"]

    run_demo_users()

    assert authenticate(username="monitor", password=logins["monitor"]) is not None
