"""API authentication by device tokens (knox): one token per device, revoked alone, read in
one query with the user's roles; a malformed header is a 401 saying what a token looks like."""

import binascii
import functools
import json
import logging
from hmac import compare_digest

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from core.roles import (
    roles_and_permissions_apply,
    roles_and_permissions_column,
    second_factor_required_by_role,
)

security_log = logging.getLogger("missionapp.security")
MALFORMED = _(
    "Invalid token header: send `Authorization: Token <token>` with the token (hexadecimal "
    "digits) that POST /api/auth/login/ returned."
)
NEEDS_SECOND_FACTOR = _(
    "This device logged in without a second factor, which your role needs: log in again "
    "with the code of your authenticator app (otp_code)."
)
# knox's tokens are 64 hexadecimal digits (plus TOKEN_PREFIX, at most 10): far more is not one.
MAX_TOKEN_LENGTH = 256


class DeviceTokenAuthentication(TokenAuthentication):
    """Knox device tokens; the device's token key is what the audit trail records."""

    def authenticate(self, request):
        try:
            try:
                result = super().authenticate(request)
            except UnicodeError as exc:
                # A header Latin-1 cannot carry (only a test client can send one; a server
                # hands headers over as Latin-1) is as malformed as any other.
                raise exceptions.AuthenticationFailed(MALFORMED) from exc
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

    def authenticate_credentials(self, token):
        """knox's TokenAuthentication.authenticate_credentials (knox 5.1), step for step,
        with the candidate tokens read by _tokens_with_key instead of the ORM."""
        msg = _("Invalid token.")
        # knox decodes UTF-8 and lets `Token éé` (Latin-1 bytes) raise: a 500. A token is
        # what POST /api/auth/login/ returned, hexadecimal digits: anything else is refused.
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(MALFORMED) from exc
        if not token.isprintable() or len(token) > MAX_TOKEN_LENGTH:
            raise exceptions.AuthenticationFailed(MALFORMED)
        for auth_token in self._tokens_with_key(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(msg) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                if not auth_token.second_factor and second_factor_required_by_role(auth_token.user):
                    # Made by a password-only login (before the member's role needed a
                    # second factor, or before second factors existed): not good enough now.
                    raise exceptions.AuthenticationFailed(NEEDS_SECOND_FACTOR)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

    @staticmethod
    def _tokens_with_key(token_key):
        """The tokens under this key prefix with their user, as knox reads them, in one
        statement written once (the ORM built the same join on every request: about a tenth
        of a filing request's CPU). Values go through the fields' own database converters."""
        from core.models import DeviceToken, User

        connection = connections[DeviceToken.objects.db]
        sql, n_token, n_user, converters = _token_sql(connection.alias)
        with connection.cursor() as cursor:
            cursor.execute(sql, [token_key])
            rows = cursor.fetchall()
        found = []
        for row in rows:
            values = list(row)
            for index, expression, field_converters in converters:
                for convert in field_converters:
                    values[index] = convert(values[index], expression, connection)
            token = DeviceToken.from_db(connection.alias, None, values[:n_token])
            token.user = User.from_db(connection.alias, None, values[n_token:n_user])
            if len(values) > n_user:  # the user's roles and permissions, read alongside
                roles = values[n_user]
                roles_and_permissions_apply(
                    token.user, json.loads(roles) if isinstance(roles, str) else roles
                )
            found.append(token)
        return found

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


@functools.cache
def _token_sql(alias):
    """SELECT every concrete column of the token and of its user, by token key prefix (the
    index knox uses), newest first as DeviceToken's ordering says; with the fields' database
    converters. Built once per database. The user's roles and permissions come in the same
    statement, as a JSON column (one round trip less per request than asking for them after:
    ~0.1 ms of the web process's CPU and as much of the database's)."""
    from core.models import DeviceToken as token_model
    from core.models import User as user_model

    connection = connections[alias]
    qn = connection.ops.quote_name
    token_fields = token_model._meta.concrete_fields
    user_fields = user_model._meta.concrete_fields
    columns = [f"t.{qn(f.column)}" for f in token_fields]
    columns += [f"u.{qn(f.column)}" for f in user_fields]
    roles = roles_and_permissions_column(connection.vendor, f"u.{qn(user_model._meta.pk.column)}")
    if roles is not None:
        columns.append(roles)
    user_fk = token_model._meta.get_field("user").column
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(token_model._meta.db_table)} t"  # noqa: S608
        f" JOIN {qn(user_model._meta.db_table)} u ON u.{qn(user_model._meta.pk.column)}"
        f" = t.{qn(user_fk)} WHERE t.{qn(token_model._meta.get_field('token_key').column)}"
        f" = %s ORDER BY t.{qn(token_model._meta.get_field('created').column)} DESC"
    )
    converters = []
    for index, field in enumerate([*token_fields, *user_fields]):
        expression = field.get_col(field.model._meta.db_table)
        found = connection.ops.get_db_converters(expression) + expression.get_db_converters(
            connection
        )
        if found:
            converters.append((index, expression, found))
    return sql, len(token_fields), len(token_fields) + len(user_fields), converters
