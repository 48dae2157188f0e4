"""Request body parsers: DRF's, refusing what no field may hold before any field sees it."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


def refuse_nul(data, path="") -> None:
    """A NUL character in any text (key or value) is refused, naming where it was: no field
    holds one, and PostgreSQL refuses it in a query (a DataError: a 500 wherever a lookup
    field such as a username met it before validation could)."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError(f"{where or 'The body'}: text may not contain NUL (0x00).")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    raise ParseError(f"{where or 'The body'}: a name may not contain NUL (0x00).")
                stack.append((name, item))
        elif isinstance(value, list | tuple):
            stack.extend(
                (f"{where}.{i}" if where else str(i), item) for i, item in enumerate(value)
            )


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with JSON nested deeper than Python can follow answered as a 400
    naming the problem (it was a RecursionError: a 500), and NUL characters refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        refuse_nul(data)
        return data


class CheckedFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul({key: data.getlist(key) for key in data})
        return data


class CheckedMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_nul({key: parsed.data.getlist(key) for key in parsed.data})
        return parsed
