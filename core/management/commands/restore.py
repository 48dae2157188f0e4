"""`manage.py restore ARCHIVE`: restore a backup onto an EMPTY database, the media storage
and the anchor file, then verify the audit chain (core.backups.restore)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backups.archive import BackupError
from core.backups.restore import backup_restore, database_label


class Command(BaseCommand):
    help = (
        "Restore an archive made by `manage.py backup` onto the empty database DATABASE_URL "
        "names, the media storage and AUDIT_ANCHOR_FILE; refuses a damaged archive, a database "
        "that is not empty, another database vendor, or files it would overwrite. Ends with "
        "the audit chain's verification (exit 1 if broken)."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", metavar="ARCHIVE")
        parser.add_argument("--yes", action="store_true",
                            help="Do not ask for confirmation.")  # fmt: skip
        parser.add_argument(
            "--unauthenticated", action="store_true",
            help="Restore an archive this installation's AUDIT_KEYS did not authenticate (its "
            "manifest's MAC is missing or wrong): only one whose origin you checked yourself.",
        )  # fmt: skip

    def handle(self, *args, archive, yes, unauthenticated, **options):
        if not yes:
            try:
                answer = input(f"Restore {archive} into {database_label()}? [y/N] ")
            except EOFError:  # no terminal to answer from
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Not restored (answer y, or pass --yes).")
        try:
            restored = backup_restore(archive=Path(archive), step=self.stdout.write,
                                      unauthenticated=unauthenticated)  # fmt: skip
        except BackupError as exc:
            raise CommandError(f"Refused: {exc}") from exc
        manifest = restored.manifest
        if manifest.get("warning"):
            self.stderr.write(f"Warning: {manifest['warning']}")
        self.stdout.write(f"Backup of {manifest['created_at']} restored in "
                          f"{restored.seconds:.1f} s.")  # fmt: skip
        if not restored.chain.ok:
            raise CommandError(str(restored.chain))
        self.stdout.write(self.style.SUCCESS(str(restored.chain)))
        for warning in restored.chain.warnings:
            self.stderr.write(f"Warning: {warning}")
        self.stdout.write("Next: `manage.py migrate` (if this version has newer migrations), "
                          "then start the services.")  # fmt: skip
