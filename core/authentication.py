import logging

from knox.auth import TokenAuthentication
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
