"""Usage and cost per day and per billing period, from the tenant's own calls, SMS and numbers."""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import Plan, Subscription
from billing.selectors import daily_usage, period_usage
from telephony.models import Communication
from telephony.numbers.models import PhoneNumber
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

DAY_ONE = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.get_current_timezone())
SIDS = iter(range(10**6))


def communication(setup: TenantSetup, channel: str, at: datetime, **fields: Any) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.create(
            channel=channel,
            to_number="+14155550111",
            from_number="+14155550100",
            occurred_at=at,
            twilio_sid=f"{'CA' if channel == 'call' else 'SM'}{next(SIDS):032d}",
            status="completed" if channel == "call" else "delivered",
            **fields,
        )


def number(setup: TenantSetup, phone_number: str, *, since: datetime, until: datetime | None = None) -> PhoneNumber:
    with tenant_context(setup.tenant):
        return PhoneNumber.objects.create(
            phone_number=phone_number,
            status=PhoneNumber.Status.RELEASED if until else PhoneNumber.Status.ACTIVE,
            monthly_cost=Decimal("3.00"),  # November has 30 days: 0.10 a day
            provisioned_at=since,
            released_at=until,
        )


@pytest.fixture
def alpha_usage(alpha: TenantSetup, beta: TenantSetup) -> TenantSetup:
    """Two days of alpha's traffic and numbers; beta's own traffic on the same days, which alpha never sees."""
    communication(alpha, "call", DAY_ONE, duration_seconds=61, cost_amount=Decimal("0.0280"))  # 2 minutes
    communication(alpha, "call", DAY_ONE, duration_seconds=30, cost_amount=Decimal("0.0140"))  # 1 minute
    communication(alpha, "sms", DAY_ONE, segments=3, cost_amount=Decimal("0.0237"))
    communication(alpha, "sms", DAY_ONE + timedelta(days=1), segments=None)  # unpriced yet, one segment
    communication(alpha, "call", DAY_ONE + timedelta(days=1), duration_seconds=None)  # no answer: 0 minutes
    with tenant_context(alpha.tenant):  # never reached Twilio: not usage
        Communication.objects.create(channel="sms", to_number="+14155550111", occurred_at=DAY_ONE, status="failed")
    number(alpha, "+12125550001", since=DAY_ONE - timedelta(days=10))
    number(alpha, "+12125550002", since=DAY_ONE - timedelta(days=10), until=DAY_ONE + timedelta(hours=1))
    communication(beta, "call", DAY_ONE, duration_seconds=600, cost_amount=Decimal("1.00"))
    number(beta, "+12125550003", since=DAY_ONE - timedelta(days=10))
    return alpha


def test_usage_per_day_counts_the_tenants_own_rows(alpha_usage: TenantSetup) -> None:
    first, second = daily_usage(
        tenant=alpha_usage.tenant, first=DAY_ONE.date(), last=DAY_ONE.date() + timedelta(days=1)
    )

    assert (first.day, first.calls, first.minutes, first.sms, first.segments, first.numbers) == (
        DAY_ONE.date(),
        2,
        3,
        1,
        3,
        2,
    )
    assert first.twilio_costs == {"USD": Decimal("0.06570")}
    assert first.rental_costs == {"USD": Decimal("0.20000")}
    assert first.total_costs == {"USD": Decimal("0.26570")}
    assert (second.calls, second.minutes, second.sms, second.segments, second.numbers) == (1, 0, 1, 1, 1)
    assert second.twilio_costs == {} and second.rental_costs == {"USD": Decimal("0.10000")}


def test_a_period_is_measured_against_the_plans_inclusions(alpha_usage: TenantSetup) -> None:
    plan = Plan(
        name="Tiny",
        stripe_price_id="price_tiny",
        monthly_price=Decimal("5"),
        included_numbers=1,
        included_minutes=2,
        included_segments=10,
        overage_per_minute=Decimal("0.05"),
        overage_per_segment=Decimal("0.01"),
        overage_per_number=Decimal("1.50"),
    )

    usage = period_usage(
        tenant=alpha_usage.tenant, first=DAY_ONE.date(), last=DAY_ONE.date() + timedelta(days=1), plan=plan
    )

    by_name = {allowance.name: allowance for allowance in usage.allowances}
    assert (by_name["minutes"].used, by_name["minutes"].over, by_name["minutes"].overage_cost) == (
        3,
        1,
        Decimal("0.05"),
    )
    assert (by_name["SMS segments"].used, by_name["SMS segments"].over) == (4, 0)
    assert (by_name["numbers"].used, by_name["numbers"].over, by_name["numbers"].overage_cost) == (
        2,
        1,
        Decimal("1.50"),
    )
    assert usage.overage_cost == Decimal("1.55")


def test_the_usage_api_answers_the_days_asked_for(alpha_usage: TenantSetup) -> None:
    response = alpha_usage.client(alpha_usage.admin_key).get(
        "/api/v1/usage/", {"from": "2026-11-02", "to": "2026-11-03"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["plan"], body["subscription_status"]) == (
        "2026-11-02",
        "2026-11-03",
        None,
        None,
    )
    assert [day["day"] for day in body["days"]] == ["2026-11-02", "2026-11-03"]
    assert body["days"][0]["minutes"] == 3 and body["days"][0]["total_costs"] == {"USD": "0.26570"}
    assert (body["totals"]["calls"], body["totals"]["segments"], body["totals"]["numbers"]) == (3, 4, 2)


def test_the_usage_api_defaults_to_the_billing_period_with_its_plan(alpha_usage: TenantSetup, plan: Plan) -> None:
    Subscription.objects.create(
        tenant=alpha_usage.tenant,
        stripe_subscription_id="sub_usage",
        plan=plan,
        status="active",
        current_period_start=DAY_ONE - timedelta(hours=1),
        current_period_end=DAY_ONE + timedelta(days=30),
    )

    body = alpha_usage.client(alpha_usage.admin_key).get("/api/v1/usage/").json()

    assert body["from"] == DAY_ONE.date().isoformat() and body["to"] == timezone.localdate().isoformat()
    assert (body["plan"], body["subscription_status"]) == (plan.name, "active")
    minutes = next(allowance for allowance in body["allowances"] if allowance["name"] == "minutes")
    assert (minutes["included"], minutes["used"]) == (plan.included_minutes, 3)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-05", "to": "2026-11-01"}, "to"),
        ({"from": "2026-11-01"}, "to"),
        ({"to": "2026-11-01"}, "from"),
        ({"from": "yesterday", "to": "2026-11-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-11-01"}, "to"),
    ],
)
def test_the_usage_api_refuses_a_bad_range_field_by_field(
    alpha: TenantSetup, query: dict[str, str], field: str
) -> None:
    response = alpha.client(alpha.admin_key).get("/api/v1/usage/", query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


def test_usage_is_each_tenants_own(alpha_usage: TenantSetup, beta: TenantSetup) -> None:
    query = {"from": "2026-11-02", "to": "2026-11-02"}
    betas = beta.client(beta.admin_key).get("/api/v1/usage/", query).json()
    alpha_key_on_beta = beta.client(alpha_usage.admin_key).get("/api/v1/usage/", query)

    assert (betas["totals"]["calls"], betas["totals"]["minutes"], betas["totals"]["numbers"]) == (1, 10, 1)
    assert alpha_key_on_beta.status_code in (401, 403)


def test_the_usage_endpoint_is_in_the_openapi_schema(alpha: TenantSetup) -> None:
    schema = alpha.client(alpha.admin_key).get("/api/schema/", {"format": "json"}).json()

    parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/usage/"]["get"]["parameters"]}
    assert {"from", "to"} <= parameters
