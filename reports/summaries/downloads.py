"""Handing out a summary file: every download is recorded (who, when, which file, how)."""

from django.http import HttpResponse

from reports.models import SummaryArtefact, SummaryDownload

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "geojson": "application/geo+json",
}


def artefact_filename(artefact: SummaryArtefact) -> str:
    summary = artefact.revision.summary
    return (f"Daily-Report-{summary.number:03d}-{summary.year}-r{artefact.revision.number}-"
            f"{artefact.level}.{artefact.format}")  # fmt: skip


def summary_artefact_download(*, artefact: SummaryArtefact, user, via: str) -> HttpResponse:
    SummaryDownload.objects.create(artefact=artefact, user=user, via=via)
    response = HttpResponse(bytes(artefact.data), content_type=CONTENT_TYPES[artefact.format])
    response["Content-Disposition"] = f'attachment; filename="{artefact_filename(artefact)}"'
    # Stored files never change: the hash is their identity.
    response["ETag"] = f'"{artefact.sha256}"'
    response["X-Content-SHA256"] = artefact.sha256
    return response
