from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import selectors, services
from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.models import ApiKey, Tenant
from tenants.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    OnboardingRequestSerializer,
    OnboardingResultSerializer,
    SuspendRequestSerializer,
    TenantSerializer,
    UserInviteSerializer,
    UserSerializer,
)


class CurrentTenantView(APIView):
    @extend_schema(responses=TenantSerializer, summary="The tenant this host and key belong to")
    def get(self, request: Request) -> Response:
        return Response(TenantSerializer(current_tenant()).data)


# The keys are read through the tenant (selectors.api_key_list), which the schema generator has none of.
KEY_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema_view(retrieve=extend_schema(parameters=[KEY_ID]), destroy=extend_schema(parameters=[KEY_ID]))
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiKeySerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[ApiKey]:
        return selectors.api_key_list(tenant=current_tenant())

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(
            tenant=current_tenant(), created_by=str(request.user), **payload.validated_data
        )
        return Response(
            ApiKeyCreatedSerializer(api_key, context={"raw_key": raw_key}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses={204: OpenApiResponse(description="Revoked; the key stops working at once.")})
    def destroy(self, request: Request, pk: str) -> Response:
        api_key: ApiKey = self.get_object()
        services.api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = UserSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[User]:
        return selectors.user_list()

    @extend_schema(request=UserInviteSerializer, responses={201: UserSerializer}, summary="Invite a user by email")
    def create(self, request: Request) -> Response:
        payload = UserInviteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_invite(tenant=current_tenant(), **payload.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserSerializer, responses=UserSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        user: User = self.get_object()
        serializer = UserSerializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    @extend_schema(responses={204: OpenApiResponse(description="Deactivated; the user can no longer sign in.")})
    def destroy(self, request: Request, pk: str) -> Response:
        services.user_deactivate(user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class StaffTenantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Platform staff only, on the public host: onboarding, suspension, reactivation."""

    serializer_class = TenantSerializer
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [IsAdminUser]
    lookup_field = "slug"
    queryset = Tenant.objects.exclude(schema_name="public").prefetch_related("domains")

    @extend_schema(
        request=OnboardingRequestSerializer, responses={201: OnboardingResultSerializer}, summary="Onboard a tenant"
    )
    def create(self, request: Request) -> Response:
        payload = OnboardingRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.tenant_onboard(**payload.validated_data)
        return Response(OnboardingResultSerializer(result.as_dict()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SuspendRequestSerializer, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, slug: str) -> Response:
        payload = SuspendRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        tenant = services.tenant_suspend(tenant=self.get_object(), reason=payload.validated_data["reason"])
        return Response(TenantSerializer(tenant).data)

    @extend_schema(request=None, responses=TenantSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, slug: str) -> Response:
        tenant = services.tenant_reactivate(tenant=self.get_object())
        return Response(TenantSerializer(tenant).data)
