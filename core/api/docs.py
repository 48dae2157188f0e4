"""The API's docs page (Swagger UI at /api/docs/), for logged-in people only."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from our own static files, its set-up script served as a file (`?script`)
    rather than inline, so that it runs under the Content-Security-Policy.

    Who may read it is the schema's rule (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); a
    person not logged in is sent to the login page and back, not shown a 401 page.
    """

    def handle_exception(self, exc):
        if isinstance(exc, (NotAuthenticated, AuthenticationFailed)):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
