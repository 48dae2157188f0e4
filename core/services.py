"""Write use-cases of core: logins (device tokens, the second factor, what a password change
revokes), restricted zones, demo users."""

import logging

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import crypto, security, totp
from core.models import DeviceToken, RecoveryCode, RestrictedZone, SecondFactor, User
from core.roles import second_factor_required_by_role

security_log = logging.getLogger("missionapp.security")


class LoginLockedOut(Exception):
    """The account or the client address is locked out (a core.security.Lockout)."""

    def __init__(self, lockout):
        super().__init__(security.locked_message(lockout))
        self.until = lockout.until


# Not in a transaction: on the embedded stack the failure counters are rows of the database
# cache, and a transaction rolled back with the refusal would take the count with it.
def device_token_issue(
    *, username: str, password: str, device_name: str, otp_code: str = "", request=None
):
    """Log a device in: returns (token row, secret token string shown once).

    A member whose login needs a second factor (second_factor_required) sends the code of
    the authenticator app (or a recovery code) as `otp_code`. Refuses with a ValidationError
    naming the field, or LoginLockedOut; refusals are logged for security review and counted
    towards the lockout.
    """
    device_name = (device_name or "").strip()
    if not device_name:
        raise ValidationError({"device_name": ["Name this device (e.g. 'Tablet KPN-03')."]})
    user = authenticate(request, username=username, password=password)
    lockout = getattr(request, security.LOCKED_OUT, None)
    if lockout is not None:
        raise LoginLockedOut(lockout)
    if user is None or not user.is_active:
        security_log.warning("refused device login for %r (%s)", username, device_name)
        raise ValidationError({"password": ["Unknown username or wrong password."]})
    enrolled = second_factor_enrolled(user)
    with_second_factor = enrolled or second_factor_required_by_role(user)
    if with_second_factor:
        if not enrolled:
            _password_right_code_missing(user, request, "no second factor set up yet")
            raise ValidationError(
                {
                    "otp_code": [
                        "This account logs in with a second factor and has none yet: log in "
                        "on the web once to set up an authenticator app, then send its code."
                    ]
                }
            )
        if not totp.normalise(otp_code):
            _password_right_code_missing(user, request, "no code sent")
            raise ValidationError(
                {
                    "otp_code": [
                        "This account logs in with a second factor: send the 6-digit code of "
                        "your authenticator app (or a recovery code)."
                    ]
                }
            )
        second_factor_check(user=user, code=otp_code, request=request, field="otp_code")
    security.login_success_record(request, user.get_username())
    with transaction.atomic():
        return DeviceToken.objects.create(
            user=user, device_name=device_name[:100], second_factor=with_second_factor
        )


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


# --- What a password change revokes ----------------------------------------------------------


@transaction.atomic
def credentials_changed(*, user: User) -> int:
    """After a password change or reset (User.save calls this): every device token of the
    user is revoked, one by one so that each removal is audited (a tablet then asks its
    monitor to log in again and keeps its queued reports). The user's other sessions end by
    themselves: Django checks each session against the password it was opened with. Returns
    the number of tokens revoked."""
    tokens = list(DeviceToken.objects.filter(user=user))
    for token in tokens:
        token.delete()
    security_log.warning(
        "password of %s changed: %d device token(s) revoked, other sessions ended",
        user.get_username(),
        len(tokens),
    )
    return len(tokens)


# --- The second factor (core.totp) -----------------------------------------------------------


def second_factor_required(user: User) -> bool:
    """Whether this member's login needs a second factor: their role requires one
    (core.roles.SECOND_FACTOR_ROLES, staff, superusers), or they set one up themselves."""
    return second_factor_required_by_role(user) or second_factor_enrolled(user)


def second_factor_enrolled(user: User) -> bool:
    return SecondFactor.objects.filter(user=user, confirmed_at__isnull=False).exists()


def _password_right_code_missing(user, request, why):
    # Someone holds the password: worth an operator's attention even though no guess failed.
    security_log.warning(
        "refused device login of %s from %s: right password, %s",
        user.get_username(),
        security.client_address(request),
        why,
    )


# The secret being set up lives in the session that asked for it (encrypted), not in the
# database: someone else with the password who opens the set-up page in another session gets
# another secret, never the one the member is about to add to their app.
ENROLMENT = "second_factor_enrolment"


def second_factor_begin(*, user: User, session) -> str:
    """The secret this session shows for the member to add to an authenticator app: the one
    already shown in this session (a reload shows the same QR code), else a new one. Refuses
    a member who has a second factor (an administrator resets it first: second_factor_reset)."""
    if second_factor_enrolled(user):
        raise ValidationError("This account already has a second factor.")
    pending = session.get(ENROLMENT) or {}
    if pending.get("user") == user.pk:
        try:
            return crypto.decrypt(pending["secret"])
        except crypto.DecryptionError:
            pass  # a key rotated away since: start again
    secret = totp.new_secret()
    session[ENROLMENT] = {"user": user.pk, "secret": crypto.encrypt(secret)}
    return secret


def second_factor_confirm(*, user: User, code: str, session, request=None) -> list[str]:
    """Confirm the enrolment with a code from the app (proof that it holds this session's
    secret), store the second factor, e-mail the member that it was set up; returns the
    recovery codes, shown once. A wrong code counts towards the lockout."""
    pending = session.get(ENROLMENT) or {}
    if pending.get("user") != user.pk or second_factor_enrolled(user):
        raise ValidationError({"code": ["Start again: open the set-up page."]})
    secret = crypto.decrypt(pending["secret"])
    _attempt_begin(user, request, "code while setting up the second factor")
    step = totp.matching_step(secret, totp.normalise(code), after_step=0)
    if step is None:
        _second_factor_failed(user, request, "wrong code while setting up the second factor",
                              setting_up=True)  # fmt: skip
    security.login_attempt_succeeded(request, user.get_username())
    with transaction.atomic():
        # A set-up begun before the key lived in the session left an unconfirmed row.
        for stale in SecondFactor.objects.filter(user=user, confirmed_at__isnull=True):
            stale.delete()
        try:
            with transaction.atomic():
                factor = SecondFactor(user=user, secret=secret, confirmed_at=timezone.now(),
                                      last_step=step)  # fmt: skip
                factor.save()
        except IntegrityError:  # set up meanwhile, from another session
            raise ValidationError(
                {"code": ["This account already has a second factor: log in with it."]}
            ) from None
        codes = _recovery_codes_replace(user)
        transaction.on_commit(lambda: _second_factor_set_up_mail(user, request))
    session.pop(ENROLMENT, None)
    security_log.warning(
        "second factor set up for %s from %s", user.get_username(), security.client_address(request)
    )
    return codes


def _second_factor_set_up_mail(user, request):
    if not user.email:
        return
    local = timezone.localtime()
    send_mail(
        "missionapp: a second factor was set up for your account",
        f"An authenticator app was set up as the second factor of your missionapp account "
        f"{user.get_username()} on {local:%d %b %Y at %H:%M} (Yerevan time), from "
        f"{security.client_address(request)}.\n\nIf this was not you, tell your mission "
        "administrator now: someone knows your password.",
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
        fail_silently=True,
    )


def _attempt_begin(user, request, what):
    username = user.get_username()
    lockout = security.login_locked(request, username) or security.login_attempt_begin(
        request, username
    )
    if lockout is not None:
        security.refuse_locked(request, username, lockout, what=what)
        raise LoginLockedOut(lockout)


def second_factor_check(*, user: User, code: str, request=None, field: str = "code") -> str:
    """Check a login's second factor: a code of the app (accepted once) or an unused
    recovery code (then used up). Returns "app" or "recovery code". Refuses a locked-out
    login (LoginLockedOut) and a wrong code (ValidationError on `field`, counted towards the
    lockout of the account and the address, before it is checked)."""
    _attempt_begin(user, request, "second-factor code")
    typed = totp.normalise(code)
    with transaction.atomic():
        if typed.isdigit() and len(typed) == totp.DIGITS:
            factor = (
                SecondFactor.objects.select_for_update()
                .filter(user=user, confirmed_at__isnull=False)
                .first()
            )
            step = factor and totp.matching_step(factor.secret, typed, after_step=factor.last_step)
            if step:
                factor.last_step = step
                factor.save(update_fields=["last_step"])
                security.login_attempt_succeeded(request, user.get_username())
                return "app"
        elif typed:
            recovery = (
                RecoveryCode.objects.select_for_update()
                .filter(user=user, digest=totp.recovery_digest(typed), used_at__isnull=True)
                .first()
            )
            if recovery is not None:
                recovery.used_at = timezone.now()
                recovery.save(update_fields=["used_at"])
                left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                security_log.warning(
                    "recovery code used by %s from %s (%d left)",
                    user.get_username(),
                    security.client_address(request),
                    left,
                )
                security.login_attempt_succeeded(request, user.get_username())
                return "recovery code"
    _second_factor_failed(user, request, "wrong second-factor code", field=field)


def _second_factor_failed(user, request, why, *, field="code", setting_up=False):
    # Outside the transaction above: the count must outlive the refusal (see device_token_issue).
    security.login_failure_record(request, user.get_username(), why=why)
    lockout = security.login_locked(request, user.get_username())
    if lockout is not None:
        raise LoginLockedOut(lockout)
    if setting_up:
        message = "That code is not right: type the 6 digits your authenticator app shows now."
    else:
        message = (
            "That code is not right: type the 6 digits your authenticator app shows now "
            "(each code works once), or one of your recovery codes."
        )
    raise ValidationError({field: [message]})


@transaction.atomic
def recovery_codes_renew(*, user: User) -> list[str]:
    """New recovery codes for a member with a second factor (the old ones stop working)."""
    if not second_factor_enrolled(user):
        raise ValidationError("Set up a second factor first.")
    security_log.info("recovery codes renewed for %s", user.get_username())
    return _recovery_codes_replace(user)


def _recovery_codes_replace(user):
    for old in RecoveryCode.objects.filter(user=user):
        old.delete()
    codes = [totp.new_recovery_code() for _ in range(totp.RECOVERY_CODES)]
    for code in codes:
        RecoveryCode.objects.create(user=user, digest=totp.recovery_digest(code))
    return codes


@transaction.atomic
def second_factor_reset(*, user: User, by: User) -> None:
    """An administrator removes a member's second factor (a lost phone and no recovery code):
    the member sets up a new one at the next login; their sessions and device tokens end."""
    for row in [*SecondFactor.objects.filter(user=user), *RecoveryCode.objects.filter(user=user)]:
        row.delete()
    for token in DeviceToken.objects.filter(user=user):
        token.delete()
    # A new session hash salt is not available without a password change: end the sessions
    # that belong to this user by their stored user id.
    _sessions_end(user)
    security_log.warning("second factor of %s reset by %s", user.get_username(), by.get_username())


def _sessions_end(user, *, keep_key=None) -> int:
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key != keep_key and session.get_decoded().get(SESSION_KEY) == str(
            user.pk
        ):
            session.delete()
            ended += 1
    return ended
