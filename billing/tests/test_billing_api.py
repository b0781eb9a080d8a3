"""GET/PUT /api/v1/billing/: the account's plan, subscription, provisioning and invoices, and its number preferences."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingProfile, Invoice, NumberProvisioning, Plan, Subscription
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_billed(alpha: TenantSetup, plan: Plan) -> TenantSetup:
    Subscription.objects.create(
        tenant=alpha.tenant,
        stripe_subscription_id="sub_api",
        plan=plan,
        status="past_due",
        current_period_end=timezone.now(),
        past_due_since=timezone.now(),
    )
    Invoice.objects.create(
        tenant=alpha.tenant,
        stripe_invoice_id="in_api",
        number="API-0001",
        status="open",
        amount_due=Decimal("29.00"),
        amount_paid=Decimal("0"),
        currency="USD",
        created=timezone.now(),
    )
    NumberProvisioning.objects.create(tenant=alpha.tenant, status="failed", wanted=1, attempts=3, last_error="none")
    return alpha


def test_the_account_sees_its_plan_subscription_provisioning_and_invoices(
    alpha_billed: TenantSetup, plan: Plan
) -> None:
    body = alpha_billed.client(alpha_billed.admin_key).get("/api/v1/billing/").json()

    assert body["plan"]["name"] == plan.name and body["plan"]["included_numbers"] == plan.included_numbers
    assert body["subscription"]["status"] == "past_due" and body["subscription"]["past_due_since"]
    assert body["provisioning"] == {
        "status": "failed",
        "wanted": 1,
        "attempts": 3,
        "last_error": "none",
        "next_attempt_at": None,
    }
    assert [(invoice["id"], invoice["amount_due"]) for invoice in body["invoices"]] == [("in_api", "29.00")]
    assert body["number_preferences"] == {"country": "US", "area_code": ""}


def test_another_account_sees_none_of_it(alpha_billed: TenantSetup, beta: TenantSetup) -> None:
    body = beta.client(beta.admin_key).get("/api/v1/billing/").json()

    assert (body["plan"], body["subscription"], body["provisioning"], body["invoices"]) == (None, None, None, [])
    assert beta.client(alpha_billed.admin_key).get("/api/v1/billing/").status_code in (401, 403)


def test_admins_set_the_number_preferences_and_bad_ones_are_refused_by_field(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        _, operator_key = api_key_create(tenant=alpha.tenant, name="ops", role=Role.OPERATOR, created_by="t")
    admin = alpha.client(alpha.admin_key)

    bad = admin.put("/api/v1/billing/", {"country": "USA", "area_code": "2x"}, format="json")
    forbidden = alpha.client(operator_key).put("/api/v1/billing/", {"country": "GB"}, format="json")
    good = admin.put("/api/v1/billing/", {"country": "gb", "area_code": "20"}, format="json")

    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"country", "area_code"}
    assert forbidden.status_code == 403
    assert good.status_code == 200 and good.json()["number_preferences"] == {"country": "GB", "area_code": "20"}
    profile = BillingProfile.objects.get(tenant=alpha.tenant)
    assert (profile.number_country, profile.number_area_code) == ("GB", "20")
