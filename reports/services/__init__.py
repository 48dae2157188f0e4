"""Write use-cases for incident reports, one module per concern:

- `filing`: a report received from the tablet once per UUID, its author's edits and
  amendments, submission, and a duty officer's correction;
- `review`: duty officers' review decisions and verification, and the flash alert a serious
  report is due (sent by the worker, reports.tasks);
- `events`: linking the reports of one event, so summaries count it once;
- `attachments`: a report's photos and documents, checked and stored once.

The daily and weekly summaries have their own services (reports.summaries.services). The
names below are re-exported so `from reports.services import incident_report_receive` reads
as before; callers that use one concern import its module.
"""

from reports.services.attachments import attachment_store, read_capped
from reports.services.events import reports_link_as_one_event
from reports.services.filing import (
    ReportConflict,
    StaleVersion,
    incident_report_correct,
    incident_report_edit,
    incident_report_receive,
    incident_report_submit,
)
from reports.services.review import (
    report_mark_reviewed,
    report_reject,
    report_return,
    report_verify,
)

__all__ = [
    "ReportConflict",
    "StaleVersion",
    "attachment_store",
    "incident_report_correct",
    "incident_report_edit",
    "incident_report_receive",
    "incident_report_submit",
    "read_capped",
    "report_mark_reviewed",
    "report_reject",
    "report_return",
    "report_verify",
    "reports_link_as_one_event",
]
