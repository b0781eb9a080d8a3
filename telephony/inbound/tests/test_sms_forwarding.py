"""Forwarding an inbound SMS to the tenant's URL (signed JSON, tried again when the URL cannot take it) or e-mail."""

import hashlib
import hmac
import json

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from telephony.inbound import forwarding
from telephony.inbound.selectors import inbound_settings
from telephony.inbound.tasks import forward_sms_to_url
from telephony.models import Communication, PlatformError
from testsupport.receiver import Receiver
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def inbound_sms(setup: TenantSetup) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.create(
            channel="sms",
            direction="inbound",
            to_number="+14155550100",
            from_number="+14155559876",
            content="Can I move my appointment?",
            media_urls=["https://api.twilio.com/media/1"],
            status="received",
            twilio_sid="SM" + "8" * 32,
        )


def test_the_message_is_posted_as_json_with_a_signature_the_tenant_can_check(
    alpha: TenantSetup, receiver: Receiver
) -> None:
    message = inbound_sms(alpha)
    with tenant_context(alpha.tenant):
        forwarding.sms_forward_to_url(communication_id=message.pk, url=receiver.url)
        secret = inbound_settings().forward_signing_secret

    ((headers, body),) = receiver.received
    timestamp, signature = (part.split("=", 1)[1] for part in headers[forwarding.SIGNATURE_HEADER].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body) == {
        "id": message.pk,
        "message_sid": "SM" + "8" * 32,
        "from": "+14155559876",
        "to": "+14155550100",
        "body": "Can I move my appointment?",
        "media_urls": ["https://api.twilio.com/media/1"],
        "received_at": message.occurred_at.isoformat(),
    }


@pytest.mark.parametrize("receiver", [[503, 429, 200]], indirect=True)
def test_a_url_that_cannot_take_it_now_gets_it_again(alpha: TenantSetup, receiver: Receiver) -> None:
    message = inbound_sms(alpha)
    with tenant_context(alpha.tenant):
        forward_sms_to_url.apply(kwargs={"communication_id": message.pk, "url": receiver.url}, retries=0)

    assert len(receiver.received) == 3  # two refusals, then taken
    assert len({body for _, body in receiver.received}) == 1


@pytest.mark.parametrize("receiver", [[410]], indirect=True)
def test_a_url_that_refuses_it_for_good_is_not_asked_again_and_the_tenant_sees_why(
    alpha: TenantSetup, receiver: Receiver
) -> None:
    message = inbound_sms(alpha)
    with tenant_context(alpha.tenant):
        forward_sms_to_url.apply(kwargs={"communication_id": message.pk, "url": receiver.url})
        errors = list(PlatformError.objects.values_list("source", "message"))

    assert len(receiver.received) == 1
    assert errors == [("sms forward", f"{receiver.url} refused the message: 410")]


def test_an_unreachable_url_is_left_for_the_task_to_try_again(alpha: TenantSetup) -> None:
    message = inbound_sms(alpha)
    with tenant_context(alpha.tenant), pytest.raises(forwarding.ForwardFailed):
        forwarding.sms_forward_to_url(communication_id=message.pk, url="http://127.0.0.1:1/sms")


def test_forwarding_by_email_sends_the_text_and_the_media_links(alpha: TenantSetup) -> None:
    message = inbound_sms(alpha)
    with tenant_context(alpha.tenant):
        forwarding.sms_forward_by_email(communication_id=message.pk, address="desk@alpha.test")

    (sent,) = mail.outbox
    assert sent.to == ["desk@alpha.test"] and sent.subject == "SMS from +14155559876 to +14155550100"
    assert sent.body == "Can I move my appointment?\nhttps://api.twilio.com/media/1"
