"""`manage.py backup`: write one dated, checksummed archive of the database, the media files
and the audit anchor file (core.backups.archive), with its `.sha256` sidecar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.backups.archive import BackupError, backup_make


class Command(BaseCommand):
    help = (
        "Write one archive (missionapp-<UTC time>.tar) of the database, the media files and "
        "the audit anchor file into BACKUP_DIR, with a manifest of every member's SHA-256 and "
        "a <archive>.sha256 sidecar for `sha256sum -c`."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", default=None, metavar="DIR",
                            help="Write the archive here instead of BACKUP_DIR.")  # fmt: skip

    def handle(self, *args, output_dir, **options):
        try:
            made = backup_make(output_dir=Path(output_dir) if output_dir else None)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"{made.path}  {made.size / 1e6:.1f} MB, "
            f"{made.seconds:.1f} s"
        ))  # fmt: skip
