"""Write use-cases of core: device tokens, restricted zones, demo users."""

import logging

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.models import DeviceToken, RestrictedZone, User

security_log = logging.getLogger("missionapp.security")


@transaction.atomic
def device_token_issue(*, username: str, password: str, device_name: str, request=None):
    """Log a device in: returns (token row, secret token string shown once).

    Refuses with a ValidationError naming the field; refusals are logged for security review.
    """
    device_name = (device_name or "").strip()
    if not device_name:
        raise ValidationError({"device_name": ["Name this device (e.g. 'Tablet KPN-03')."]})
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        security_log.warning("refused device login for %r (%s)", username, device_name)
        raise ValidationError({"password": ["Unknown username or wrong password."]})
    return DeviceToken.objects.create(user=user, device_name=device_name[:100])


@transaction.atomic
def device_token_revoke(*, token: DeviceToken) -> None:
    token.delete()


@transaction.atomic
def device_tokens_purge_expired(*, now=None) -> int:
    """Delete expired tokens one by one (so each removal is audited). Idempotent."""
    now = now or timezone.now()
    expired = list(DeviceToken.objects.filter(expiry__lt=now).select_related("user"))
    for token in expired:
        token.delete()
    return len(expired)


@transaction.atomic
def restricted_zone_create(*, created_by: User, **fields) -> RestrictedZone:
    zone = RestrictedZone(created_by=created_by, **fields)
    zone.full_clean()
    zone.save()
    return zone
