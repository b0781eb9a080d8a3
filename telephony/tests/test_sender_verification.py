"""Sender numbers are checked with Twilio (the sandbox) before anything can be sent from them."""

from typing import Any

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from telephony.gateway import TwilioGateway
from telephony.models import Communication, SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable
from telephony.scheduling import MAX_WORKER_WAIT_SECONDS
from telephony.services import sender_number_register
from telephony.tasks import verify_sender_number
from telephony.verification import sender_number_verify
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, SandboxLog, connect_to_sandbox, release_number

pytestmark = pytest.mark.django_db

TO = "+14155552671"
NUMBER = "+14155550141"
UNCHECKED = "+14155550142"
CALLER_ID = "+14155550143"
OTHER_CALLER_ID = "+14155550144"


def account_of(setup: TenantSetup) -> TwilioAccount:
    return TwilioAccount.objects.get(tenant=setup.tenant)


def buy(setup: TenantSetup, phone_number: str) -> str:
    release_number(phone_number)
    account = account_of(setup)
    bought = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).buy_number(
        phone_number=phone_number
    )
    assert bought.ok, bought.message
    return bought.payload


def send(setup: TenantSetup, endpoint: str, **payload: Any) -> Any:
    content = {"body": "Hello"} if endpoint == "messages" else {"text": "Hello"}
    return setup.client(setup.admin_key).post(f"/api/v1/{endpoint}/", {"to": TO, **content, **payload}, format="json")


def lookups(log: SandboxLog, resource: str) -> list[dict[str, Any]]:
    return [r for r in log.items("requests") if r["method"] == "GET" and r["path"].endswith(f"/{resource}.json")]


def test_registering_queues_the_check_which_verifies_a_number_the_account_owns(
    alpha_on_twilio: TenantSetup, django_capture_on_commit_callbacks: Any, queued_tasks: list[QueuedTask]
) -> None:
    sid = buy(alpha_on_twilio, NUMBER)

    with tenant_context(alpha_on_twilio.tenant):
        with django_capture_on_commit_callbacks(execute=True):
            sender = sender_number_register(phone_number=NUMBER)
        assert (sender.status, sender.twilio_sid, sender.verified_at) == ("pending", "", None)
        assert queued_tasks == [
            QueuedTask(
                "telephony.tasks.verify_sender_number",
                {"sender_id": sender.pk},
                schema=alpha_on_twilio.tenant.schema_name,
                countdown=None,
            )
        ]

        verify_sender_number.apply(kwargs=queued_tasks[0].kwargs)  # what the worker runs
        sender.refresh_from_db()

    assert (sender.status, sender.twilio_sid, sender.status_detail) == ("verified", sid, "")
    assert sender.verified_at is not None
    assert send(alpha_on_twilio, "messages", **{"from": NUMBER}).status_code == 202


def test_a_verified_caller_id_is_found_among_outgoing_caller_ids(alpha_on_twilio: TenantSetup) -> None:
    account = account_of(alpha_on_twilio)
    created = {
        number: requests.post(
            f"{settings.TWILIO_SANDBOX_URL}/sandbox/caller-ids",
            json={"account_sid": account.account_sid, "phone_number": number},
            timeout=10,
        ).json()
        for number in (CALLER_ID, OTHER_CALLER_ID)
    }

    with tenant_context(alpha_on_twilio.tenant):
        caller_id = sender_number_register(phone_number=CALLER_ID, kind=SenderNumber.Kind.VERIFIED_CALLER_ID)
        caller_id = sender_number_verify(sender_id=caller_id.pk)
        # A caller ID is not a number the account owns: registered as a long code, it is rejected.
        as_long_code = sender_number_verify(sender_id=sender_number_register(phone_number=OTHER_CALLER_ID).pk)

    assert (caller_id.status, caller_id.twilio_sid) == ("verified", created[CALLER_ID]["sid"])
    assert as_long_code.status == "rejected" and "not a phone number of Twilio account" in as_long_code.status_detail
    assert send(alpha_on_twilio, "calls", **{"from": CALLER_ID}).status_code == 202


def test_a_number_the_account_does_not_have_is_rejected_with_the_reason(alpha_on_twilio: TenantSetup) -> None:
    release_number(NUMBER)
    account = account_of(alpha_on_twilio)
    with tenant_context(alpha_on_twilio.tenant):
        number = sender_number_verify(sender_id=sender_number_register(phone_number=NUMBER).pk)
        caller_id = sender_number_verify(
            sender_id=sender_number_register(phone_number=CALLER_ID, kind=SenderNumber.Kind.VERIFIED_CALLER_ID).pk
        )
        again = sender_number_verify(sender_id=number.pk)  # a rejected sender is not asked about again

    assert (number.status, number.twilio_sid, number.verified_at) == ("rejected", "", None)
    assert number.status_detail == f"{NUMBER} is not a phone number of Twilio account {account.account_sid}."
    assert (
        caller_id.status_detail == f"{CALLER_ID} is not a verified caller ID of Twilio account {account.account_sid}."
    )
    assert again.status == "rejected"


def test_twilio_unavailable_keeps_the_sender_pending_and_the_task_retries(
    alpha_on_twilio: TenantSetup, sandbox_log: SandboxLog
) -> None:
    buy(alpha_on_twilio, NUMBER)
    sandbox_log.faults(error_429_rate=1.0, path_contains="/IncomingPhoneNumbers.json")
    with tenant_context(alpha_on_twilio.tenant):
        sender = sender_number_register(phone_number=NUMBER)
        with pytest.raises(TwilioUnavailable):
            sender_number_verify(sender_id=sender.pk)
        since = len(lookups(sandbox_log, "IncomingPhoneNumbers"))

        # Run eagerly, the task's retries follow each other at once instead of backing off.
        given_up = verify_sender_number.apply(kwargs={"sender_id": sender.pk})
        sender.refresh_from_db()
    attempts = lookups(sandbox_log, "IncomingPhoneNumbers")[since:]

    assert given_up.state == "FAILURE" and isinstance(given_up.result, TwilioUnavailable)
    assert len(attempts) == verify_sender_number.max_retries + 1 and {a["status"] for a in attempts} == {429}
    assert verify_sender_number.retry_backoff_max == MAX_WORKER_WAIT_SECONDS
    assert sender.status == "pending" and sender.status_detail.startswith("Twilio could not be asked yet")
    refused = send(alpha_on_twilio, "messages", **{"from": NUMBER})
    assert refused.status_code == 422 and "still being checked with Twilio" in refused.json()["errors"]["from"][0]

    # Seed 1: the first lookup draws a 500, the retry goes through.
    sandbox_log.faults(error_500_rate=0.5, seed=1, path_contains="/IncomingPhoneNumbers.json")
    with tenant_context(alpha_on_twilio.tenant):
        verified = verify_sender_number.apply(kwargs={"sender_id": sender.pk})
        sender.refresh_from_db()

    assert verified.state == "SUCCESS" and sender.status == "verified"
    assert [a["status"] for a in lookups(sandbox_log, "IncomingPhoneNumbers")[-2:]] == [500, 200]


def test_a_sender_waits_for_the_tenants_twilio_account(alpha_on_twilio: TenantSetup) -> None:
    TwilioAccount.objects.filter(tenant=alpha_on_twilio.tenant).update(status=TwilioAccount.Status.PROVISIONING)
    with tenant_context(alpha_on_twilio.tenant):
        sender = sender_number_register(phone_number=NUMBER)
        with pytest.raises(TwilioUnavailable):
            sender_number_verify(sender_id=sender.pk)
        sender.refresh_from_db()

    assert sender.status == "pending"
    assert sender.status_detail == "Waiting for this account's Twilio connection, which is being created."


@pytest.mark.parametrize("endpoint", ["messages", "calls"])
def test_pending_and_rejected_senders_are_refused(alpha_on_twilio: TenantSetup, endpoint: str) -> None:
    release_number(NUMBER)
    with tenant_context(alpha_on_twilio.tenant):
        sender_number_register(phone_number=UNCHECKED)  # not checked yet
        sender_number_verify(sender_id=sender_number_register(phone_number=NUMBER).pk)

    pending = send(alpha_on_twilio, endpoint, **{"from": UNCHECKED})
    rejected = send(alpha_on_twilio, endpoint, **{"from": NUMBER})

    for response in (pending, rejected):
        assert response.status_code == 422
        assert response["Content-Type"] == "application/problem+json"
    assert pending.json()["errors"] == {"from": [f"{UNCHECKED} is still being checked with Twilio; try again shortly."]}
    assert rejected.json()["errors"]["from"] == [
        f"{NUMBER} cannot be used as a sender: {NUMBER} is not a phone number of Twilio account "
        f"{account_of(alpha_on_twilio).account_sid}."
    ]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


def test_the_default_sender_must_be_verified_too(alpha_on_twilio: TenantSetup) -> None:
    assert send(alpha_on_twilio, "messages").json()["from"] == SENDER
    with tenant_context(alpha_on_twilio.tenant):
        sender_number_register(phone_number=NUMBER, is_default=True)

    refused = send(alpha_on_twilio, "messages")

    assert refused.status_code == 422
    assert refused.json()["errors"]["from"] == [
        f"The default sender {NUMBER} is still being checked with Twilio; try again shortly."
    ]


def test_a_number_of_another_tenants_account_is_rejected(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    connect_to_sandbox(beta, sender=NUMBER)  # beta's subaccount owns it, and beta may send from it
    with tenant_context(alpha_on_twilio.tenant):
        borrowed = sender_number_verify(sender_id=sender_number_register(phone_number=NUMBER).pk)

    assert borrowed.status == "rejected"
    assert send(alpha_on_twilio, "messages", **{"from": NUMBER}).status_code == 422
    assert send(beta, "messages", **{"from": NUMBER}).status_code == 202
