"""The API's pages of results: every list is paginated, a client may ask for a smaller or larger
page up to 500 rows, and GeoJSON lists page as FeatureCollections."""

from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination as GisGeoJsonPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class GeoJsonPagination(GisGeoJsonPagination):
    """A page of GeoJSON features: a FeatureCollection with the count and the links.

    rest_framework_gis's own schema for it still requires `results` (which it renames to
    `features`) and nests a whole FeatureCollection under `features`; and it lets a client
    ask for every row in one page. The same page size limit as the other lists."""

    max_page_size = Pagination.max_page_size

    def get_paginated_response_schema(self, schema):
        links = {"type": "string", "format": "uri", "nullable": True}
        return {
            "allOf": [
                schema,  # the FeatureCollection of the serializer's features
                {
                    "type": "object",
                    "required": ["type", "count", "next", "previous", "features"],
                    "properties": {
                        "count": {"type": "integer", "minimum": 0},
                        "next": links,
                        "previous": links,
                    },
                },
            ]
        }
