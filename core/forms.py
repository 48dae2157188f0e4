"""Form fields shared by the pages and the admin."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from leaflet.admin import LeafletAdminWidget
from leaflet.forms import fields as leaflet_fields
from leaflet.forms.widgets import LeafletWidget

from core import security
from core.geometry import GeometryRefused, geometry_or_refusal

# Django's form geom_type names → the GeoJSON type names core.geometry takes.
GEOJSON_KINDS = {
    "POINT": ("Point",),
    "MULTIPOINT": ("MultiPoint",),
    "LINESTRING": ("LineString",),
    "MULTILINESTRING": ("MultiLineString",),
    "POLYGON": ("Polygon",),
    "MULTIPOLYGON": ("MultiPolygon",),
    "GEOMETRY": ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                 "MultiPolygon"),
}  # fmt: skip


class CheckedGeometryMixin:
    """Reads the map widget's text through core.geometry before GEOS or GDAL parse it, so a
    page form or the admin refuses what the API refuses, with the same reasons."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            geometry = geometry_or_refusal(value, kinds=GEOJSON_KINDS[self.geom_type])
        except GeometryRefused as refusal:
            raise ValidationError(str(refusal), code="invalid_geom") from None
        return geometry


class CheckedDeserializeMixin:
    """The Leaflet map widget, redrawing a refused form without parsing what was refused.

    Django's geometry widget reads the posted text again with GEOS when it redraws a form
    with errors, and transforms it to the map's SRID with GDAL: `SRID=3857;POINT(1e20 1e20)`
    never came back from that transform (a request thread pinned for good), and a GeoJSON
    Feature raised a 500. Here the text goes through core.geometry first; what it refuses is
    drawn as an empty map, the field's error saying why.
    """

    def deserialize(self, value):
        try:
            return geometry_or_refusal(value, kinds=GEOJSON_KINDS["GEOMETRY"])
        except GeometryRefused:
            return None


class CheckedLeafletWidget(CheckedDeserializeMixin, LeafletWidget):
    """The pages' map widget (the plan form's route)."""


class CheckedLeafletAdminWidget(CheckedDeserializeMixin, LeafletAdminWidget):
    """The admin's map widget, with the admin's own media."""


class CheckedLineStringField(CheckedGeometryMixin, leaflet_fields.LineStringField):
    """A route drawn on the Leaflet map."""


def checked_form_class(geom_type: str):
    """The checked Leaflet form field class for a model geometry field's geom_type."""
    base = getattr(leaflet_fields, _LEAFLET_CLASS[geom_type])
    return type(f"Checked{base.__name__}", (CheckedGeometryMixin, base), {})


_LEAFLET_CLASS = {
    "POINT": "PointField",
    "MULTIPOINT": "MultiPointField",
    "LINESTRING": "LineStringField",
    "MULTILINESTRING": "MultiLineStringField",
    "POLYGON": "PolygonField",
    "MULTIPOLYGON": "MultiPolygonField",
    "GEOMETRY": "GeometryField",
}


# --- Logins ----------------------------------------------------------------------------------


class LockoutAwareLoginMixin:
    """Django's login forms, saying "locked out until …" instead of "wrong password" when
    core.security refused the login (LockoutBackend marks the request)."""

    def get_invalid_login_error(self):
        lockout = getattr(self.request, security.LOCKED_OUT, None)
        if lockout is not None:
            return ValidationError(security.locked_message(lockout), code="locked_out")
        return super().get_invalid_login_error()


class LoginForm(LockoutAwareLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutAwareLoginMixin, AdminAuthenticationForm):
    pass


def _code_field(help_text, max_length):
    return forms.CharField(
        label="Code",
        max_length=max_length,
        strip=True,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "none",
                   "spellcheck": "false"}
        ),
    )  # fmt: skip


class SecondFactorForm(forms.Form):
    code = _code_field(
        "The 6 digits your authenticator app shows now, or one of your recovery codes.", 40
    )


class SecondFactorSetupForm(forms.Form):
    """The code that confirms the set-up: from the app only (no recovery codes exist yet)."""

    code = _code_field("The 6 digits your authenticator app shows now.", 12)
