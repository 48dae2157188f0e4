"""Build the daily summary of any period on demand, with a progress bar.

    manage.py build_summary                      # the last closed period
    manage.py build_summary --day 2026-11-21     # the period whose cut-off is on that day
    manage.py build_summary --from 2026-11-01 --to 2026-11-07
    manage.py build_summary --catch-up           # what the scheduler would do now

Building an unchanged period again changes nothing; a changed one gets a new revision.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from core.audit.context import acting_as
from core.audit.models import AuditEntry
from reports.summaries import services


class Command(BaseCommand):
    help = "Build the daily situation summary of a period (or a range of periods)."

    def add_arguments(self, parser):
        parser.add_argument("--day", type=date.fromisoformat, help="The cut-off's day.")
        parser.add_argument("--from", dest="first", type=date.fromisoformat)
        parser.add_argument("--to", dest="last", type=date.fromisoformat)
        parser.add_argument("--catch-up", action="store_true",
                            help="Every period due now, as the scheduler does.")  # fmt: skip

    def handle(self, *args, day=None, first=None, last=None, catch_up=False, **options):
        now = timezone.now()
        if catch_up:
            ends = services.periods_due(now)
        elif first or last:
            if not (first and last) or last < first:
                raise CommandError("Give --from and --to, the first day not after the last.")
            ends = [services.cutoff_on(first + timedelta(days=n))
                    for n in range((last - first).days + 1)]  # fmt: skip
        else:
            ends = [services.cutoff_on(day) if day else services.last_cutoff(now)]
        if any(end > now for end in ends):
            raise CommandError("A period that has not reached its cut-off cannot be built yet.")
        made = []
        with acting_as(client=AuditEntry.Client.COMMAND, client_ref="build_summary"), tqdm(
            total=len(ends) * services.BUILD_STEPS, unit="step", file=self.stderr,
            disable=options["verbosity"] == 0,
        ) as bar:  # fmt: skip
            for end in ends:
                bar.set_description(f"{timezone.localtime(end):%d %b %Y}")
                done = bar.n
                revision = services.summary_produce(period_end=end, step=lambda name: bar.update())
                bar.update(done + services.BUILD_STEPS - bar.n)
                if revision is not None:
                    made.append(revision)
        for revision in made:
            self.stdout.write(f"{revision}: SHA-256 {revision.content_sha256}")
        if not made:
            self.stdout.write("Nothing changed: every summary asked for is up to date.")
