"""Core's pages: the home page (who you are, the forward bases) and the
login's pages (the second factor, the account page, the password change)."""

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from core import security, services, totp
from core.forms import LoginForm, SecondFactorForm, SecondFactorSetupForm
from core.models import ForwardBase
from core.roles import Role


@login_required
def home(request):
    roles = [Role(name).label for name in request.user.role_names if name in Role.values]
    return render(
        request,
        "core/home.html",
        {"roles": roles, "forward_bases": ForwardBase.objects.select_related("province")},
    )


# --- Logins: the second factor, the account page, the password -------------------------------


class LoginView(auth_views.LoginView):
    """Django's login page with the lockout's message; a member who needs a second factor
    goes on to it (the session is half logged in until then: SecondFactorMiddleware)."""

    authentication_form = LoginForm

    def get_success_url(self):
        if self.request.session.get(security.SECOND_FACTOR) == security.PENDING:
            return security.second_factor_url("second-factor", super().get_success_url())
        return super().get_success_url()


def _next(request):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("home")


def _code_checked(form, check):
    """check(the code typed): its result, or None with the refusal (a wrong code, a lockout)
    shown under the form's code field."""
    try:
        return check(form.cleaned_data["code"])
    except services.LoginLockedOut as locked:
        form.add_error("code", str(locked))
    except ValidationError as refusal:
        form.add_error("code", refusal.message_dict["code"])
    return None


@never_cache
@sensitive_post_parameters("code")
@login_required
def second_factor(request):
    """The second step of a login: a code of the authenticator app, or a recovery code."""
    if request.session.get(security.SECOND_FACTOR) == security.VERIFIED:
        return redirect(_next(request))
    if not services.second_factor_enrolled(request.user):
        return redirect(security.second_factor_url("second-factor-setup", _next(request)))
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        used = _code_checked(
            form,
            lambda code: services.second_factor_check(
                user=request.user, code=code, request=request
            ),
        )
        if used is not None:
            security.second_factor_verified(request)
            if used == "recovery code":
                left = request.user.recovery_codes.filter(used_at__isnull=True).count()
                messages.warning(
                    request,
                    f"You logged in with a recovery code; {left} left. Each works once: "
                    "make new ones on your account page if you are running out.",
                )
            return redirect(_next(request))
    return render(
        request, "registration/second_factor.html", {"form": form, "next": _next(request)}
    )


@never_cache
@sensitive_post_parameters("code")
@sensitive_variables("secret", "uri", "codes")
@login_required
def second_factor_setup(request):
    """Enrolment: the secret as a QR code and as text, confirmed by a code from the app; then
    the recovery codes, shown once."""
    if services.second_factor_enrolled(request.user):
        return redirect(security.second_factor_url("second-factor", _next(request)))
    secret = services.second_factor_begin(user=request.user, session=request.session)
    form = SecondFactorSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = _code_checked(
            form,
            lambda code: services.second_factor_confirm(
                user=request.user, code=code, session=request.session, request=request
            ),
        )
        if codes is not None:
            security.second_factor_verified(request)
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "next": _next(request), "first_time": True},
            )
    uri = totp.provisioning_uri(
        secret, account=request.user.get_username(), issuer=settings.SECOND_FACTOR_ISSUER
    )
    return render(
        request,
        "registration/second_factor_setup.html",
        {
            "form": form,
            "next": _next(request),
            "qr": segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
            "uri": uri,
        },
    )


@never_cache
@login_required
def account(request):
    """The member's own account: password, second factor, recovery codes, devices."""
    return render(
        request,
        "core/account.html",
        {
            "enrolled": services.second_factor_enrolled(request.user),
            "required": services.second_factor_required(request.user),
            "recovery_left": request.user.recovery_codes.filter(used_at__isnull=True).count(),
            "devices": request.user.auth_token_set.order_by("-created"),
        },
    )


@never_cache
@require_POST
@login_required
def recovery_codes_renew(request):
    if request.POST.get("confirm") != "yes":
        messages.error(
            request,
            "Recovery codes: tick the box to confirm that your printed codes may stop working.",
        )
        return redirect("account")
    try:
        codes = services.recovery_codes_renew(user=request.user)
    except ValidationError as refusal:
        messages.error(request, refusal.messages[0])
        return redirect("account")
    return render(
        request,
        "registration/recovery_codes.html",
        {"codes": codes, "next": reverse("account"), "first_time": False},
    )


LogoutView = auth_views.LogoutView


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; this session stays, every other session and every device
    token of the member end (User.save → services.credentials_changed)."""

    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            "Password changed. Your other sessions and every device (tablet) are logged out: "
            "log in again there; reports waiting on a tablet are kept and sent after.",
        )
        return response
