from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors, services
from billing.serializers import BillingSerializer, NumberPreferencesSerializer, UsageQuerySerializer, UsageSerializer
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.models import Tenant


class UsageView(APIView):
    """The account's calls, minutes, SMS, segments, numbers and costs per day, with the plan's inclusions and the
    overage over the days asked for (default: the current billing period so far)."""

    @extend_schema(parameters=[UsageQuerySerializer], responses=UsageSerializer)
    def get(self, request: Request) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tenant = current_tenant()
        subscription = selectors.subscription_of(tenant=tenant)
        usage = selectors.usage_for_period(
            tenant=tenant,
            subscription=subscription,
            first=query.validated_data.get("from"),
            last=query.validated_data.get("to"),
        )
        plan = subscription.plan if subscription else None
        body: dict[str, Any] = {
            "first": usage.first,
            "last": usage.last,
            "plan": plan.name if plan else None,
            "subscription_status": subscription.status if subscription else None,
            "currency": usage.currency,
            "totals": usage.totals(),
            "allowances": usage.allowances,
            "overage_cost": usage.overage_cost,
            "days": usage.days,
        }
        return Response(UsageSerializer(body).data)


class BillingView(APIView):
    """The account's plan, subscription (as Stripe last reported it), the provisioning of the plan's numbers and
    its invoices; admins set where the plan's numbers come from (PUT)."""

    write_role = Role.ADMIN

    @extend_schema(responses=BillingSerializer)
    def get(self, request: Request) -> Response:
        return Response(_billing(current_tenant()))

    @extend_schema(request=NumberPreferencesSerializer, responses=BillingSerializer)
    def put(self, request: Request) -> Response:
        preferences = NumberPreferencesSerializer(data=request.data)
        preferences.is_valid(raise_exception=True)
        tenant = current_tenant()
        services.number_preferences_save(
            tenant=tenant,
            country=preferences.validated_data["country"],
            area_code=preferences.validated_data["area_code"],
        )
        return Response(_billing(tenant))


def _billing(tenant: Tenant) -> dict[str, Any]:
    summary = selectors.billing_summary(tenant=tenant)
    profile = summary.profile
    body = {
        "plan": summary.subscription.plan if summary.subscription else None,
        "subscription": summary.subscription,
        "number_preferences": {"country": profile.number_country, "area_code": profile.number_area_code},
        "provisioning": summary.provisioning,
        "invoices": summary.invoices,
    }
    return dict(BillingSerializer(body).data)
