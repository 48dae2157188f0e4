"""The Permissions-Policy header (settings.PERMISSIONS_POLICY), which Django does not send.

Every response denies the listed browser features; a response under a path prefix of
PERMISSIONS_POLICY_BY_PATH gets that prefix's allowances on top (the tablet app may use the
camera and GPS). A view that sets the header itself keeps its own.
"""

from django.conf import settings

HEADER = "Permissions-Policy"


def _allowlist(origins):
    # Structured-header syntax: self is a token, any other origin a quoted string.
    return "(" + " ".join(o if o in ("self", "*") else f'"{o}"' for o in origins) + ")"


def policy_header(policy):
    return ", ".join(f"{feature}={_allowlist(origins)}" for feature, origins in policy.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        base = settings.PERMISSIONS_POLICY
        self.default = policy_header(base)
        # Longest prefix first, so that a narrower prefix wins over a broader one.
        self.by_path = sorted(
            (
                (prefix, policy_header({**base, **allowed}))
                for prefix, allowed in settings.PERMISSIONS_POLICY_BY_PATH.items()
            ),
            key=lambda item: -len(item[0]),
        )

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = self.header_for(request.path_info)
        return response

    def header_for(self, path):
        for prefix, header in self.by_path:
            if path.startswith(prefix):
                return header
        return self.default
