"""The numbers API: searching what is for sale (validated filters, field errors), buying (202 pending), listing
and reading with what each number costs and what answers it, and setting it up (PATCH)."""

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from telephony.inbound.models import CallFlow, NumberSettings
from telephony.numbers import purchasing
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy
from telephony.registry.models import TwilioAccount
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from voice.agents.models import Agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"country": "USA"}, "country"),
        ({"country": "U1"}, "country"),
        ({"area_code": "21a"}, "area_code"),
        ({"area_code": "1"}, "area_code"),
        ({"contains": "5"}, "contains"),
        ({"contains": "55-12"}, "contains"),
        ({"type": "premium"}, "type"),
        ({"sms": "maybe"}, "sms"),
        ({"voice": "2"}, "voice"),
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"type": "toll_free", "area_code": "800"}, "area_code"),
    ],
)
def test_search_filters_are_validated(alpha_connected: TenantSetup, query: dict[str, str], field: str) -> None:
    answer = alpha_connected.client(alpha_connected.admin_key).get("/api/v1/numbers/available/", query)

    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert list(answer.json()["errors"]) == [field]


def test_search_answers_what_twilio_has_with_the_monthly_cost(alpha_connected: TenantSetup) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)

    local = api.get("/api/v1/numbers/available/", {"area_code": "212", "contains": "55", "sms": "true", "limit": "5"})
    toll_free = api.get("/api/v1/numbers/available/", {"type": "toll_free", "limit": "3"})
    british = api.get("/api/v1/numbers/available/", {"country": "gb", "type": "mobile", "voice": "true", "limit": "2"})
    none = api.get("/api/v1/numbers/available/", {"country": "US", "type": "mobile"})

    assert local.status_code == 200, local.content
    assert len(local.json()) == 5
    for offer in local.json():
        assert offer["phone_number"].startswith("+1212") and "55" in offer["phone_number"][5:]
        assert offer["capabilities"]["sms"] is True and offer["locality"] == "New York"
        assert (offer["monthly_cost"], offer["currency"], offer["country"]) == ("1.15", "USD", "US")
    assert [o["monthly_cost"] for o in toll_free.json()] == ["2.15"] * 3
    assert [o["phone_number"][:4] for o in british.json()] == ["+447"] * 2
    assert none.status_code == 200 and none.json() == []


def test_search_before_the_twilio_account_is_ready(alpha: TenantSetup) -> None:
    TwilioAccount.objects.filter(tenant=alpha.tenant).update(status=TwilioAccount.Status.PROVISIONING)

    answer = alpha.client(alpha.admin_key).get("/api/v1/numbers/available/")

    assert answer.status_code == 409 and "Twilio connection" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone_number": "12"}, "phone_number"),
        ({"phone_number": "+15550100"}, "phone_number"),
        ({"area_code": "2x2"}, "area_code"),
        ({"phone_number": "+12125550123", "area_code": "212"}, "area_code"),
        ({"type": "toll_free", "area_code": "212"}, "area_code"),
        ({"type": "vanity"}, "type"),
        ({"country": "Germany"}, "country"),
        ({"friendly_name": "x" * 65}, "friendly_name"),
    ],
)
def test_purchase_requests_are_validated(
    alpha_connected: TenantSetup, body: dict[str, str], field: str, queued_tasks: list[QueuedTask]
) -> None:
    answer = alpha_connected.client(alpha_connected.admin_key).post("/api/v1/numbers/", body, format="json")

    assert answer.status_code == 400, answer.content
    assert list(answer.json()["errors"]) == [field]
    with tenant_context(alpha_connected.tenant):
        assert not PhoneNumber.objects.exists()


def test_a_purchase_answers_202_pending_and_queues_the_worker(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        answer = api.post("/api/v1/numbers/", {"area_code": "415", "friendly_name": "Sales"}, format="json")

    assert answer.status_code == 202, answer.content
    pending = answer.json()
    assert (pending["status"], pending["phone_number"], pending["area_code"], pending["friendly_name"]) == (
        "pending",
        "",
        "415",
        "Sales",
    )
    assert (pending["monthly_cost"], pending["reason"], pending["type"]) == ("1.15", "api", "local")
    assert [(t.name, t.kwargs, t.schema) for t in queued_tasks] == [
        ("telephony.numbers.tasks.purchase_number", {"number_id": pending["id"]}, alpha_connected.tenant.schema_name)
    ]

    with tenant_context(alpha_connected.tenant):
        purchasing.number_purchase(number_id=pending["id"])
    done = api.get(f"/api/v1/numbers/{pending['id']}/").json()
    assert done["status"] == "active" and done["phone_number"].startswith("+1415")
    assert done["provisioned_at"] is not None and done["capabilities"]["voice"] is True


def test_the_same_number_twice_is_refused(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)
    first = api.post("/api/v1/numbers/", {"phone_number": "+1 (212) 555-0123"}, format="json")
    second = api.post("/api/v1/numbers/", {"phone_number": "+12125550123"}, format="json")

    assert first.status_code == 202 and first.json()["phone_number"] == "+12125550123"
    assert second.status_code == 409 and list(second.json()["errors"]) == ["phone_number"]


def test_a_repeated_purchase_with_the_same_idempotency_key_buys_once(
    alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)

    first = api.post("/api/v1/numbers/", {"area_code": "312"}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    again = api.post("/api/v1/numbers/", {"area_code": "312"}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")
    other = api.post("/api/v1/numbers/", {"area_code": "415"}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")

    assert first.status_code == again.status_code == 202 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.count() == 1


def test_list_and_detail_say_what_answers_each_number_and_what_it_costs(alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="206")
    with tenant_context(alpha_connected.tenant):
        flow = CallFlow.objects.create(name="Reception", kind="message", text="Hello")
        agent = Agent.objects.create(name="Ava", system_prompt="You answer the phone.")
    api = alpha_connected.client(alpha_connected.admin_key)

    patched = api.patch(
        f"/api/v1/numbers/{number.pk}/",
        {"friendly_name": "Seattle", "call_flow": flow.pk, "agent": agent.pk, "auto_reply": "Thanks!"},
        format="json",
    )

    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["friendly_name"] == "Seattle"
    assert body["call_flow"] == {"id": flow.pk, "name": "Reception"}
    assert body["agent"] == {"id": agent.pk, "name": "Ava"}
    assert body["auto_reply"] == "Thanks!"
    with tenant_context(alpha_connected.tenant):
        settings = NumberSettings.objects.get(phone_number=number.phone_number)
        assert (settings.call_flow_id, settings.agent_id, settings.auto_reply) == (flow.pk, agent.pk, "Thanks!")
    [listed] = api.get("/api/v1/numbers/").json()["results"]
    assert listed == api.get(f"/api/v1/numbers/{number.pk}/").json() == body
    assert Decimal(listed["monthly_cost"]) == Decimal("1.15")
    bad_filter = api.get("/api/v1/numbers/", {"status": "sold"})
    assert bad_filter.status_code == 400 and list(bad_filter.json()["errors"]) == ["status"]
    cleared = api.patch(f"/api/v1/numbers/{number.pk}/", {"agent": None}, format="json").json()
    assert cleared["agent"] is None and cleared["call_flow"] == {"id": flow.pk, "name": "Reception"}


def test_patch_is_validated(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    number = buy(alpha_connected, area_code="213")
    api = alpha_connected.client(alpha_connected.admin_key)

    for body, field in (
        ({"call_flow": 999_999}, "call_flow"),
        ({"agent": 999_999}, "agent"),
        ({"forward_url": "not a url"}, "forward_url"),
        ({"auto_reply_window_minutes": -1}, "auto_reply_window_minutes"),
    ):
        answer = api.patch(f"/api/v1/numbers/{number.pk}/", body, format="json")
        assert answer.status_code == 400 and list(answer.json()["errors"]) == [field], answer.content

    pending = api.post("/api/v1/numbers/", {"area_code": "213"}, format="json").json()
    early = api.patch(f"/api/v1/numbers/{pending['id']}/", {"auto_reply": "Hi"}, format="json")
    assert early.status_code == 409 and "once the number is active" in early.json()["detail"]
    renamed = api.patch(f"/api/v1/numbers/{pending['id']}/", {"friendly_name": "Soon"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["friendly_name"] == "Soon"


def test_a_refused_patch_changes_nothing(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    api = alpha_connected.client(alpha_connected.admin_key)
    pending = api.post("/api/v1/numbers/", {"area_code": "213", "friendly_name": "Before"}, format="json").json()

    refused = api.patch(
        f"/api/v1/numbers/{pending['id']}/", {"friendly_name": "After", "auto_reply": "Hi"}, format="json"
    )

    assert refused.status_code == 409
    assert api.get(f"/api/v1/numbers/{pending['id']}/").json()["friendly_name"] == "Before"


def test_only_admins_buy_patch_and_release(alpha_connected: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    number = buy(alpha_connected, area_code="702")
    _, viewer_key = api_key_create(tenant=alpha_connected.tenant, name="viewer", role=Role.VIEWER, created_by="t")
    _, operator_key = api_key_create(tenant=alpha_connected.tenant, name="op", role=Role.OPERATOR, created_by="t")

    for key in (viewer_key, operator_key):
        api = alpha_connected.client(key)
        assert api.get("/api/v1/numbers/").status_code == 200
        assert api.get("/api/v1/numbers/available/").status_code == 200
        assert api.post("/api/v1/numbers/", {"area_code": "702"}, format="json").status_code == 403
        assert api.patch(f"/api/v1/numbers/{number.pk}/", {"friendly_name": "x"}, format="json").status_code == 403
        assert api.delete(f"/api/v1/numbers/{number.pk}/").status_code == 403
    with tenant_context(alpha_connected.tenant):
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.ACTIVE


def test_the_endpoints_are_in_the_openapi_schema(alpha: TenantSetup) -> None:
    schema = alpha.client(alpha.admin_key).get("/api/schema/", {"format": "json"}).json()

    assert {"/api/v1/numbers/", "/api/v1/numbers/{id}/", "/api/v1/numbers/available/"} <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/numbers/{id}/"]) >= {"get", "patch", "delete"}
    parameters = {p["name"] for p in schema["paths"]["/api/v1/numbers/available/"]["get"]["parameters"]}
    assert {"country", "type", "area_code", "contains", "sms", "voice"} <= parameters
