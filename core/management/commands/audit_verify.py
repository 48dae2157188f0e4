"""`manage.py audit_verify`: verify the whole audit chain against every anchor, and fail
naming the first entry or anchor that does not match (core.audit.verification)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.audit import anchors
from core.audit.verification import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Verify the whole audit chain: every seal with its key, every link, the head, and every "
        "anchor (the anchor file, the daily summaries, and each --anchor given); name the first "
        "entry or anchor that does not match (exit 1 if broken)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchor", action="append", default=[], metavar="SEQ:MAC",
            help="An anchor read off a document that left the system (a daily summary's "
            "'Audit anchor' line); may be given several times.",
        )  # fmt: skip
        parser.add_argument(
            "--anchor-file", default=None, metavar="PATH",
            help="Check this anchor file instead of AUDIT_ANCHOR_FILE: the copy kept off the "
            "machine, or the one saved with the backup being checked.",
        )  # fmt: skip

    def handle(self, *args, anchor, anchor_file, **options):
        try:
            given = [anchors.parse(text, f"--anchor {text[:24]}") for text in anchor]
            if anchor_file and not Path(anchor_file).is_file():
                raise ValueError(f"--anchor-file {anchor_file}: no such file")
            report = audit_chain_verify(anchors=given, anchor_file=anchor_file)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not report.ok:
            raise CommandError(str(report))
        self.stdout.write(self.style.SUCCESS(str(report)))
        for warning in report.warnings:
            self.stderr.write(f"Warning: {warning}")
        if report.sealing_behind:
            self.stderr.write(f"Warning: {report.waiting} entries wait to be sealed, the oldest "
                              f"since {report.oldest_waiting:%Y-%m-%d %H:%M:%S %Z}: is "
                              "`manage.py audit_seal --loop` running?")  # fmt: skip
