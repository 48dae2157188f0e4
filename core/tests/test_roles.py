"""Roles are groups made by data migrations; their permissions say who may do what."""

import pytest
from django.contrib.auth.models import Group, Permission

from core.models import User
from core.roles import Role, has_role


@pytest.mark.django_db
def test_every_role_exists_as_a_group():
    assert set(Group.objects.values_list("name", flat=True)) == set(Role.values)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("monitor", ["reports.add_incidentreport", "core.view_province"],
         ["core.add_restrictedzone", "patrols.add_patrolplan", "core.view_auditentry"]),
        ("team_leader", ["patrols.add_patrolplan", "reports.add_incidentreport"],
         ["core.add_restrictedzone"]),
        ("coordinator", ["core.add_restrictedzone", "core.change_restrictedzone",
                         "patrols.change_patrolplan"],
         ["patrols.add_patrolplan", "core.change_user"]),
        ("duty_officer", ["reports.change_incidentreport", "reports.view_incidentreport"],
         ["reports.add_incidentreport", "core.add_restrictedzone"]),
        ("liaison_officer", ["patrols.view_patrolplan"], ["reports.view_incidentreport"]),
        ("headquarters", ["reports.view_incidentreport", "patrols.view_patrolplan"],
         ["reports.change_incidentreport", "patrols.change_patrolplan"]),
        ("administrator", ["core.change_user", "core.view_auditentry", "core.add_restrictedzone"],
         ["core.change_auditentry", "core.delete_auditentry"]),
    ],
)  # fmt: skip
def test_each_role_has_what_it_needs_and_nothing_it_must_not(users, role, allowed, refused):
    user = users[role]
    for perm in allowed:
        assert user.has_perm(perm), f"{role} should have {perm}"
    for perm in refused:
        assert not user.has_perm(perm), f"{role} must not have {perm}"


@pytest.mark.django_db
def test_a_user_without_a_role_has_no_permission_and_no_role(users):
    outsider = users["outsider"]
    assert outsider.get_all_permissions() == set()
    assert not has_role(outsider, *Role)


@pytest.mark.django_db
def test_users_belong_to_a_forward_base(users):
    assert users["monitor"].forward_base is not None
    assert users["monitor"].forward_base.name in {
        "Kapan", "Goris", "Jermuk", "Yeghegnadzor", "Martuni", "Ijevan",
    }  # fmt: skip


def test_the_role_names_are_read_once_with_the_permissions(users, django_assert_num_queries):
    user = User.objects.get(username="t-coordinator")
    with django_assert_num_queries(1):  # roles and permissions, in one statement
        assert user.role_names == ["coordinator"]
        assert user.has_perm("patrols.view_patrolplan") is True
        assert user.role_names == ["coordinator"]


@pytest.mark.django_db
def test_the_grants_are_written_in_a_few_queries_and_an_unknown_permission_is_named(
    django_assert_max_num_queries,
):
    """grant_permissions (the data migrations', and the tests' after every flush): the
    permissions read once and one write per group, not three queries per permission."""
    from django.apps import apps

    from conftest import _migration_grants
    from core.roles import grant_permissions

    grants = _migration_grants()
    Group.objects.filter(name__in=grants).delete()
    granted = sum(len(perms) for perms in grants.values())
    assert granted > 40  # three queries each would be well over a hundred
    with django_assert_max_num_queries(6 * len(grants) + 2):  # get, create, add: per group
        grant_permissions(apps, grants)
    for role, perms in grants.items():
        names = {f"{p.content_type.app_label}.{p.codename}"
                 for p in Group.objects.get(name=role).permissions.all()}  # fmt: skip
        assert names == set(perms), role
    with pytest.raises(Permission.DoesNotExist, match="No such permission: reports.fly_drones"):
        grant_permissions(apps, {"monitor": ["reports.fly_drones"]})
