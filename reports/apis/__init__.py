"""The reports' API (mounted at /api/reports/ by reports.api_urls), one module per group of
operations: `incidents` (list, filing, reading, editing, submitting), `attachments`,
`review` (review decisions, verification) and `lists` (GeoJSON, CSV, the clustered map).
The daily summaries' API is reports.summaries.apis."""
