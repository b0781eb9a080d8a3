"""A tenant Stripe still bills (active, trialing, past due) cannot start a second Checkout: it would be a second
subscription, billed as well. Plans change in the Customer Portal; an ended subscription may be followed by a new
one."""

from typing import Any

import pytest

from billing import services
from billing.models import Plan, StripeRedirect, Subscription
from billing.tests.conftest import make_plan
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
def test_checkout_is_refused_while_a_subscription_is_billed(alpha: TenantSetup, plan: Plan, status: str) -> None:
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_live", plan=plan, status=status)
    other = make_plan("Bigger", monthly_price="99.00")

    with pytest.raises(services.BillingRefused) as refused:
        services.checkout_request(tenant=alpha.tenant, plan=other, return_url="http://x/", requested_by="a@x.test")

    assert refused.value.code == "already-subscribed"
    assert "Customer Portal" in (refused.value.errors or {})["plan"][0]
    assert not StripeRedirect.objects.filter(tenant=alpha.tenant).exists()


@pytest.mark.parametrize("status", ["canceled", "incomplete_expired", "incomplete", "unpaid", "paused"])
def test_checkout_is_allowed_without_a_billed_subscription(
    alpha: TenantSetup, plan: Plan, status: str, queued_tasks: list[QueuedTask]
) -> None:
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_old", plan=plan, status=status)

    redirect = services.checkout_request(tenant=alpha.tenant, plan=plan, return_url="http://x/", requested_by="a@x")

    assert redirect.kind == StripeRedirect.Kind.CHECKOUT


def test_the_billing_page_offers_no_second_checkout(
    alpha: TenantSetup, plan: Plan, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_live", plan=plan, status="active")
    other = make_plan("Bigger", monthly_price="99.00")
    browser = signed_in(alpha)

    page = browser.get("/billing/").content.decode()
    refused = browser.post(f"/billing/plans/{other.pk}/checkout/", follow=True)

    assert "Subscribe</button>" not in page and "change it with Manage card and subscription" in page
    assert "This account&#x27;s subscription is active: change its plan with" in refused.content.decode()
    assert not StripeRedirect.objects.filter(tenant=alpha.tenant).exists()
