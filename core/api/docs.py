"""The API's schema (/api/schema/) and docs page (Swagger UI at /api/docs/), for logged-in
people only."""

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """The OpenAPI document, generated once per process and API version.

    It is made from the code alone (the URLconf, the views and serializers) and is the same
    for every reader (SERVE_PUBLIC: not filtered by the reader's permissions), so a process
    builds it once instead of for every request (~0.3 s of CPU each time). Who may read it is
    still asked on every request (SERVE_PERMISSIONS)."""

    _built: dict = {}

    def _get_schema_response(self, request):
        if not self.serve_public:  # filtered by the reader's permissions: built for each
            return super()._get_schema_response(request)
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (self.urlconf, version, tuple(self.patterns or ()))
        if key not in self._built:
            generator = self.generator_class(
                urlconf=self.urlconf, api_version=version, patterns=self.patterns
            )
            self._built[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=self._built[key],
            headers={
                "Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'
            },
        )


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
