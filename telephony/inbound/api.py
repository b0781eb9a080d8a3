from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from telephony.inbound import selectors, services
from telephony.inbound.models import CallFlow, NumberSettings, Recording
from telephony.inbound.serializers import (
    CallFlowSerializer,
    ConversationSerializer,
    InboundSettingsSerializer,
    NumberSettingsSerializer,
    RecordingSerializer,
)
from telephony.models import Communication
from telephony.policies import PolicyError
from telephony.serializers import CommunicationSerializer
from tenants.accounts.roles import Role
from tenants.db import current_tenant


class CallFlowViewSet(viewsets.ModelViewSet):
    """What calls to your numbers hear and where they go: messages, forwards, voicemail, business hours, menus."""

    serializer_class = CallFlowSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[CallFlow]:
        return selectors.call_flow_list()


class NumberSettingsViewSet(viewsets.ModelViewSet):
    """What each of your numbers does with calls (its call flow) and SMS (auto-reply, forwarding)."""

    serializer_class = NumberSettingsSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[NumberSettings]:
        return selectors.number_settings_list()

    def perform_create(self, serializer: NumberSettingsSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.number_settings_save(tenant=current_tenant(), **serializer.validated_data)

    def perform_update(self, serializer: NumberSettingsSerializer) -> None:  # type: ignore[override]
        current: NumberSettings = self.get_object()
        fields = dict(serializer.validated_data)
        number = fields.pop("phone_number", current.phone_number)
        if number != current.phone_number:
            raise PolicyError(
                "A number's settings stay with the number; create settings for the other one.",
                code="number-fixed",
                field="phone_number",
            )
        serializer.instance = services.number_settings_save(tenant=current_tenant(), phone_number=number, **fields)


class InboundSettingsView(APIView):
    """Your account's settings for what comes in: time zone (business hours), HELP text, recording retention."""

    read_role = Role.VIEWER
    write_role = Role.ADMIN

    @extend_schema(responses=InboundSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(InboundSettingsSerializer(selectors.inbound_settings()).data)

    @extend_schema(request=InboundSettingsSerializer, responses=InboundSettingsSerializer)
    def patch(self, request: Request) -> Response:
        payload = InboundSettingsSerializer(selectors.inbound_settings(), data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        payload.save()
        return Response(payload.data)


class RecordingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Call recordings (voicemail, recorded calls), kept in your account's own storage."""

    serializer_class = RecordingSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[Recording]:
        return selectors.recording_list()

    @extend_schema(responses={(200, "audio/wav"): OpenApiTypes.BINARY, 404: OpenApiResponse(description="Not here")})
    @action(detail=True, methods=["get"])
    def media(self, request: Request, pk: str) -> FileResponse:
        recording = get_object_or_404(self.get_queryset(), pk=pk, status=Recording.Status.STORED)
        return FileResponse(
            recording.file.open("rb"), content_type="audio/wav", filename=f"{recording.recording_sid}.wav"
        )

    @extend_schema(responses={202: RecordingSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        """Deletes the recording here and at Twilio (a worker does it; the answer is 202)."""
        recording = self.get_object()
        services.recording_delete_request(recording=recording)
        return Response(RecordingSerializer(recording).data, status=status.HTTP_202_ACCEPTED)


class ConversationViewSet(viewsets.ViewSet):
    """SMS threads, one per contact number, both directions. Reply with POST /api/v1/messages/."""

    lookup_field = "contact"

    @extend_schema(responses=ConversationSerializer(many=True))
    def list(self, request: Request) -> Response:
        latest = selectors.conversation_list()
        return Response(ConversationSerializer(latest, many=True).data)

    @extend_schema(
        operation_id="v1_conversations_retrieve",
        parameters=[
            OpenApiParameter("contact", str, OpenApiParameter.PATH, description="The contact's number, E.164.")
        ],
        responses=CommunicationSerializer(many=True),
    )
    def retrieve(self, request: Request, contact: str) -> Response:
        thread: QuerySet[Communication] = selectors.conversation_messages(contact)
        return Response(CommunicationSerializer(thread, many=True).data)
