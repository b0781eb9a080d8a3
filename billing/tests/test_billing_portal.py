"""The portal's Billing page, subscribing through Checkout (the sandbox's own checkout page), the Customer Portal
link, number preferences, and the staff admin; each tenant sees only its own billing."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from billing.checkout import customer_ensure, redirect_prepare
from billing.gateway import StripeGateway
from billing.models import BillingProfile, Invoice, NumberProvisioning, Plan, StripeEvent, StripeRedirect, Subscription
from billing.tests.conftest import StripeSide, deliver
from tenants.accounts.models import User
from tenants.accounts.roles import Role
from tenants.services import user_create
from testsupport.queue import QueuedTask
from testsupport.tenants import PASSWORD, TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db


def test_an_admin_subscribes_through_checkout_and_the_page_shows_the_subscription(
    alpha: TenantSetup,
    plan: Plan,
    stripe_side: StripeSide,
    public_client: APIClient,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
) -> None:
    browser = signed_in(alpha)
    page = browser.get("/billing/").content.decode()
    assert "No subscription yet." in page and plan.name in page

    with django_capture_on_commit_callbacks(execute=True):
        chosen = browser.post(f"/billing/plans/{plan.pk}/checkout/")
    redirect = StripeRedirect.objects.get(tenant=alpha.tenant)
    assert chosen.status_code == 302 and chosen["Location"] == f"/billing/redirects/{redirect.pk}/"
    assert [(task.name, task.kwargs) for task in queued_tasks] == [
        ("billing.tasks.prepare_redirect", {"redirect_id": redirect.pk})
    ]
    waiting = browser.get(chosen["Location"])
    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.content.decode()

    redirect_prepare(redirect_id=redirect.pk)  # what the worker runs
    to_stripe = browser.get(chosen["Location"])
    assert to_stripe.status_code == 302
    checkout_url = to_stripe["Location"]
    assert checkout_url.startswith(f"{settings.STRIPE_SANDBOX_URL}/sandbox/checkout/cs_test_")

    # The customer pays on the sandbox's checkout page, which sends them back to the Billing page.
    checkout_page = requests.get(checkout_url, timeout=10)
    assert "Pay and subscribe" in checkout_page.text
    before = stripe_side.event_count()
    paid = requests.post(checkout_url + "/complete", data={"redirect": "1"}, allow_redirects=False, timeout=10)
    assert paid.status_code == 303 and paid.headers["Location"] == f"http://{alpha.host}/billing/?checkout=done"
    for event in stripe_side.events(since=before):
        deliver(public_client, event)

    page = browser.get("/billing/").content.decode()
    subscription = Subscription.objects.get(tenant=alpha.tenant)
    assert subscription.status == "active" and subscription.plan == plan
    assert "Active" in page and f"{plan.name} · 29.00 USD a month" in page
    invoice = Invoice.objects.get(tenant=alpha.tenant)
    assert invoice.number in page and "Manage card and subscription" in page


def test_the_customer_portal_link_needs_a_customer(
    alpha: TenantSetup, stripe_side: StripeSide, django_capture_on_commit_callbacks: Any, queued_tasks: list[QueuedTask]
) -> None:
    browser = signed_in(alpha)
    refused = browser.post("/billing/portal/", follow=True)
    assert "Subscribe to a plan first." in refused.content.decode()
    assert not StripeRedirect.objects.exists()

    BillingProfile.objects.create(tenant=alpha.tenant)
    customer_ensure(tenant=alpha.tenant, email=alpha.admin_email, gateway=StripeGateway())
    with django_capture_on_commit_callbacks(execute=True):
        asked = browser.post("/billing/portal/")
    redirect = redirect_prepare(redirect_id=StripeRedirect.objects.get(tenant=alpha.tenant).pk)
    assert redirect.url.startswith(f"{settings.STRIPE_SANDBOX_URL}/sandbox/portal/bps_")
    assert browser.get(asked["Location"])["Location"] == redirect.url


def test_number_preferences_are_validated_and_saved(alpha: TenantSetup) -> None:
    browser = signed_in(alpha)

    bad = browser.post("/billing/preferences/", {"number_country": "USA1", "number_area_code": "2x2"}, follow=True)
    good = browser.post("/billing/preferences/", {"number_country": "gb", "number_area_code": "20"}, follow=True)

    assert "Digits only" in bad.content.decode()
    assert "Number preferences saved." in good.content.decode()
    profile = BillingProfile.objects.get(tenant=alpha.tenant)
    assert (profile.number_country, profile.number_area_code) == ("GB", "20")


def test_viewers_see_billing_but_cannot_subscribe(alpha: TenantSetup, plan: Plan) -> None:
    with tenant_context(alpha.tenant):
        user_create(tenant=alpha.tenant, email="viewer@alpha.test", role=Role.VIEWER, password=PASSWORD)
    browser = signed_in(alpha, "viewer@alpha.test")

    assert browser.get("/billing/").status_code == 200
    assert browser.post(f"/billing/plans/{plan.pk}/checkout/").status_code == 403
    assert browser.post("/billing/preferences/", {"number_country": "US"}).status_code == 403
    assert not StripeRedirect.objects.exists()


def test_a_failed_provisioning_is_shown_on_the_billing_page(alpha: TenantSetup, plan: Plan) -> None:
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_p", plan=plan, status="active")
    NumberProvisioning.objects.create(
        tenant=alpha.tenant,
        status=NumberProvisioning.Status.FAILED,
        wanted=1,
        attempts=2,
        last_error="Twilio has no numbers in area code 212 (21452); try another area code.",
        next_attempt_at=timezone.now() + timedelta(minutes=2),
    )

    page = signed_in(alpha).get("/billing/").content.decode()

    assert "Failed, will try again (2 attempts)" in page and "no numbers in area code 212" in page


def test_each_tenant_sees_only_its_own_billing(alpha: TenantSetup, beta: TenantSetup, plan: Plan) -> None:
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_alpha", plan=plan, status="past_due")
    Invoice.objects.create(
        tenant=alpha.tenant,
        stripe_invoice_id="in_alpha",
        number="ALPHA-0001",
        status="open",
        amount_due=Decimal("29"),
        amount_paid=Decimal("0"),
        currency="USD",
        created=timezone.now(),
    )
    redirect = StripeRedirect.objects.create(
        tenant=alpha.tenant, kind="checkout", plan=plan, return_url="http://x/", status="ready", url="http://s/"
    )

    betas = signed_in(beta)
    page = betas.get("/billing/").content.decode()

    assert "No subscription yet." in page and "ALPHA-0001" not in page and "Past due" not in page
    assert betas.get(f"/billing/redirects/{redirect.pk}/").status_code == 404


def test_staff_see_plans_subscriptions_events_and_usage(alpha: TenantSetup, plan: Plan) -> None:
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
    subscription = Subscription.objects.create(
        tenant=alpha.tenant,
        stripe_subscription_id="sub_staff",
        plan=plan,
        status="active",
        current_period_start=timezone.now() - timedelta(days=1),
    )
    StripeEvent.objects.create(
        event_id="evt_staff", type="invoice.paid", created=timezone.now(), payload={}, result="failed", detail="boom"
    )
    staff = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    staff.login(username="root@platform.test", password="staff-password-1")

    plans = staff.get("/admin/billing/plan/").content.decode()
    subscriptions = staff.get("/admin/billing/subscription/").content.decode()
    detail = staff.get(f"/admin/billing/subscription/{subscription.pk}/change/").content.decode()
    events = staff.get("/admin/billing/stripeevent/", {"result__exact": "failed"}).content.decode()

    assert plan.name in plans
    assert "alpha" in subscriptions and "Active" in subscriptions
    assert "Usage this period" in detail and "minutes: 0 used of 100 included" in detail
    assert "evt_staff" in events and "boom" in events
    assert staff.get("/admin/billing/stripeevent/add/").status_code == 403
