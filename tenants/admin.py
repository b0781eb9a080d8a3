from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from tenants import services
from tenants.accounts.models import User
from tenants.forms import add_service_errors
from tenants.models import ApiKey, Domain, Tenant


class OnboardTenantForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=40, help_text="Subdomain: lowercase letters, digits and hyphens.")
    admin_email = forms.EmailField()
    admin_password = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave empty to get a set-password link instead."
    )


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "status", "schema_name", "api_rate_limit_per_minute", "max_users", "created_at"]
    list_filter = ["status"]
    search_fields = ["slug", "name"]
    readonly_fields = ["slug", "schema_name", "created_at"]
    fields = [
        "name",
        "slug",
        "schema_name",
        "status",
        "suspended_reason",
        "api_rate_limit_per_minute",
        "max_users",
        "max_api_keys",
        "created_at",
    ]
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).exclude(schema_name="public")

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # Deleting drops the schema and every record in it; that is not a one-click action.
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        form = OnboardTenantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = services.tenant_onboard(
                    name=data["name"],
                    slug=data["slug"],
                    admin_email=data["admin_email"],
                    admin_password=data["admin_password"] or None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                note = f"Tenant {result.tenant.slug} onboarded at {result.as_dict()['url']}. API key (shown once): {result.api_key}"
                if result.set_password_url:
                    note += f" — admin set-password link: {result.set_password_url}"
                self.message_user(request, note, messages.SUCCESS)
                return redirect(reverse("admin:tenants_tenant_change", args=[result.tenant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Onboard a tenant",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/tenants/onboard.html", context)

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_suspend(tenant=tenant, reason="Suspended by staff")
        self.message_user(request, f"{queryset.count()} tenant(s) suspended.")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_reactivate(tenant=tenant)
        self.message_user(request, f"{queryset.count()} tenant(s) reactivated.")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "tenant", "role", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["prefix", "name", "tenant__slug"]
    exclude = ["key_hash"]
    readonly_fields = [
        "tenant",
        "name",
        "prefix",
        "role",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by their tenant, which is the only party that may see the secret

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"{queryset.count()} key(s) revoked.")


class StaffUserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class StaffUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class StaffUserAdmin(DjangoUserAdmin):
    """Platform staff, in the public schema. Tenant users are managed in each tenant's portal."""

    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
