"""Stripe Checkout and Customer Portal sessions for the portal's redirects (a worker: they call Stripe)."""

from django.utils import timezone

from billing.gateway import StripeGateway, StripeNotFound, StripeRefused, StripeUnavailable
from billing.models import BillingProfile, StripeRedirect
from tenants.models import Tenant


def customer_ensure(*, tenant: Tenant, email: str, gateway: StripeGateway) -> str:
    """The tenant's Stripe customer, made the first time (idempotently: a retried creation makes no second one)."""
    profile, _ = BillingProfile.objects.get_or_create(tenant=tenant)
    if not profile.stripe_customer_id:
        profile.stripe_customer_id = gateway.customer_create(
            name=tenant.name, email=email, tenant_id=tenant.pk, tenant_slug=tenant.slug
        )
        profile.save(update_fields=["stripe_customer_id"])
    return profile.stripe_customer_id


def redirect_prepare(*, redirect_id: int, gateway: StripeGateway | None = None) -> StripeRedirect:
    """Asks Stripe for the session and keeps its URL, or why there is none. Raises StripeUnavailable (try again)."""
    redirect = StripeRedirect.objects.select_related("tenant", "plan").get(pk=redirect_id)
    if redirect.status != StripeRedirect.Status.PENDING:
        return redirect
    gateway = gateway or StripeGateway()
    try:
        customer = customer_ensure(tenant=redirect.tenant, email=redirect.created_by, gateway=gateway)
        if redirect.kind == StripeRedirect.Kind.CHECKOUT and redirect.plan is not None:
            _, url = gateway.checkout_session_create(
                customer=customer,
                price_id=redirect.plan.stripe_price_id,
                tenant_id=redirect.tenant.pk,
                success_url=redirect.return_url + "?checkout=done",
                cancel_url=redirect.return_url + "?checkout=canceled",
            )
        else:
            url = gateway.portal_session_create(customer=customer, return_url=redirect.return_url)
    except (StripeRefused, StripeNotFound) as error:
        redirect.status, redirect.error = StripeRedirect.Status.FAILED, str(error)[:500]
    except StripeUnavailable:
        if (timezone.now() - redirect.created_at).total_seconds() > 120:
            redirect.status, redirect.error = StripeRedirect.Status.FAILED, "Stripe cannot be reached; try again later."
            redirect.save(update_fields=["status", "error"])
        raise
    else:
        redirect.status, redirect.url = StripeRedirect.Status.READY, url
    redirect.save(update_fields=["status", "url", "error"])
    return redirect
