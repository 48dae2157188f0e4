"""What every app's API shares: the error format, parsers, fields, pagination, the schema
and its docs page."""
