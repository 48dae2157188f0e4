"""Core API: device login and tokens, who am I, the mission geography layers."""

from django.contrib.gis.geos import Point
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from core import security, selectors, services
from core.api.fields import LatitudeField, LongitudeField
from core.dates import BoundedDateTimeSerializerField
from core.models import (
    BorderSegment,
    DeviceToken,
    ForwardBase,
    Province,
    RestrictedZone,
    Settlement,
)


class LoginThrottle(AnonRateThrottle):
    """20 device logins a minute per client address, counted in the shared cache. The
    address is core.security's (X-Forwarded-For only from a trusted proxy): DRF's own reads
    X-Forwarded-For from anyone, so a new value each time escaped the limit."""

    rate = "20/min"

    def get_ident(self, request):
        return security.client_address(request)


class DeviceLoginApi(APIView):
    """Log a device in and get its API token (shown once; expires; revocable)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"})
        device_name = serializers.CharField(max_length=100)
        otp_code = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=40,
            help_text="The code of the authenticator app (or a recovery code), for accounts "
            "that log in with a second factor (coordinators, duty officers, liaison officers, "
            "headquarters, administrators).",
        )

        class Meta:
            ref_name = "DeviceLoginInput"

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        token_key = serializers.CharField()
        device_name = serializers.CharField()
        expiry = serializers.DateTimeField()
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())

        class Meta:
            ref_name = "DeviceLogin"

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token, secret = services.device_token_issue(request=request, **data.validated_data)
        except services.LoginLockedOut as locked:
            wait = max(1, int((locked.until - timezone.now()).total_seconds()))
            raise Throttled(wait=wait, detail=str(locked)) from None
        out = self.OutputSerializer(
            {
                "token": secret,
                "token_key": token.token_key,
                "device_name": token.device_name,
                "expiry": token.expiry,
                "username": token.user.get_username(),
                "roles": token.user.role_names,
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


class DeviceTokenOutput(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = DeviceToken
        fields = ["token_key", "device_name", "created", "expiry", "current"]

    def get_current(self, token) -> bool:
        auth = self.context["request"].auth
        return auth is not None and getattr(auth, "pk", None) == token.pk


class DeviceTokenListApi(generics.ListAPIView):
    """The caller's own devices."""

    serializer_class = DeviceTokenOutput
    filter_backends = []

    def get_queryset(self):
        return DeviceToken.objects.filter(user=self.request.user).order_by("-created")


class DeviceTokenRevokeApi(APIView):
    """Revoke one of the caller's devices (a lost tablet), or `current` for this one."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, token_key):
        tokens = DeviceToken.objects.filter(user=request.user)
        if token_key == "current":
            if request.auth is None:
                return Response(status=status.HTTP_204_NO_CONTENT)
            token = tokens.get(pk=request.auth.pk)
        else:
            token = generics.get_object_or_404(tokens, token_key=token_key)
        services.device_token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        full_name = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        forward_base = serializers.CharField(allow_null=True)

        class Meta:
            ref_name = "Me"

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        user = request.user
        return Response(
            self.OutputSerializer(
                {
                    "username": user.get_username(),
                    "full_name": user.get_full_name(),
                    "roles": user.role_names,
                    "forward_base": user.forward_base.name if user.forward_base_id else None,
                }
            ).data
        )


# --- Geography layers (GeoJSON): what the maps draw instead of tiles ---------------------------


class ProvinceLayerApi(generics.ListAPIView):
    class OutputSerializer(GeoFeatureModelSerializer):
        class Meta:
            ref_name = "Province"
            model = Province
            geo_field = "geom"
            fields = ["id", "name", "name_hy", "iso_code", "is_sector"]

    serializer_class = OutputSerializer
    queryset = Province.objects.order_by("name")
    pagination_class = None
    filterset_fields = ["is_sector"]


class BorderLayerApi(generics.ListAPIView):
    class OutputSerializer(GeoFeatureModelSerializer):
        province = serializers.CharField(source="province.name")

        class Meta:
            ref_name = "BorderSegment"
            model = BorderSegment
            geo_field = "geom"
            fields = ["id", "segment", "province", "length_km", "is_international"]

    serializer_class = OutputSerializer
    queryset = BorderSegment.objects.select_related("province").order_by("id")
    pagination_class = None
    filterset_fields = ["is_international"]


class SettlementLayerApi(generics.ListAPIView):
    class OutputSerializer(GeoFeatureModelSerializer):
        province = serializers.CharField(source="province.name", allow_null=True)

        class Meta:
            ref_name = "Settlement"
            model = Settlement
            geo_field = "location"
            fields = ["id", "name", "province", "country", "population"]

    serializer_class = OutputSerializer
    queryset = Settlement.objects.select_related("province").order_by("name")
    pagination_class = None


class ForwardBaseLayerApi(generics.ListAPIView):
    class OutputSerializer(GeoFeatureModelSerializer):
        province = serializers.CharField(source="province.name")

        class Meta:
            ref_name = "ForwardBase"
            model = ForwardBase
            geo_field = "location"
            fields = ["id", "name", "code", "province"]

    serializer_class = OutputSerializer
    queryset = ForwardBase.objects.select_related("province").order_by("name")
    pagination_class = None


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("at", OpenApiTypes.DATETIME, description="Default: now.")]
    )
)
class RestrictedZoneLayerApi(generics.ListAPIView):
    """Restricted zones in force now (or at `?at=`)."""

    class OutputSerializer(GeoFeatureModelSerializer):
        class Meta:
            ref_name = "RestrictedZone"
            model = RestrictedZone
            geo_field = "geom"
            fields = ["id", "name", "reason", "valid_from", "valid_until"]

    class AtInput(serializers.Serializer):
        at = BoundedDateTimeSerializerField(required=False)

        class Meta:
            ref_name = "RestrictedZonesAtInput"

    serializer_class = OutputSerializer
    pagination_class = None
    filter_backends = []

    def get_queryset(self):
        # Read as a serializer, so a bad or out-of-range `at` is a 400 naming it.
        params = self.AtInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.restricted_zones_active(params.validated_data.get("at")).order_by("id")


class LocateApi(APIView):
    """Where is this point, in the mission's words?"""

    class InputSerializer(serializers.Serializer):
        lat = LatitudeField()
        lon = LongitudeField()

        class Meta:
            ref_name = "LocateInput"

    @extend_schema(
        parameters=[InputSerializer],
        responses=inline_serializer(
            "Location",
            {
                "in_mission_area": serializers.BooleanField(),
                "sector": serializers.CharField(allow_null=True),
                "province": serializers.CharField(allow_null=True),
                "distance_to_border_km": serializers.FloatField(),
                "nearest_settlement": serializers.CharField(allow_null=True),
                "bearing_from_settlement": serializers.CharField(allow_null=True),
                "distance_from_settlement_km": serializers.FloatField(allow_null=True),
                "phrase": serializers.CharField(),
            },
        ),
    )
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        point = Point(data.validated_data["lon"], data.validated_data["lat"], srid=4326)
        province = selectors.province_at(point)
        relative = selectors.nearest_settlement(point)
        return Response(
            {
                "in_mission_area": bool(province and province.is_sector),
                "sector": province.name if province and province.is_sector else None,
                "province": province.name if province else None,
                "distance_to_border_km": round(selectors.distance_to_border_km(point), 2),
                "nearest_settlement": relative.settlement.name if relative else None,
                "bearing_from_settlement": relative.direction if relative else None,
                "distance_from_settlement_km": round(relative.distance_km, 2) if relative else None,
                "phrase": relative.phrase(province) if relative else "",
            }
        )
