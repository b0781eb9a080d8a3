"""/api/v1/senders/: the tenant's sender numbers and whether Twilio has confirmed them."""

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from telephony.models import SenderNumber
from telephony.verification import sender_number_verify
from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db

URL = "/api/v1/senders/"
CALLER_ID = "+14155550161"


def test_registering_answers_pending_and_the_list_shows_the_verdict_once_checked(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"phone_number": "+1 (415) 555-0161", "kind": "verified_caller_id"}, format="json")
    assert response.status_code == 202, response.json()
    registered = response.json()
    assert (registered["phone_number"], registered["status"], registered["kind"]) == (
        CALLER_ID,
        "pending",
        "verified_caller_id",
    )
    assert [(task.name, task.kwargs) for task in queued_tasks] == [
        ("telephony.tasks.verify_sender_number", {"sender_id": registered["id"]})
    ]

    with tenant_context(alpha_on_twilio.tenant):
        sender_number_verify(sender_id=registered["id"])  # what the queued task does
    listed = {s["phone_number"]: s for s in client.get(URL).json()["results"]}

    # The sandbox account has no such caller ID: rejected, with the reason; the default sender is verified.
    assert (
        listed[CALLER_ID]["status"] == "rejected" and "not a verified caller ID" in listed[CALLER_ID]["status_detail"]
    )
    assert (
        listed[SENDER]["status"] == "verified"
        and listed[SENDER]["is_default"]
        and listed[SENDER]["twilio_sid"].startswith("PN")
    )


def test_bad_input_gets_field_errors_and_records_nothing(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    bad_number = client.post(URL, {"phone_number": "555-0161"}, format="json")
    bad_kind_and_rate = client.post(
        URL, {"phone_number": CALLER_ID, "kind": "pigeon", "messages_per_second": 0}, format="json"
    )

    assert bad_number.status_code == 400 and "phone_number" in bad_number.json()["errors"]
    assert bad_kind_and_rate.status_code == 400 and {"kind", "messages_per_second"} <= set(
        bad_kind_and_rate.json()["errors"]
    )
    with tenant_context(alpha_on_twilio.tenant):
        assert list(SenderNumber.objects.values_list("phone_number", flat=True)) == [SENDER]


def test_viewers_read_admins_register_and_remove(alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask]) -> None:
    _, viewer_key = api_key_create(tenant=alpha_on_twilio.tenant, name="viewer", role=Role.VIEWER)
    _, operator_key = api_key_create(tenant=alpha_on_twilio.tenant, name="operator", role=Role.OPERATOR)
    viewer, operator = alpha_on_twilio.client(viewer_key), alpha_on_twilio.client(operator_key)
    admin = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    sender_id = viewer.get(URL).json()["results"][0]["id"]

    assert viewer.get(f"{URL}{sender_id}/").json()["phone_number"] == SENDER
    assert viewer.post(URL, {"phone_number": CALLER_ID}, format="json").status_code == 403
    assert operator.post(URL, {"phone_number": CALLER_ID}, format="json").status_code == 403
    assert operator.delete(f"{URL}{sender_id}/").status_code == 403
    assert admin.delete(f"{URL}{sender_id}/").status_code == 204
    assert admin.get(URL).json()["results"] == []


def test_another_tenants_senders_are_out_of_reach(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    alpha_sender = alpha_on_twilio.client(alpha_on_twilio.admin_key).get(URL).json()["results"][0]["id"]
    beta_admin = beta.client(beta.admin_key)

    assert beta_admin.get(URL).json()["results"] == []  # beta has no senders of its own, so ids cannot collide
    assert beta_admin.get(f"{URL}{alpha_sender}/").status_code == 404
    assert beta_admin.delete(f"{URL}{alpha_sender}/").status_code == 404
    with tenant_context(alpha_on_twilio.tenant):
        assert SenderNumber.objects.filter(pk=alpha_sender).exists()
