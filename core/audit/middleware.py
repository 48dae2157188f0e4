"""The middleware that tells the audit trail which request (user, client) is writing."""

from core.audit import context


class AuditContextMiddleware:
    """Makes the current request (and so its user and client) known to the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.set_request(request)
        try:
            return self.get_response(request)
        finally:
            context.reset_request(token)
