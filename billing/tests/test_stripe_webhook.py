"""Stripe's webhook: only genuine, recent events signed with the platform's secret are kept, each once."""

import json
import time
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from billing.models import StripeEvent
from billing.tests.conftest import WEBHOOK, signed_post
from sandbox.stripe import StripeSandbox, signature_header
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def an_event(**fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", "evt_test_1"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": "customer.subscription.updated",
        "data": {"object": {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active"}},
        "livemode": False,
        **fields,
    }


def test_a_signed_event_is_kept_once_and_its_processing_queued(
    public_client: APIClient,
    stripe_double: StripeSandbox,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: Any,
) -> None:
    event = an_event()
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_post(public_client, event)
    with django_capture_on_commit_callbacks(execute=True):
        again = signed_post(public_client, event)

    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    kept = StripeEvent.objects.get()
    assert (kept.event_id, kept.type, kept.result) == ("evt_test_1", "customer.subscription.updated", "pending")
    assert kept.payload == event
    assert [(task.name, task.kwargs) for task in queued_tasks] == [
        ("billing.tasks.process_stripe_event", {"stripe_event_id": kept.pk})
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda event: {"secret": "whsec_someone_else"}, id="re-signed with another secret"),
        pytest.param(
            lambda event: {"at": int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS - 5},
            id="expired beyond the tolerance",
        ),
        pytest.param(
            lambda event: {"body": json.dumps({**event, "type": "invoice.paid"}), "sign_original": True},
            id="forged: the body changed after signing",
        ),
    ],
)
def test_forged_expired_or_foreign_events_are_refused_and_nothing_is_kept(
    public_client: APIClient, stripe_double: StripeSandbox, queued_tasks: list[QueuedTask], tamper: Any
) -> None:
    event = an_event()
    how = tamper(event)
    if how.pop("sign_original", False):
        header = signature_header(json.dumps(event), settings.STRIPE_WEBHOOK_SECRET)
        response = public_client.post(
            WEBHOOK, data=how["body"], content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )
    else:
        response = signed_post(public_client, event, **how)

    assert response.status_code == 400
    assert response.json()["type"] == "urn:switchboard:problem:stripe-event-rejected"
    assert not StripeEvent.objects.exists()
    assert queued_tasks == []


def test_an_unsigned_event_or_a_signed_body_that_is_no_event_is_refused(
    public_client: APIClient, stripe_double: StripeSandbox
) -> None:
    unsigned = public_client.post(WEBHOOK, data=json.dumps(an_event()), content_type="application/json")
    not_an_event = signed_post(public_client, {}, body=json.dumps({"hello": "world"}))
    not_json = signed_post(public_client, {}, body="<xml/>")

    assert [unsigned.status_code, not_an_event.status_code, not_json.status_code] == [400, 400, 400]
    assert not StripeEvent.objects.exists()


def test_the_webhook_is_only_on_the_public_host(alpha: TenantSetup, stripe_double: StripeSandbox) -> None:
    response = signed_post(alpha.client(), an_event())

    assert response.status_code == 404
    assert not StripeEvent.objects.exists()
