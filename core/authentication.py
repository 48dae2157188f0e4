import logging

from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions

security_log = logging.getLogger("missionapp.security")


class DeviceTokenAuthentication(TokenAuthentication):
    """Knox device tokens; the device's token key is what the audit trail records."""

    def authenticate(self, request):
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed as exc:
            security_log.warning(
                "refused API token from %s on %s: %s",
                request.META.get("REMOTE_ADDR"),
                request.path,
                exc.detail,
            )
            raise
        if result is not None:
            user, token = result
            request._request.audit_token_key = token.token_key
        return result

    def _cleanup_token(self, auth_token) -> bool:
        # knox also reads every other token of the user on every request, to delete the
        # expired ones: one query per request (and audited deletes at random moments) for
        # what the hourly purge (core.tasks.device_tokens_purge_expired) does anyway. Only the
        # token presented is checked here: an expired one is refused and removed, as before.
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=type(self), username=username, source="auth_token")
            return True
        return False
