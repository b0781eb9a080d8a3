from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from telephony.idempotency import KEY_HEADER, idempotent
from telephony.numbers import selectors, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.serializers import (
    AvailableNumberSerializer,
    AvailableSearchSerializer,
    PhoneNumberPurchaseSerializer,
    PhoneNumberSerializer,
    PhoneNumberUpdateSerializer,
)
from tenants.accounts.roles import Role
from tenants.db import current_tenant

IDEMPOTENCY_KEY = OpenApiParameter(
    KEY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Same key within 24 h: the first answer, nothing bought again.",
)


class PhoneNumberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Your phone numbers: search what Twilio has for sale, buy, set up what answers them, release.

    Buying and releasing take a moment at Twilio: both answer 202 with the number as it is (pending,
    releasing), and `status` says when it is done (active, released) or why it failed (`status_detail`)."""

    serializer_class = PhoneNumberSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[PhoneNumber]:
        status_filter = self.request.query_params.get("status") if self.action == "list" else None
        if status_filter is not None and status_filter not in PhoneNumber.Status.values:
            choices = ", ".join(PhoneNumber.Status.values)
            raise ValidationError({"status": [f"'{status_filter}' is not a status ({choices})."]})
        return selectors.number_list(status=status_filter)

    def _represent(self, numbers: list[PhoneNumber]) -> list[dict[str, Any]]:
        """The numbers as the API shows them, with the settings that serve them read in one query."""
        context = {**self.get_serializer_context(), "settings_by_number": selectors.settings_by_number(numbers)}
        return list(PhoneNumberSerializer(numbers, many=True, context=context).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=PhoneNumber.Status.values, description="Only numbers in this status.")
        ]
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # the API always paginates (config.rest)
        return self.get_paginated_response(self._represent(list(page)))

    def retrieve(self, request: Request, pk: str) -> Response:
        number = self.get_object()
        return Response(self._represent([number])[0])

    @extend_schema(
        request=PhoneNumberPurchaseSerializer, responses={202: PhoneNumberSerializer}, parameters=[IDEMPOTENCY_KEY]
    )
    @idempotent("numbers")
    def create(self, request: Request) -> Response:
        """Buys a number: the one given, or the first Twilio offers for the type, country and area code."""
        payload = PhoneNumberPurchaseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        wanted = payload.validated_data
        number = services.number_purchase_request(
            tenant=current_tenant(),
            phone_number=wanted.get("phone_number"),
            country=wanted["country"],
            area_code=wanted.get("area_code"),
            number_type=wanted["type"],
            friendly_name=wanted["friendly_name"],
            reason=PhoneNumber.Reason.API,
        )
        return Response(self._represent([number])[0], status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=PhoneNumberUpdateSerializer, responses=PhoneNumberSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        number = self.get_object()
        payload = PhoneNumberUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        number = services.number_update(tenant=current_tenant(), number=number, **payload.validated_data)
        return Response(self._represent([number])[0])

    @extend_schema(responses={202: PhoneNumberSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        """Releases the number at Twilio (a worker does it; the answer is 202). It stays in the list as released."""
        number = services.number_release_request(number=self.get_object())
        return Response(self._represent([number])[0], status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[AvailableSearchSerializer], responses=AvailableNumberSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def available(self, request: Request) -> Response:
        """Numbers Twilio has for sale now, with their monthly cost (not paged: Twilio answers one page)."""
        query = AvailableSearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = selectors.numbers_for_sale(tenant=current_tenant(), query=query.validated_data)
        return Response(AvailableNumberSerializer(found, many=True).data)
