"""The daily situation summaries: a sub-package of reports, on the same plan as every app.

urls.py (pages) and api_urls.py (API) → views.py / apis.py → services/ (periods, production,
distribution) → selectors.py (who may read, the list), content/ (what a summary says, read
from the database), documents.py (its files, downloads and e-mail) and schema.py (the JSON's
documented schema) → reports.models (DailySummary and its revisions, files, recipients).
reports.tasks runs the beat's catch-up and the e-mail; anchors.py gives audit_verify the
anchors every revision states.
"""
