"""Core's API, mounted at /api/: device login and tokens, who am I, the geography layers."""

from django.urls import path

from core import apis
from core.basemap.views import BasemapApi

urlpatterns = [
    path("auth/login/", apis.DeviceLoginApi.as_view(), name="api-device-login"),
    path("auth/devices/", apis.DeviceTokenListApi.as_view(), name="api-devices"),
    path(
        "auth/devices/<str:token_key>/",
        apis.DeviceTokenRevokeApi.as_view(),
        name="api-device-revoke",
    ),
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("geography/provinces/", apis.ProvinceLayerApi.as_view(), name="api-provinces"),
    path("geography/border/", apis.BorderLayerApi.as_view(), name="api-border"),
    path("geography/settlements/", apis.SettlementLayerApi.as_view(), name="api-settlements"),
    path("geography/forward-bases/", apis.ForwardBaseLayerApi.as_view(), name="api-bases"),
    path(
        "geography/restricted-zones/",
        apis.RestrictedZoneLayerApi.as_view(),
        name="api-restricted-zones",
    ),
    path("geography/basemap/", BasemapApi.as_view(), name="api-basemap"),
    path("geography/locate/", apis.LocateApi.as_view(), name="api-locate"),
]
