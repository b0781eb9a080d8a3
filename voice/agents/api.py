from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.accounts.roles import Role
from voice.agents import selectors, services
from voice.agents.models import AGENT_FIELDS, Agent, ProviderCredential
from voice.agents.serializers import (
    AgentSerializer,
    AgentVersionSerializer,
    AgentVersionSummarySerializer,
    ProviderCredentialSerializer,
)


def _who(request: Request) -> str:
    return str(getattr(request.user, "email", "") or request.user)


def _config_fields(validated: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in validated.items() if name in AGENT_FIELDS}


class AgentViewSet(viewsets.ModelViewSet):
    """Your AI voice agents. Each change is saved as a new version; calls record the version they ran."""

    serializer_class = AgentSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[Agent]:
        return selectors.agent_list()

    def perform_create(self, serializer: AgentSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.agent_create(
            fields=_config_fields(serializer.validated_data),
            created_by=_who(self.request),
            make_default=bool(serializer.validated_data.get("is_default")),
        )

    def perform_update(self, serializer: AgentSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.agent_update(
            agent=self.get_object(),
            fields=_config_fields(serializer.validated_data),
            created_by=_who(self.request),
            is_default=serializer.validated_data.get("is_default"),
        )

    def perform_destroy(self, instance: Agent) -> None:
        services.agent_delete(agent=instance)

    @extend_schema(request=None, responses=AgentSerializer)
    @action(detail=True, methods=["post"], url_path="make-default")
    def make_default(self, request: Request, pk: str) -> Response:
        """Makes this agent the one that answers your numbers that name no agent."""
        agent = services.agent_make_default(agent=self.get_object())
        return Response(AgentSerializer(agent).data)

    @extend_schema(responses=AgentVersionSummarySerializer(many=True))
    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str) -> Response:
        """The agent's versions, newest first."""
        versions = selectors.agent_version_list(agent=self.get_object())
        page = self.paginate_queryset(versions)
        return self.get_paginated_response(AgentVersionSummarySerializer(page, many=True).data)

    @extend_schema(
        responses=AgentVersionSerializer,
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH, description="The version number.")],
    )
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request: Request, pk: str, number: str) -> Response:
        """One version, with the whole configuration it had."""
        found = get_object_or_404(selectors.agent_version_list(agent=self.get_object()), number=int(number))
        return Response(AgentVersionSerializer(found).data)


class ProviderCredentialViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Your own LLM provider keys (OpenAI, Anthropic, OpenRouter, Azure OpenAI). A key is stored encrypted and never
    shown again: only its last 4 characters. Creating a key for a provider replaces the one it had."""

    serializer_class = ProviderCredentialSerializer
    lookup_field = "provider"
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[ProviderCredential]:
        return selectors.provider_credential_list()

    @extend_schema(request=ProviderCredentialSerializer, responses={201: ProviderCredentialSerializer})
    def create(self, request: Request) -> Response:
        payload = ProviderCredentialSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        credential = services.provider_credential_save(**payload.validated_data)
        return Response(ProviderCredentialSerializer(credential).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProviderCredentialSerializer, responses=ProviderCredentialSerializer)
    def update(self, request: Request, provider: str) -> Response:
        """Replaces the key for `provider` (its provider stays)."""
        get_object_or_404(self.get_queryset(), provider=provider)
        payload = ProviderCredentialSerializer(data={**dict(request.data), "provider": provider})
        payload.is_valid(raise_exception=True)
        credential = services.provider_credential_save(**payload.validated_data)
        return Response(ProviderCredentialSerializer(credential).data)

    def perform_destroy(self, instance: ProviderCredential) -> None:
        services.provider_credential_delete(credential=instance)
