"""Core's pages: the home page (who you are, the forward bases) and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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


@require_GET
@never_cache
def healthz(request):
    """For load balancers and the compose health check: is the database reachable?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": "ok"})
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
