"""Browser fixtures (filled in by the browser-test work)."""
