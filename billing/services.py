"""Billing's writes from the portal and the API: Checkout and Customer Portal redirects, number preferences."""

from django.db import transaction

from billing import tasks
from billing.models import BillingProfile, Plan, StripeRedirect, Subscription
from config.errors import DomainError
from tenants.models import Tenant


class BillingRefused(DomainError):
    status = 409
    code = "billing-refused"


def checkout_request(*, tenant: Tenant, plan: Plan, return_url: str, requested_by: str) -> StripeRedirect:
    """A Checkout session for the plan, asked for from Stripe by a worker; the portal waits for its URL."""
    if not plan.is_public:
        raise BillingRefused(f"The plan {plan.name} is not offered.", errors={"plan": ["This plan is not offered."]})
    subscription = Subscription.objects.filter(tenant=tenant).first()
    if subscription is not None and subscription.status in Subscription.LIVE:
        # A second Checkout would start a second subscription, billed as well: plans change in the Customer Portal.
        raise BillingRefused(
            f"This account's subscription is {subscription.get_status_display().lower()}: change its plan with "
            "Manage card and subscription (a second Checkout would be billed as well).",
            code="already-subscribed",
            errors={"plan": ["Already subscribed: change the plan in the Customer Portal."]},
        )
    return _redirect(
        tenant=tenant, kind=StripeRedirect.Kind.CHECKOUT, plan=plan, return_url=return_url, requested_by=requested_by
    )


def portal_request(*, tenant: Tenant, return_url: str, requested_by: str) -> StripeRedirect:
    """A Customer Portal session (card changes, cancellation) for a tenant that is a Stripe customer."""
    profile = BillingProfile.objects.filter(tenant=tenant).first()
    if profile is None or not profile.stripe_customer_id:
        raise BillingRefused("Subscribe to a plan first.", code="no-customer")
    return _redirect(
        tenant=tenant, kind=StripeRedirect.Kind.PORTAL, plan=None, return_url=return_url, requested_by=requested_by
    )


def _redirect(*, tenant: Tenant, kind: str, plan: Plan | None, return_url: str, requested_by: str) -> StripeRedirect:
    with transaction.atomic():
        redirect = StripeRedirect.objects.create(
            tenant=tenant, kind=kind, plan=plan, return_url=return_url, created_by=requested_by
        )
        transaction.on_commit(lambda: tasks.prepare_redirect.delay(redirect_id=redirect.pk))
    return redirect


def number_preferences_save(*, tenant: Tenant, country: str, area_code: str) -> BillingProfile:
    profile, _ = BillingProfile.objects.get_or_create(tenant=tenant)
    profile.number_country, profile.number_area_code = country.upper(), area_code
    profile.save(update_fields=["number_country", "number_area_code"])
    return profile
