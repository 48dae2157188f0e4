"""The reports' pages: the incident pages for the mission's staff (`incidents`: the review
queue, list, map and an incident's detail with the duty officers' actions) and the tablet
app monitors file from (`tablet`: its shell, service worker, manifest and patrol list).
Mounted by reports.urls."""
