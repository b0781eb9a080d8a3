"""The portal's Billing page: plan, status, next invoice, usage against the plan's inclusions with a chart per
day, invoices, the plan's numbers being bought; admins subscribe (Stripe Checkout), manage the card (Customer
Portal) and set where the plan's numbers come from."""

from dataclasses import dataclass

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import selectors, services
from billing.forms import NumberPreferencesForm
from billing.models import Plan, StripeRedirect, Subscription
from billing.selectors import DayUsage
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import form_errors_text, portal_access, portal_redirect, portal_user

CHART_HEIGHT = 100
REDIRECT_REFRESH_SECONDS = 1


@dataclass(frozen=True)
class Bar:
    usage: DayUsage
    minutes_height: float
    segments_height: float

    @property
    def minutes_y(self) -> float:
        return CHART_HEIGHT - self.minutes_height

    @property
    def segments_y(self) -> float:
        return CHART_HEIGHT - self.segments_height


def _bars(days: list[DayUsage]) -> list[Bar]:
    most_minutes = max((day.minutes for day in days), default=0) or 1
    most_segments = max((day.segments for day in days), default=0) or 1
    return [
        Bar(day, CHART_HEIGHT * day.minutes / most_minutes, CHART_HEIGHT * day.segments / most_segments) for day in days
    ]


@portal_access()
def billing_overview(request: HttpRequest) -> HttpResponse:
    summary = selectors.billing_summary(tenant=current_tenant())
    subscription, profile = summary.subscription, summary.profile
    usage = selectors.usage_for_period(tenant=current_tenant(), subscription=subscription)
    context = {
        "subscription": subscription,
        "usage": usage,
        "totals": usage.totals(),
        "costs": selectors.costs_by_currency(usage.days),
        "bars": _bars(usage.days),
        "chart_height": CHART_HEIGHT,
        "plans": selectors.plans_offered(),
        "invoices": summary.invoices,
        "provisioning": summary.provisioning,
        "preferences_form": NumberPreferencesForm(
            initial={"number_country": profile.number_country, "number_area_code": profile.number_area_code}
        ),
        "is_customer": bool(profile.stripe_customer_id),
        "live_statuses": Subscription.LIVE,
        "can_manage": portal_user(request).has_role(Role.ADMIN),
        "checkout": request.GET.get("checkout", ""),
    }
    return render(request, "billing/overview.html", context)


def _return_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("billing-overview"))


def _requested_by(request: HttpRequest) -> str:
    return str(getattr(portal_user(request), "email", "") or "")


@require_POST
@portal_access(Role.ADMIN)
def billing_checkout(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan, pk=plan_id, is_public=True)
    try:
        redirect = services.checkout_request(
            tenant=current_tenant(), plan=plan, return_url=_return_url(request), requested_by=_requested_by(request)
        )
    except services.BillingRefused as error:
        flash.error(request, error.message)
        return portal_redirect(request, "billing-overview")
    return portal_redirect(request, "billing-redirect", redirect_id=redirect.pk)


@require_POST
@portal_access(Role.ADMIN)
def billing_portal(request: HttpRequest) -> HttpResponse:
    try:
        redirect = services.portal_request(
            tenant=current_tenant(), return_url=_return_url(request), requested_by=_requested_by(request)
        )
    except services.BillingRefused as error:
        flash.error(request, error.message)
        return portal_redirect(request, "billing-overview")
    return portal_redirect(request, "billing-redirect", redirect_id=redirect.pk)


@portal_access(Role.ADMIN)
def billing_redirect(request: HttpRequest, redirect_id: int) -> HttpResponse:
    """Waits for the worker to get the session's URL from Stripe, then sends the user there."""
    redirect = get_object_or_404(StripeRedirect, pk=redirect_id, tenant=current_tenant())
    if redirect.status == StripeRedirect.Status.READY:
        return HttpResponseRedirect(redirect.url)
    return render(request, "billing/redirect.html", {"redirect": redirect, "refresh_seconds": REDIRECT_REFRESH_SECONDS})


@require_POST
@portal_access(Role.ADMIN)
def billing_preferences(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    form = NumberPreferencesForm(request.POST)
    if form.is_valid():
        services.number_preferences_save(
            tenant=tenant,
            country=form.cleaned_data["number_country"],
            area_code=form.cleaned_data["number_area_code"],
        )
        flash.success(request, "Number preferences saved.")
    else:
        flash.error(request, form_errors_text(form))
    return portal_redirect(request, "billing-overview")
