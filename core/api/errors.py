"""One shape for every 4xx the API returns:

    {"status": 400, "code": "invalid", "detail": "...", "errors": {"field": ["message", ...]}}

`errors` maps each offending field (dotted for nested fields, "non_field_errors" for the
object as a whole) to its messages, so a client can put each message next to its input.
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

security_log = logging.getLogger("missionapp.security")
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


class ErrorOutput(serializers.Serializer):
    """The shape above, for the OpenAPI schema (core.api.schema puts it on every operation)."""

    status = serializers.IntegerField(min_value=400, max_value=599)
    code = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(allow_blank=True)),
        help_text='Each offending field (dotted when nested; "non_field_errors" for the whole '
        "input) and its messages; empty when no field is to blame.",
    )

    class Meta:
        ref_name = "Error"


def _flatten(detail, prefix=""):
    """{"a": {"b": ["x"]}, "c": [{"d": ["y"]}]} -> {"a.b": ["x"], "c.0.d": ["y"]}"""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            if item:
                out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or NON_FIELD: [str(item) for item in items]}


def _codes(detail):
    if isinstance(detail, dict):
        return next((c for v in detail.values() if (c := _codes(v))), None)
    if isinstance(detail, list):
        return next((c for v in detail if (c := _codes(v))), None)
    return getattr(detail, "code", None)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def body_too_large(limit_bytes: int, what: str = "The request body", field=None):
    """A 413 naming the limit, in megabytes as a person would read it (and the field, when
    one part of the body is what is too large)."""
    megabytes = limit_bytes / (1024 * 1024)
    shown = f"{megabytes:.0f}" if megabytes >= 1 else f"{megabytes:.1f}"
    message = f"{what} is larger than the {shown} MB this server accepts."
    return RequestTooLarge({field: [message]} if field else message)


def _from_django_request_error(exc):
    """Django refuses an oversized or overfull body while DRF reads it (request.body, the
    multipart parser); uncaught it became Django's HTML 400 page. The API answers it in
    its own format, naming the limit."""
    if isinstance(exc, RequestDataTooBig):
        return body_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, TooManyFieldsSent):
        return exceptions.ParseError(
            f"Too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}."
        )
    if isinstance(exc, TooManyFilesSent):
        return exceptions.ParseError(
            f"Too many files: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES}."
        )
    return exc


def exception_handler(exc, context):
    exc = _from_django_request_error(exc)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # A service's refusal says why (four eyes, not this patrol's leader): keep it.
        exc = exceptions.PermissionDenied(str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if response.status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
        user = getattr(request, "user", None)
        security_log.warning(
            "refused %s %s for %s: %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            user.get_username() if user is not None and user.is_authenticated else "anonymous",
            response.status_code,
        )

    # A refusal naming fields (a validation error, or a 413 naming the part too large).
    if isinstance(exc, exceptions.ValidationError) or isinstance(
        getattr(exc, "detail", None), dict
    ):
        errors = _flatten(exc.detail)
        detail = "; ".join(
            f"{field}: {' '.join(messages)}" if field != NON_FIELD else " ".join(messages)
            for field, messages in errors.items()
        )
        if isinstance(exc, exceptions.ValidationError):
            code = "invalid"
        else:
            code = _codes(exc.detail) or getattr(exc, "default_code", "error")
    else:
        errors = {}
        detail = str(exc.detail) if hasattr(exc, "detail") else response.reason_phrase
        code = _codes(getattr(exc, "detail", None)) or getattr(exc, "default_code", "error")
    response.data = {
        "status": response.status_code,
        "code": code,
        "detail": detail,
        "errors": errors,
    }
    return response


def not_found(request, exception=None):
    """handler404: an /api/ path that names no operation (`/api/patrols/abc/`: the URL pattern
    takes a number) answers in the API's format, not with the HTML page a browser gets."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"status": 404, "code": "not_found", "detail": "No API operation has this path.",
             "errors": {}},
            status=404,
        )  # fmt: skip
    return page_not_found(request, exception)
