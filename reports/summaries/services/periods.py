"""A summary's period, from one cut-off (SUMMARY_CUTOFF, 19:30 in the mission's time by
default) to the next, and which periods are due to be built now."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from reports.models import DailySummary


def cutoff_time() -> time:
    hours, minutes = (int(part) for part in settings.SUMMARY_CUTOFF.split(":"))
    return time(hours, minutes)


def cutoff_on(day: date) -> datetime:
    """The cut-off of a day in the mission's time, as an aware datetime."""
    return timezone.make_aware(
        datetime.combine(day, cutoff_time()), timezone.get_default_timezone()
    )


def last_cutoff(now: datetime) -> datetime:
    today = timezone.localtime(now).date()
    cutoff = cutoff_on(today)
    return cutoff if cutoff <= now else cutoff_on(today - timedelta(days=1))


def period_ending(end: datetime) -> tuple[datetime, datetime]:
    return cutoff_on(timezone.localtime(end).date() - timedelta(days=1)), end


def periods_due(now: datetime) -> list[datetime]:
    """The ends of the periods to build now, oldest first: every period closed since the
    newest summary (all of them after an outage; only the last one on a new installation,
    or from SUMMARY_FIRST_DAY), and the summaries of the last SUMMARY_REVISION_DAYS again (a
    rebuild of an unchanged period changes nothing; a changed one gets a revision)."""
    last = last_cutoff(now)
    newest = DailySummary.objects.order_by("-period_end").values_list("period_end", flat=True)
    newest = newest.first()
    if newest is not None:
        first = cutoff_on(timezone.localtime(newest).date() + timedelta(days=1))
    elif settings.SUMMARY_FIRST_DAY:
        first = cutoff_on(date.fromisoformat(settings.SUMMARY_FIRST_DAY))
    else:
        first = last
    missing, day = [], timezone.localtime(first).date()
    while cutoff_on(day) <= last:
        missing.append(cutoff_on(day))
        day += timedelta(days=1)
    recheck_from = cutoff_on(timezone.localtime(last).date()
                             - timedelta(days=settings.SUMMARY_REVISION_DAYS - 1))  # fmt: skip
    recent = DailySummary.objects.filter(period_end__gte=recheck_from, period_end__lte=last)
    return sorted(set(missing) | set(recent.values_list("period_end", flat=True)))
