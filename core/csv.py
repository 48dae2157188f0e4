"""CSV cells a spreadsheet will not run.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula
by Excel and LibreOffice (`=HYPERLINK(...)` in a report's description would send the reader
to a site of the writer's choosing). Text typed in the field reaches the exports and the
daily summary's CSV, which go to readers outside the mission: such a cell is written with a
leading apostrophe, which the spreadsheet shows as text. Numbers are left as they are.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
