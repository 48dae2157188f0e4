"""Backups: one checksummed archive of the database, the media files and the audit anchor
file (archive.py), restoring one onto an empty database (restore.py), and the nightly job's
once-a-night rule and retention (nightly.py)."""
