from django.core.management.base import BaseCommand, CommandError

from core.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the whole audit hash chain; name the first broken entry (exit 1 if broken)."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(str(report))
        self.stdout.write(self.style.SUCCESS(str(report)))
