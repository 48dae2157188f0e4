"""The mission's roles. Each is a Group; its table-level permissions are granted by data
migrations (core grants its own, each app grants its own models' permissions), and the
object-level rules that a permission table cannot express live in each app's selectors."""

from django.db.models import TextChoices


class Role(TextChoices):
    MONITOR = "monitor", "Monitor"
    TEAM_LEADER = "team_leader", "Team leader"
    COORDINATOR = "coordinator", "Coordinator"
    DUTY_OFFICER = "duty_officer", "Duty officer"
    LIAISON_OFFICER = "liaison_officer", "Liaison officer"
    HEADQUARTERS = "headquarters", "Headquarters"
    ADMINISTRATOR = "administrator", "Administrator"


def has_role(user, *roles) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    # One query per request at most: group names are cached on the user object.
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names
    return any(str(role) in names for role in roles)


def grant_permissions(apps, grants: dict[str, list[str]]):
    """Give each role group the listed `app_label.codename` permissions (creating the group).

    Used by data migrations (with their historical `apps`) and by the tests after a flush
    (with the real registry). Permissions are normally created after migrations
    (post_migrate); they are created here first so a fresh database gets its roles in one
    `migrate`.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions skips apps without a models module; a migration's historical
        # app configs have none, so one is pretended for the call.
        pretend = getattr(app_config, "models_module", None) is None
        if pretend:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if pretend:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
