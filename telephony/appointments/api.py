from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import DomainError
from telephony.appointments import imports, selectors, services
from telephony.appointments.filters import AppointmentFilter
from telephony.appointments.models import Appointment, Notification, StaffMember
from telephony.appointments.serializers import (
    AppointmentCreateSerializer,
    AppointmentImportResultSerializer,
    AppointmentImportSerializer,
    AppointmentSerializer,
    AppointmentSettingsSerializer,
    AppointmentUpdateSerializer,
    NotificationSerializer,
    StaffMemberSerializer,
    StaffMemberWriteSerializer,
)
from telephony.idempotency import idempotent
from tenants.db import current_tenant

# As telephony.api's (not imported from there: the inbound SMS code, which telephony.api may come to import,
# imports this app's services).
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Same key within 24 h: the first answer, nothing booked again.",
)


def _validated(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    payload = serializer_class(data=request.data, **kwargs)
    payload.is_valid(raise_exception=True)
    return dict(payload.validated_data)


NOTIFY_RESPONSES = {
    202: NotificationSerializer,
    409: OpenApiResponse(description="Cancelled, completed or past."),
    422: OpenApiResponse(description="Refused (opted out, daily limit, no sender...)."),
}


class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Appointments, soonest first. Booking one sends its confirmation SMS (a refusal, such as an opted-out
    number, is recorded on the notification, not answered here); reminders go out at the settings' offsets.
    DELETE cancels: no more reminders, and what is still waiting to be sent is called off."""

    serializer_class = AppointmentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AppointmentFilter
    lookup_value_regex = "[0-9]+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Appointment]:
        return selectors.appointment_list()

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # The filters narrow the list; one appointment is found by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(
        request=AppointmentCreateSerializer, responses={201: AppointmentSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent("appointments")
    def create(self, request: Request) -> Response:
        data = _validated(AppointmentCreateSerializer, request)
        send_confirmation = data.pop("send_confirmation")
        appointment = services.appointment_create(
            tenant=current_tenant(), fields=services.AppointmentFields(**data), send_confirmation=send_confirmation
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AppointmentUpdateSerializer, responses=AppointmentSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        changes = _validated(AppointmentUpdateSerializer, request, partial=True)
        appointment = services.appointment_update(appointment=self.get_object(), changes=changes)
        return Response(AppointmentSerializer(appointment).data)

    @extend_schema(responses={204: OpenApiResponse(description="Cancelled.")})
    def destroy(self, request: Request, pk: str) -> Response:
        services.appointment_cancel(appointment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _notify(self, kind: str) -> Response:
        notification = services.appointment_notify(tenant=current_tenant(), appointment=self.get_object(), kind=kind)
        if notification.current_status == Notification.Status.FAILED:
            # Recorded (it shows among the appointment's notifications) and answered as the refusal it is.
            raise DomainError(notification.current_reason, code="notification-refused", status=422)
        return Response(NotificationSerializer(notification).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=NOTIFY_RESPONSES, summary="Send the confirmation SMS now")
    @action(detail=True, methods=["post"])
    def confirmation(self, request: Request, pk: str) -> Response:
        return self._notify(Notification.Kind.CONFIRMATION)

    @extend_schema(request=None, responses=NOTIFY_RESPONSES, summary="Send a reminder SMS now")
    @action(detail=True, methods=["post"])
    def reminder(self, request: Request, pk: str) -> Response:
        return self._notify(Notification.Kind.REMINDER)

    @extend_schema(responses=NotificationSerializer(many=True), summary="The appointment's notifications")
    @action(detail=True, methods=["get"], filter_backends=[])
    def notifications(self, request: Request, pk: str) -> Response:
        page = self.paginate_queryset(selectors.notification_list(appointment=self.get_object()))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": AppointmentImportSerializer},
        responses={201: AppointmentImportResultSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Import appointments from a CSV",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    @idempotent("appointments-import")
    def import_csv(self, request: Request) -> Response:
        data = _validated(AppointmentImportSerializer, request)
        result = services.appointments_import(
            tenant=current_tenant(),
            rows=imports.rows_from_upload(data["file"]),
            send_confirmations=data["send_confirmations"],
        )
        body = {
            "created": len(result.created),
            "appointment_ids": [appointment.pk for appointment in result.created],
            "invalid_rows": result.invalid,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AppointmentSettingsView(APIView):
    """Reminder offsets, the confirmation and reminder texts, staff notifications, the default time zone."""

    @extend_schema(responses=AppointmentSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(AppointmentSettingsSerializer(selectors.settings_get()).data)

    @extend_schema(request=AppointmentSettingsSerializer, responses=AppointmentSettingsSerializer)
    def patch(self, request: Request) -> Response:
        changes = _validated(AppointmentSettingsSerializer, request, partial=True)
        return Response(AppointmentSettingsSerializer(services.appointment_settings_update(changes=changes)).data)


class StaffMemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Who appointments are with; each is told of new bookings and replies by SMS and/or e-mail (settings)."""

    serializer_class = StaffMemberSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[StaffMember]:
        return selectors.staff_member_list()

    @extend_schema(request=StaffMemberWriteSerializer, responses={201: StaffMemberSerializer})
    def create(self, request: Request) -> Response:
        staff = services.staff_member_create(**_validated(StaffMemberWriteSerializer, request))
        return Response(StaffMemberSerializer(staff).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StaffMemberWriteSerializer, responses=StaffMemberSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        changes = _validated(StaffMemberWriteSerializer, request, partial=True)
        staff = services.staff_member_update(staff=self.get_object(), changes=changes)
        return Response(StaffMemberSerializer(staff).data)

    def perform_destroy(self, instance: StaffMember) -> None:
        services.staff_member_remove(staff=instance)
