"""The OpenAPI schema states every answer an operation gives, its errors included.

drf-spectacular documents the success of an operation; the errors every API view can give
are the same few and follow from what the view is (it takes input, needs a login, names an
object in its path, is paginated, is throttled), so they are added here once, in the common
error format, instead of on each view. A view documents only what is its own (a 409 on a
resent report with other content, a 412 on a stale `If-Match`).
"""

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from core.api.errors import ErrorOutput

ERRORS = {
    "400": "Invalid input: `errors` names each offending field and says why.",
    "401": "No valid credentials: no token or session, or an unknown, expired or malformed token.",
    "403": "The caller's role, or the object's state or owner, does not allow this.",
    "404": "No such object, or none the caller may see (or a page past the last).",
    "415": "The request body is not of a content type this operation reads.",
    "429": "Too many attempts: wait before trying again.",
}


def error_response(code: str, description: str | None = None) -> OpenApiResponse:
    """A response in the common error format, for a view's own `extend_schema(responses=)`."""
    return OpenApiResponse(ErrorOutput, description=description or ERRORS.get(code, ""))


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._errors_given(operation):
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    error_response(code), code, media_types=["application/json"]
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _errors_given(self, operation) -> set[str]:
        codes = set()
        parameters = operation.get("parameters", [])
        if any(parameter["in"] in ("query", "header") for parameter in parameters):
            codes.add("400")  # the filters' and query serializers' refusals
        if "requestBody" in operation:
            codes |= {"400", "415"}  # invalid, or not parsed at all
        if self.method in ("POST", "PUT", "PATCH"):
            codes.add("400")  # a service's refusal in this state (not a draft, already sent)
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes |= {"401", "403"}
        if "{" in self.path or self._is_paginated():
            codes.add("404")
        if self.view.get_throttles():
            codes.add("429")
        return codes

    def _is_paginated(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None


def link_operations_on_one_object(result, generator, request, public):
    """OpenAPI links: an answer that is an object (a report, a patrol plan) links to every
    operation on that object, its identifier taken from the answer's body. A client (and
    schemathesis's stateful phase) can follow them: file a report, then read, edit and submit
    it. drf-spectacular makes no links; the rule is structural, so a new operation on an object
    is linked without being listed anywhere.

    The object is the answer of `GET <collection>/{id}/`; its operations are the paths under
    `<collection>/{id}/` that need no other parameter; an answer is that object when it has
    the same schema (an action's answer of another kind, a restriction recorded on a patrol,
    gets no links).
    """
    paths = result["paths"]
    for path, operations in paths.items():
        resource = _json_ref(operations.get("get", {}).get("responses", {}).get("200"))
        name = path.rstrip("/").rpartition("/")[2].strip("{}")
        if not resource or not path.endswith(f"/{{{name}}}/"):
            continue
        targets = [
            operation["operationId"]
            for target_path, target_operations in paths.items()
            if target_path.startswith(path) and target_path.count("{") == 1
            for operation in target_operations.values()
        ]
        for operations_of_any_path in paths.values():
            for operation in operations_of_any_path.values():
                for code, response in operation["responses"].items():
                    if not code.startswith("2"):
                        continue
                    if _json_ref(response) == resource:
                        where = f"$response.body#/{name}"
                    elif _page_of(result, response) == resource:
                        # A page of these objects: its first one (a list every role can read
                        # starts a chain, where a made-up filing rarely lands in the area).
                        where = f"$response.body#/results/0/{name}"
                    else:
                        continue
                    links = response.setdefault("links", {})
                    for target in targets:
                        if target != operation["operationId"]:
                            links[target] = {
                                "operationId": target,
                                "parameters": {f"path.{name}": where},
                            }
    return result


def _page_of(result, response):
    """The $ref of the objects a paginated answer lists, else None."""
    ref = _json_ref(response)
    if not ref:
        return None
    schema = result.get("components", {}).get("schemas", {}).get(ref.rpartition("/")[2], {})
    results = schema.get("properties", {}).get("results", {})
    return results.get("items", {}).get("$ref") if results.get("type") == "array" else None


def _json_ref(response):
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref")
