from rest_framework import serializers

from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.models import ApiKey, Tenant
from tenants.validators import SLUG_MAX_LENGTH


class TenantSerializer(serializers.ModelSerializer):
    domain = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "slug",
            "name",
            "status",
            "suspended_reason",
            "domain",
            "schema_name",
            "api_rate_limit_per_minute",
            "max_users",
            "max_api_keys",
            "created_at",
        ]
        read_only_fields = fields

    def get_domain(self, tenant: Tenant) -> str | None:
        domain = tenant.get_primary_domain()
        return domain.domain if domain else None


class OnboardingRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(max_length=SLUG_MAX_LENGTH)
    admin_email = serializers.EmailField()
    admin_password = serializers.CharField(required=False, write_only=True, min_length=8)


class OnboardingResultSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    domain = serializers.CharField()
    schema = serializers.CharField()
    url = serializers.URLField()
    admin_email = serializers.EmailField()
    api_key = serializers.CharField(help_text="Shown once; only its hash is stored.")
    set_password_url = serializers.URLField(allow_null=True)


class SuspendRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "role",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "is_active",
        ]
        read_only_fields = fields

    def get_is_active(self, api_key: ApiKey) -> bool:
        return api_key.is_usable()


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.OPERATOR)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.SerializerMethodField(help_text="Shown once; only its hash is stored.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields

    def get_key(self, api_key: ApiKey) -> str:
        return str(self.context["raw_key"])


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "is_active", "date_joined", "last_login"]
        read_only_fields = ["id", "email", "date_joined", "last_login"]


class UserInviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
