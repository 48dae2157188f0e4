"""The API's schema (/api/schema/) and docs page (Swagger UI at /api/docs/), for logged-in
people only."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated


class SchemaBuiltOnce(spectacular_settings.DEFAULT_GENERATOR_CLASS):
    """The schema generator, keeping each public schema it built for the rest of the process.

    A public schema (SERVE_PUBLIC, not filtered by the reader's permissions) is made from the
    code alone (the URLconf, views and serializers), so a process builds it once per URLconf,
    API version and patterns instead of for every request (~0.3 s of CPU each time)."""

    built: dict = {}

    def get_schema(self, request=None, public=False):
        if not public:
            return super().get_schema(request=request, public=public)
        key = (self.urlconf, self.api_version, tuple(self.patterns or ()))
        if key not in self.built:
            self.built[key] = super().get_schema(request=request, public=public)
        return self.built[key]


class SchemaView(SpectacularAPIView):
    """/api/schema/: who may read it is still asked on every request (SERVE_PERMISSIONS)."""

    generator_class = SchemaBuiltOnce


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
