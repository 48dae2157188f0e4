"""The mission's roles. Each is a Group; its table-level permissions are granted by data
migrations (core grants its own, each app grants its own models' permissions), and the
object-level rules that a permission table cannot express live in each app's selectors."""

import functools

from django.db.models import TextChoices


class Role(TextChoices):
    MONITOR = "monitor", "Monitor"
    TEAM_LEADER = "team_leader", "Team leader"
    COORDINATOR = "coordinator", "Coordinator"
    DUTY_OFFICER = "duty_officer", "Duty officer"
    LIAISON_OFFICER = "liaison_officer", "Liaison officer"
    HEADQUARTERS = "headquarters", "Headquarters"
    ADMINISTRATOR = "administrator", "Administrator"


# Whoever approves what both parties are told, verifies what headquarters reads, holds the
# contacts of people at risk or runs the system logs in with a second factor (core.totp).
# Monitors and team leaders log in on the tablets (a monitor may enrol a second factor too).
SECOND_FACTOR_ROLES = (
    Role.COORDINATOR,
    Role.DUTY_OFFICER,
    Role.LIAISON_OFFICER,
    Role.HEADQUARTERS,
    Role.ADMINISTRATOR,
)


def second_factor_required_by_role(user) -> bool:
    """Whether the user's roles (or staff or superuser status: the admin) require a second
    factor at login. One query at most, shared with every other role check of the request."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_staff or user.is_superuser or has_role(user, *SECOND_FACTOR_ROLES)


def has_role(user, *roles) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    # A superuser is the system's operator: an Administrator, not every role. Mission actions
    # (filing, verifying, planning, downloading originals) need the mission role itself; an
    # administrator who must act in the field is given that role's group (README).
    if user.is_superuser and Role.ADMINISTRATOR in roles:
        return True
    # One query per request at most: group names are cached on the user object (loaded with
    # the permissions, see load_roles_and_permissions).
    names = getattr(user, "_role_names", None)
    if names is None:
        names = load_roles_and_permissions(user)
    return any(str(role) in names for role in roles)


def load_roles_and_permissions(user) -> set[str]:
    """Read the user's role names and permissions in one query; cache both on the user.

    Saves two queries per request: Django's ModelBackend reads the user's own permissions and
    their groups' permissions in two queries, and has_role read the group names in a third.
    The permissions are put where ModelBackend caches them (`_user_perm_cache`,
    `_group_perm_cache`, `_perm_cache`), so it finds them and asks nothing; superusers and
    inactive users are left to ModelBackend as before. The cache lives as long as the user
    object, which the token or the session loads afresh for every request (as Django's own
    permission cache does). Returns the role names.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_roles_and_permissions_sql(), [user.pk, user.pk])
        rows = cursor.fetchall()
    return roles_and_permissions_apply(user, rows)


def roles_and_permissions_apply(user, rows) -> set[str]:
    """Cache on `user` the roles and permissions read as (group name or None, app label,
    codename) rows: by load_roles_and_permissions, or by the device-token lookup, which reads
    them in the same statement as the token (roles_and_permissions_column)."""
    names, group_perms, user_perms = set(), set(), set()
    for group, app_label, codename in rows:
        if group is not None:
            names.add(group)
        if codename is not None:
            (group_perms if group is not None else user_perms).add(f"{app_label}.{codename}")
    user._role_names = names
    if user.is_active and not user.is_superuser and not hasattr(user, "_perm_cache"):
        user._user_perm_cache, user._group_perm_cache = user_perms, group_perms
        user._perm_cache = user_perms | group_perms
    return names


def roles_and_permissions_column(vendor: str, user_id: str) -> str | None:
    """The rows of _roles_and_permissions_sql for the user whose id is the SQL expression
    `user_id`, as one JSON array column ([[group, app_label, codename], ...]) that another
    statement can select; None on a database without the JSON aggregates used here."""
    rows = _roles_and_permissions_sql().replace("%s", user_id)
    if vendor == "postgresql":
        aggregate = "COALESCE(json_agg(json_build_array(r.name, r.app_label, r.codename)), '[]')"
    elif vendor == "sqlite":
        aggregate = "json_group_array(json_array(r.name, r.app_label, r.codename))"
    else:
        return None
    return f"(SELECT {aggregate} FROM ({rows}) r)"  # noqa: S608 - no user input


@functools.cache
def _roles_and_permissions_sql() -> str:
    """The user's groups with their permissions, and the user's own permissions, as one
    statement. Written once as SQL (table names from the models): building the same ORM
    union on every request cost about a tenth of a filing request's CPU."""
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from core.models import User

    group, perm = Group._meta.db_table, Permission._meta.db_table
    ctype = ContentType._meta.db_table
    user_groups = User.groups.through._meta.db_table
    group_perms = Group.permissions.through._meta.db_table
    user_perms = User.user_permissions.through._meta.db_table
    return (
        f"SELECT g.name, ct.app_label, p.codename FROM {group} g"  # noqa: S608 - names
        f" JOIN {user_groups} ug ON ug.group_id = g.id"
        f" LEFT JOIN {group_perms} gp ON gp.group_id = g.id"
        f" LEFT JOIN {perm} p ON p.id = gp.permission_id"
        f" LEFT JOIN {ctype} ct ON ct.id = p.content_type_id"
        " WHERE ug.user_id = %s"
        f" UNION ALL SELECT NULL, ct.app_label, p.codename FROM {perm} p"
        f" JOIN {user_perms} up ON up.permission_id = p.id"
        f" JOIN {ctype} ct ON ct.id = p.content_type_id"
        " WHERE up.user_id = %s"
    )


def grant_permissions(apps, grants: dict[str, list[str]]):
    """Give each role group the listed `app_label.codename` permissions (creating the group).

    Used by data migrations (with their historical `apps`) and by the tests after a flush
    (with the real registry). Permissions are normally created after migrations
    (post_migrate); those not there yet are created here first, so a fresh database gets its
    roles in one `migrate`. A few queries in all (the permissions read once, one insert per
    group), not three per permission: the tests call this after every flush.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {perm for perms in grants.values() for perm in perms}
    by_name = _permission_ids(Permission)
    if wanted - set(by_name):
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            # create_permissions skips apps without a models module; a migration's
            # historical app configs have none, so one is pretended for the call.
            pretend = getattr(app_config, "models_module", None) is None
            if pretend:
                app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            if pretend:
                app_config.models_module = None
        by_name = _permission_ids(Permission)
    missing = sorted(wanted - set(by_name))
    if missing:
        raise Permission.DoesNotExist(f"No such permission: {', '.join(missing)}")
    for role, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*(by_name[perm] for perm in perms))


def _permission_ids(Permission):  # noqa: N803 - a model class, historical or real
    return {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
