"""Daily summary use-cases; see periods.py (cut-offs, the periods due), production.py (building
and storing a revision, the catch-up beat runs) and distribution.py (the e-mail to the
distribution list, downloads recorded). What a summary says is built by
reports.summaries.content; its files are rendered by reports.summaries.documents."""

from reports.summaries.services.distribution import (  # noqa: F401
    summary_deliver,
    summary_deliveries_stale,
    summary_download_record,
)
from reports.summaries.services.periods import (  # noqa: F401
    cutoff_on,
    cutoff_time,
    last_cutoff,
    period_ending,
    periods_due,
)
from reports.summaries.services.production import (  # noqa: F401
    BUILD_STEPS,
    canonical_sha256,
    describe_changes,
    summaries_catch_up,
    summary_produce,
)
