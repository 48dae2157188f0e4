"""The liaison API's contacts: the list and a contact (shaped by the caller's access level,
every read of details logged), recording and changing one, and the counts per sector."""

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from liaison import selectors, services
from liaison.apis.base import NeverStored, require
from liaison.apis.serializers import (
    CONTACT_FOR_ROLE,
    ContactCountOutput,
    ContactFullOutput,
    ContactHotlineOutput,
    ContactInput,
    ContactListInput,
)
from liaison.models import Contact, ContactAccessLog
from liaison.selectors import Access, contact_access

security_log = logging.getLogger("missionapp.security")
REDACTION = (
    "What a caller sees depends on their role: liaison officers, coordinators and "
    "administrators get `ContactFull` (names, position, notes, every channel); monitors and "
    "team leaders get `ContactHotline` for contacts of their own sector only (party, "
    "organisation, sectors and hotline numbers; names, position, notes, phone numbers and "
    "e-mail addresses are redacted) and 404 for any other contact; headquarters and duty "
    "officers are refused (403) and use `/api/liaison/contacts/summary/` (counts only)."
)


def _contact_response(request, contact, status_code=status.HTTP_200_OK):
    """A contact's details, shaped by the caller's access, and the read logged."""
    access = contact_access(request.user)
    services.contact_read_log(user=request.user, contacts=[contact], via=ContactAccessLog.Via.API)
    if access == Access.FULL:
        data = ContactFullOutput(contact, context={"detail": True}).data
    else:
        data = ContactHotlineOutput(contact).data
    return Response(data, status=status_code)


class ContactListApi(NeverStored, generics.ListAPIView):
    """Contacts the caller may see (filters: `search`, `party`, `sector`)."""

    @property
    def ordering_fields(self):
        # Who sees no names cannot sort by them either: the order would tell them.
        if getattr(self, "swagger_fake_view", False):
            return ["name_latin"]
        return ["name_latin"] if selectors.can_keep_contacts(self.request.user) else []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Contact.objects.none()
        # Read as a serializer: `?sector=abc` (or an id no database column holds) is a 400
        # naming the parameter, not a filter silently dropped or an overflow.
        params = ContactListInput(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.contact_list(
            user=self.request.user,
            search=params.validated_data.get("search", ""),
            party=params.validated_data.get("party", ""),
            sector=params.validated_data.get("sector"),
        )

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):
            return ContactFullOutput
        if selectors.can_keep_contacts(self.request.user):
            return ContactFullOutput
        return ContactHotlineOutput

    @extend_schema(
        responses=PolymorphicProxySerializer(
            component_name="ContactListItemForRole",
            serializers=[ContactFullOutput, ContactHotlineOutput],
            resource_type_field_name=None,
            many=True,
        ),
        parameters=[
            OpenApiParameter("search", OpenApiTypes.STR, description="Name, position or unit."),
            OpenApiParameter("party", OpenApiTypes.STR, description="Party code."),
            OpenApiParameter("sector", OpenApiTypes.INT, description="Province id."),
        ],
        description=REDACTION + " Lists never include channels, except the hotline numbers "
        "a monitor sees (each such listing is logged as a read).",
    )
    def get(self, request, *args, **kwargs):
        require(selectors.can_see_contacts(request.user))
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if contact_access(request.user) == Access.HOTLINE:
            services.contact_read_log(user=request.user, contacts=page, via="api")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=ContactInput, responses={201: ContactFullOutput})
    def post(self, request):
        """Record a contact (liaison officers, coordinators, administrators)."""
        require(selectors.can_keep_contacts(request.user))
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = services.contact_create(by=request.user, **data.to_service(data.validated_data))
        contact = selectors.contact_get(user=request.user, pk=contact.pk)
        return _contact_response(request, contact, status.HTTP_201_CREATED)


class ContactDetailApi(NeverStored, APIView):
    def _contact(self, request, pk):
        require(selectors.can_see_contacts(request.user))
        contact = selectors.contact_get(user=request.user, pk=pk)
        if contact is None:
            # Another sector's contact does not exist for a monitor (no hint it is there), but
            # the attempt is worth an operator's attention.
            if Contact.objects.filter(pk=pk).exists():
                security_log.warning("hidden contact #%s asked for by %s: %s", pk,
                                     request.user.get_username(), request.path)  # fmt: skip
            raise NotFound()
        return contact

    @extend_schema(responses=CONTACT_FOR_ROLE, description=REDACTION + " Every read is logged.")
    def get(self, request, pk):
        return _contact_response(request, self._contact(request, pk))

    @extend_schema(request=ContactInput, responses=ContactFullOutput)
    def patch(self, request, pk):
        """Change a contact; `channels`, when given, replaces every channel."""
        require(selectors.can_keep_contacts(request.user))
        contact = self._contact(request, pk)
        data = ContactInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.contact_update(
            by=request.user, contact=contact, **data.to_service(data.validated_data)
        )
        return _contact_response(request, selectors.contact_get(user=request.user, pk=pk))


class ContactSummaryApi(NeverStored, APIView):
    @extend_schema(
        responses=ContactCountOutput(many=True),
        description="How many current contacts each party has per sector; no names. Every "
        "mission role may read it (headquarters and duty officers see only this).",
    )
    def get(self, request):
        require(selectors.can_see_contact_counts(request.user))
        return Response(ContactCountOutput(selectors.contact_counts(user=request.user),
                                           many=True).data)  # fmt: skip
