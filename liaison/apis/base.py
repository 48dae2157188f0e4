"""What every liaison API view shares: no cache may keep the answer, and the refusal of a
role the need-to-know rules (liaison.selectors) do not let in."""

from django.utils.cache import add_never_cache_headers
from rest_framework.exceptions import PermissionDenied

from liaison import selectors


class NeverStored:
    """Contacts' details must not be kept by a browser, a proxy or a tablet's cache."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        add_never_cache_headers(response)
        return response


def require(allowed: bool) -> None:
    """Refuse (403, saying why) unless the liaison.selectors predicate allowed it."""
    if not allowed:
        raise PermissionDenied(selectors.NEED_TO_KNOW)
