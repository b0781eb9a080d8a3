from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from telephony import campaigns, records, selectors, services
from telephony.filters import ChannelCommunicationFilter, CommunicationFilter
from telephony.idempotency import idempotent
from telephony.models import Campaign, Communication, OptOut, PlatformError, SenderNumber
from telephony.registry import services as registry_services
from telephony.registry.models import TwilioAccount
from telephony.serializers import (
    CallCreateSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    CommunicationSerializer,
    DailyActivityQuerySerializer,
    DayActivitySerializer,
    MessageCreateSerializer,
    OptOutAddSerializer,
    OptOutSerializer,
    OwnCredentialsSerializer,
    PlatformErrorSerializer,
    SenderNumberRegisterSerializer,
    SenderNumberSerializer,
    TwilioAccountSerializer,
)
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from voice.models import VoiceMessage
from voice.selectors import voice_message_sendable_list

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Same key within 24 h: the first answer, nothing sent again.",
)


def _voice_message(voice_message_id: int | None) -> VoiceMessage | None:
    if not voice_message_id:
        return None
    message = voice_message_sendable_list().filter(pk=voice_message_id).first()
    if message is None:
        raise exceptions.ValidationError({"voice_message_id": [f"No active voice message with id {voice_message_id}."]})
    return message


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return dict(payload.validated_data)


def _send_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """What an SMS and a call are sent with alike."""
    return {
        "tenant": current_tenant(),
        "to": data["to"],
        "from_": data.get("from_") or None,
        "voice_message": _voice_message(data.get("voice_message_id")),
        "variables": data["variables"],
        "send_at": data["send_at"],
    }


class FiltersOnListOnly(viewsets.GenericViewSet):
    """The log's filters narrow a list; one record (retrieve, cancel) is found by its id alone."""

    filter_backends = [DjangoFilterBackend]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset


class _CommunicationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FiltersOnListOnly):
    serializer_class = CommunicationSerializer
    filterset_class = ChannelCommunicationFilter
    channel: str

    def get_queryset(self) -> QuerySet[Communication]:
        return selectors.communication_list(channel=self.channel)

    @extend_schema(
        request=None, responses={200: CommunicationSerializer, 409: OpenApiResponse(description="Too late to cancel.")}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        communication = services.communication_cancel(communication=self.get_object())
        return Response(CommunicationSerializer(communication).data)


class MessageViewSet(_CommunicationViewSet):
    """Outbound SMS. Accepted at once (202) and sent by a worker."""

    channel = Communication.Channel.SMS

    @extend_schema(
        request=MessageCreateSerializer, responses={202: CommunicationSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent("messages")
    def create(self, request: Request) -> Response:
        data = _validated(MessageCreateSerializer, request)
        communication = services.sms_send(**_send_arguments(data), body=data.get("body"), media_urls=data["media_urls"])
        return Response(CommunicationSerializer(communication).data, status=status.HTTP_202_ACCEPTED)


class CallViewSet(_CommunicationViewSet):
    """Outbound calls that speak a voice message (or given text). Accepted at once (202), placed by a worker."""

    channel = Communication.Channel.CALL

    @extend_schema(
        request=CallCreateSerializer, responses={202: CommunicationSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent("calls")
    def create(self, request: Request) -> Response:
        data = _validated(CallCreateSerializer, request)
        communication = services.call_place(
            **_send_arguments(data),
            text=data.get("text"),
            record=data["record"],
            machine_detection=data["machine_detection"],
        )
        return Response(CommunicationSerializer(communication).data, status=status.HTTP_202_ACCEPTED)


class CommunicationLogViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FiltersOnListOnly):
    """Every call and SMS, both directions: the communication log."""

    serializer_class = CommunicationSerializer
    filterset_class = CommunicationFilter

    def get_queryset(self) -> QuerySet[Communication]:
        return selectors.communication_list()


class PlatformErrorViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Failures on the platform's side for this tenant (admins only)."""

    serializer_class = PlatformErrorSerializer
    read_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[PlatformError]:
        return selectors.platform_error_list()


class OptOutViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Numbers that get no SMS from this account: they replied STOP, Twilio refused them (21610), or they were
    added here. Only those added here can be removed here."""

    serializer_class = OptOutSerializer

    def get_queryset(self) -> QuerySet[OptOut]:
        return selectors.opt_out_list()

    @extend_schema(request=OptOutAddSerializer, responses={201: OptOutSerializer})
    def create(self, request: Request) -> Response:
        payload = OptOutAddSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        opt_out = records.opt_out_add(phone_number=payload.validated_data["phone_number"], source=OptOut.Source.MANUAL)
        return Response(OptOutSerializer(opt_out).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Removed."),
            409: OpenApiResponse(description="They opted out themselves."),
        }
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        records.opt_out_remove(opt_out=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SenderNumberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Numbers the tenant sends from. A registered number is pending, and refused as a sender, until Twilio has
    confirmed that the tenant's account owns it (or has it as a verified caller ID); registering it again checks
    it again."""

    serializer_class = SenderNumberSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[SenderNumber]:
        return selectors.sender_number_list()

    @extend_schema(request=SenderNumberRegisterSerializer, responses={202: SenderNumberSerializer})
    def create(self, request: Request) -> Response:
        payload = SenderNumberRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sender = services.sender_number_register(**payload.validated_data)
        return Response(SenderNumberSerializer(sender).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance: SenderNumber) -> None:
        services.sender_number_remove(sender=instance)


class TwilioAccountView(APIView):
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(responses=TwilioAccountSerializer)
    def get(self, request: Request) -> Response:
        account = get_object_or_404(TwilioAccount, tenant=current_tenant())
        return Response(TwilioAccountSerializer(account).data)

    @extend_schema(
        request=OwnCredentialsSerializer,
        responses={202: TwilioAccountSerializer},
        summary="Use your own Twilio account",
    )
    def put(self, request: Request) -> Response:
        payload = OwnCredentialsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        account = registry_services.twilio_account_set_own_credentials(
            tenant=current_tenant(), **payload.validated_data
        )
        return Response(TwilioAccountSerializer(account).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: TwilioAccountSerializer}, summary="Use a subaccount of the platform")
    def delete(self, request: Request) -> Response:
        account = registry_services.twilio_account_request_subaccount(tenant=current_tenant())
        return Response(TwilioAccountSerializer(account).data, status=status.HTTP_202_ACCEPTED)


class CampaignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk sends with live progress; pause, resume or cancel while they run."""

    serializer_class = CampaignSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Campaign]:
        return selectors.campaign_list()

    @extend_schema(
        request=CampaignCreateSerializer, responses={202: CampaignSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    @idempotent("campaigns")
    def create(self, request: Request) -> Response:
        payload = CampaignCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        recipients = (
            campaigns.recipients_from_upload(data["file"])
            if data.get("file")
            else campaigns.recipients_from_json(data["recipients"])
        )
        campaign = campaigns.campaign_create(
            tenant=current_tenant(),
            name=data["name"],
            channel=data["channel"],
            recipients=recipients,
            body=data["body"],
            voice_message=_voice_message(data.get("voice_message_id")),
            from_=data.get("from_") or None,
            senders=data.get("senders"),
            send_at=data["send_at"],
        )
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_202_ACCEPTED)

    def _transition(self, change: Callable[..., Campaign]) -> Response:
        campaign = change(campaign=self.get_object())
        # Read again: canceling changes the counts the annotations were made of.
        return Response(CampaignSerializer(self.get_queryset().get(pk=campaign.pk)).data)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        return self._transition(campaigns.campaign_pause)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._transition(campaigns.campaign_resume)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return self._transition(campaigns.campaign_cancel)


class DailyActivityView(APIView):
    """Calls and SMS per day (the account's days, in its time zone), by stage, with what they cost."""

    @extend_schema(parameters=[DailyActivityQuerySerializer], responses=DayActivitySerializer(many=True))
    def get(self, request: Request) -> Response:
        query = DailyActivityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = selectors.daily_activity(days=query.validated_data["days"], until=timezone.localdate())
        return Response(DayActivitySerializer(days, many=True).data)
