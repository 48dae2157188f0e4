"""The week calendar: each forward base's patrols by day of departure, in mission time, with
the parties' badges; a bad week or base in the query says what was wrong and shows this week."""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.pages import mission_page, page
from patrols import forms
from patrols.selectors import calendar_bases, can_see_plans, patrol_plans_in_window
from patrols.views.shared import local, with_badges


@require_GET
@mission_page
def calendar(request):
    if not can_see_plans(request.user):
        raise PermissionDenied("The patrol calendar is for the mission's staff.")
    form = forms.CalendarForm(request.GET)
    errors, status = [], 200
    if not form.is_valid():
        # Say what was wrong and show this week rather than nothing.
        errors, status = [e for field in form.errors.values() for e in field], 400
        form = forms.CalendarForm({})
        form.is_valid()
    base, monday = form.cleaned_data["base"], form.monday()
    zone = forms.mission_zone()
    start = timezone.make_aware(datetime.combine(monday, time.min), zone)
    end = start + timedelta(days=7)
    plans = with_badges(patrol_plans_in_window(user=request.user, start=start, end=end, base=base))
    bases = calendar_bases(user=request.user, base=base, plans=plans)

    days = [monday + timedelta(days=i) for i in range(7)]
    today = timezone.localtime(timezone.now(), zone).date()
    rows = []
    for row_base in bases:
        cells = []
        for day in days:
            cells.append({
                "date": day,
                "today": day == today,
                "plans": [p for p in plans if p.forward_base_id == row_base.pk
                          and local(p.planned_departure).date() == day],
            })  # fmt: skip
        rows.append({"base": row_base, "cells": cells})
    for plan in plans:
        plan.departure_local = local(plan.planned_departure)
        plan.return_local = local(plan.planned_return)

    week = form.cleaned_data["week"]

    def week_link(offset):
        year, number, _ = (monday + timedelta(days=7 * offset)).isocalendar()
        query = f"?week={year}-W{number:02d}"
        return query + (f"&base={base.pk}" if base else "")

    return page(
        request,
        "patrols/calendar.html",
        {
            "form": form,
            "errors": errors,
            "rows": rows,
            "days": days,
            "week": week,
            "base": base,
            "previous_week": week_link(-1),
            "next_week": week_link(1),
            "this_week": "?week=" + forms.current_week() + (f"&base={base.pk}" if base else ""),
            "sunday": days[-1],
            "time_zone": settings.TIME_ZONE,
        },
        status=status,
    )
