"""The base layer over HTTP: its tiles, and what it is (for the maps and the tablets' offline
copy). Both need a login, as the geography API does (a session or a device token).

A tile's URL carries the layer's version (`?v=`, from the description): a new layer is new
URLs, so a tile is cached for a year, privately (a login is needed), and its ETag is that
version and its place: a revalidation is answered 304 without reading the file.
"""

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.authentication import DeviceTokenAuthentication
from core.basemap import manifest
from core.basemap.mbtiles import loaded

YEAR = 365 * 24 * 3600
NONE_LOADED = "No base layer is loaded (manage.py load_basemap FILE)."


def _error(status, code, detail):
    # The API's error format (core.api.errors), as the geography API answers.
    return JsonResponse({"status": status, "code": code, "detail": detail, "errors": {}},
                        status=status)  # fmt: skip


def _signed_in(request):
    """The session's user, else a device token's (the geography API's two ways in), else
    None; a token that is not one raises AuthenticationFailed, as in the API."""
    if request.user.is_authenticated:
        return request.user
    if "HTTP_AUTHORIZATION" not in request.META:
        return None
    found = DeviceTokenAuthentication().authenticate(Request(request))
    return found[0] if found else None


@require_safe
def basemap_tile(request, z, x, y, fmt):
    """One tile, XYZ (Leaflet's order; the file's rows are flipped to TMS).

    A plain view, not a DRF one: it is no API operation (the schema leaves it out), and as a
    DRF view it would still count among the schema's paths and move their common prefix."""
    try:
        user = _signed_in(request)
    except AuthenticationFailed as refused:
        return _error(401, "authentication_failed", str(refused.detail))
    if user is None:
        return _error(401, "not_authenticated", "Log in to see the base layer.")
    basemap = loaded()
    if basemap is None:
        return _error(404, "not_found", NONE_LOADED)
    info = basemap.info
    absent = f"The base layer has no tile {z}/{x}/{y}.{fmt}."
    if fmt != info.format or not (info.minzoom <= z <= info.maxzoom) or max(x, y) >= 2**z:
        return _error(404, "not_found", absent)
    etag = f'"{info.version}-{z}-{x}-{y}"'
    current = request.GET.get("v") == info.version
    cache = f"private, max-age={YEAR}, immutable" if current else "private, no-cache"
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        data = basemap.tile(z, x, y)
        if data is None:
            return _error(404, "not_found", absent)
        response = HttpResponse(data, content_type=info.content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache
    response["Vary"] = "Cookie, Authorization"
    return response


class _Range(serializers.Serializer):
    zoom = serializers.IntegerField()
    x = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)
    y = serializers.ListField(child=serializers.IntegerField(), min_length=2, max_length=2)

    class Meta:
        ref_name = "BasemapTileRange"


class _Zoom(_Range):
    tiles = serializers.IntegerField()
    bytes = serializers.IntegerField()

    class Meta:
        ref_name = "BasemapZoom"


class _Sector(serializers.Serializer):
    name = serializers.CharField()
    tiles = serializers.IntegerField()
    bytes = serializers.IntegerField()
    zooms = _Zoom(many=True)

    class Meta:
        ref_name = "BasemapSector"


class _Precache(serializers.Serializer):
    sectors = serializers.ListField(child=serializers.CharField())
    zooms = serializers.ListField(child=serializers.IntegerField())
    tiles = serializers.IntegerField()
    bytes = serializers.IntegerField()
    max_bytes = serializers.IntegerField()
    whole_layer = serializers.BooleanField()
    ranges = _Range(many=True)

    class Meta:
        ref_name = "BasemapPrecache"


class BasemapApi(APIView):
    """The base layer the mission supplies, if one is loaded: its format, bounds, zooms,
    attribution and version, the URL of its tiles, each sector's tiles and bytes, and the
    tiles the caller's tablet stores for offline use (its sector's, within the size limit)."""

    class OutputSerializer(serializers.Serializer):
        available = serializers.BooleanField()
        detail = serializers.CharField()
        name = serializers.CharField(allow_null=True)
        format = serializers.CharField(allow_null=True)
        content_type = serializers.CharField(allow_null=True)
        version = serializers.CharField(allow_null=True)
        tile_url = serializers.CharField(allow_null=True, help_text="{z}/{x}/{y}: XYZ")
        bounds = serializers.ListField(child=serializers.FloatField(), allow_null=True)
        minzoom = serializers.IntegerField(allow_null=True)
        maxzoom = serializers.IntegerField(allow_null=True)
        attribution = serializers.CharField(allow_null=True)
        tiles = serializers.IntegerField(allow_null=True)
        bytes = serializers.IntegerField(allow_null=True)
        sectors = _Sector(many=True)
        precache = _Precache(allow_null=True)

        class Meta:
            ref_name = "Basemap"

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        basemap = loaded()
        if basemap is None:
            empty = dict.fromkeys(self.OutputSerializer().fields, None)
            data = {**empty, "available": False, "detail": NONE_LOADED, "sectors": []}
            return Response(self.OutputSerializer(data).data)
        info = basemap.info
        tiles = reverse("basemap-tile", kwargs={"z": 0, "x": 0, "y": 0, "fmt": info.format})
        template = tiles.replace("/0/0/0.", "/{z}/{x}/{y}.") + f"?v={info.version}"
        data = {
            "available": True,
            "detail": info.description or info.name,
            "name": info.name,
            "format": info.format,
            "content_type": info.content_type,
            "version": info.version,
            "tile_url": template,
            "bounds": list(info.bounds),
            "minzoom": info.minzoom,
            "maxzoom": info.maxzoom,
            "attribution": info.attribution,
            "tiles": info.tiles,
            "bytes": info.tile_bytes,
            "sectors": manifest.sector_tiles(basemap),
            "precache": manifest.precache_plan(basemap, request.user),
        }
        response = Response(self.OutputSerializer(data).data)
        response["Cache-Control"] = "private, no-cache"
        return response
