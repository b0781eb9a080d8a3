from django.db.models import QuerySet
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from telephony.api import IDEMPOTENCY_PARAMETER
from telephony.idempotency import idempotent
from telephony.serializers import CampaignSerializer
from tenants.db import current_tenant
from voice.conversations import selectors
from voice.conversations.models import Conversation
from voice.conversations.outbound import agent_call_place, agent_campaign_create
from voice.conversations.serializers import (
    AgentCallCreateSerializer,
    AgentCallSerializer,
    AgentCampaignCreateSerializer,
    CallResultSerializer,
    ConversationSummarySerializer,
)


class CallResultView(APIView):
    """A call with an AI agent: its transcript, analysis, recording and metadata (what the end-of-call webhook posts)."""

    @extend_schema(
        operation_id="v1_calls_result_retrieve",
        parameters=[
            OpenApiParameter(
                "reference", str, OpenApiParameter.PATH, description="The conversation's id (callId) or the call SID."
            )
        ],
        responses={200: CallResultSerializer, 404: OpenApiResponse(description="No such conversation here.")},
    )
    def get(self, request: Request, reference: str) -> Response:
        conversation = selectors.conversation_by_reference(reference)
        if conversation is None:
            raise Http404
        return Response(CallResultSerializer(selectors.call_result(conversation)).data)


class AIConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Conversations with AI agents (calls both ways and portal console sessions), newest first, with their analysis.
    One of them in full is GET /api/v1/calls/{id}/result/."""

    serializer_class = ConversationSummarySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = selectors.ConversationFilter

    def get_queryset(self) -> QuerySet[Conversation]:
        return selectors.conversation_list()


class AgentCallView(APIView):
    """Has an agent call a contact. Accepted at once (202); a worker places the call, and the agent talks when
    the contact answers. The contact's variables are available to the agent's prompt."""

    @extend_schema(
        operation_id="v1_agents_calls_create",
        request=AgentCallCreateSerializer,
        responses={202: AgentCallSerializer, 404: OpenApiResponse(description="No such agent here.")},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent("agent-calls")
    def post(self, request: Request, agent_id: int) -> Response:
        payload = AgentCallCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        placed = agent_call_place(
            tenant=current_tenant(), agent_id=agent_id, contact=data["contact"], from_=data.get("from_") or None
        )
        return Response(AgentCallSerializer(placed).data, status=status.HTTP_202_ACCEPTED)


class AgentCampaignView(APIView):
    """A campaign in which an agent calls each contact (accepted at once, 202; the calls go at the account's call
    rate). Follow, pause, resume or cancel it at /api/v1/campaigns/{id}/; contacts that cannot be called are
    among its invalid_rows."""

    @extend_schema(
        operation_id="v1_agents_campaigns_create",
        request=AgentCampaignCreateSerializer,
        responses={202: CampaignSerializer, 404: OpenApiResponse(description="No such agent here.")},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    @idempotent("agent-campaigns")
    def post(self, request: Request, agent_id: int) -> Response:
        payload = AgentCampaignCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        campaign = agent_campaign_create(
            tenant=current_tenant(),
            agent_id=agent_id,
            name=data["name"],
            contacts=data["contacts"],
            from_=data.get("from_") or None,
            senders=data.get("senders"),
        )
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_202_ACCEPTED)
