"""Security events worth an operator's attention go to the `missionapp.security` logger."""

import logging

from django.contrib.auth.signals import user_logged_in, user_login_failed

log = logging.getLogger("missionapp.security")


def _client_ip(request):
    return request.META.get("REMOTE_ADDR", "?") if request is not None else "?"


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` has the password scrubbed by Django; only the username is logged.
    log.warning("failed login for %r from %s", credentials.get("username"), _client_ip(request))


def _on_logged_in(sender, request, user, **kwargs):
    log.info("login of %s from %s", user.get_username(), _client_ip(request))


def connect_signals():
    user_login_failed.connect(_on_login_failed, dispatch_uid="security_login_failed")
    user_logged_in.connect(_on_logged_in, dispatch_uid="security_logged_in")
