import pytest
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from telephony.models import Communication
from telephony.registry.models import TwilioAccount
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER, connect_to_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(alpha_on_twilio: TenantSetup) -> Communication:
    with tenant_context(alpha_on_twilio.tenant):
        return Communication.objects.create(
            channel="call", to_number="+14155552671", from_number=SENDER, status="queued", twilio_sid="CA" + "1" * 32
        )


def post_callback(setup: TenantSetup, communication: Communication, params: dict, token: str | None = None):
    url = f"http://{setup.host}:8000/webhooks/twilio/status/{communication.public_token}/"
    token = token or TwilioAccount.objects.get(tenant=setup.tenant).auth_token
    signature = RequestValidator(token).compute_signature(url, params)
    return APIClient(HTTP_HOST=setup.host).post(url.split(":8000")[1], params, HTTP_X_TWILIO_SIGNATURE=signature)


def status_of(setup: TenantSetup, communication: Communication) -> Communication:
    with tenant_context(setup.tenant):
        return Communication.objects.get(pk=communication.pk)


def test_callbacks_move_the_status_forward_and_record_duration(
    alpha_on_twilio: TenantSetup, call: Communication
) -> None:
    for status in ("initiated", "ringing", "in-progress"):
        response = post_callback(alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": status})
        assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    post_callback(alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": "completed", "CallDuration": "42"})

    final = status_of(alpha_on_twilio, call)
    assert (final.status, final.duration_seconds) == ("completed", 42)


def test_late_and_duplicate_callbacks_change_nothing(alpha_on_twilio: TenantSetup, call: Communication) -> None:
    post_callback(alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": "completed", "CallDuration": "10"})
    post_callback(alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": "ringing"})
    post_callback(alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": "completed", "CallDuration": "99"})

    final = status_of(alpha_on_twilio, call)
    assert (final.status, final.duration_seconds) == ("completed", 10)


def test_message_delivery_failure_is_recorded_with_its_code(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        message = Communication.objects.create(
            channel="sms", to_number="+14155552671", from_number=SENDER, status="sent", twilio_sid="SM" + "2" * 32
        )
    post_callback(
        alpha_on_twilio,
        message,
        {"MessageSid": message.twilio_sid, "MessageStatus": "undelivered", "ErrorCode": "30003"},
    )

    final = status_of(alpha_on_twilio, message)
    assert (final.status, final.error_code) == ("undelivered", "30003")


def test_unsigned_or_foreign_callbacks_are_refused(
    alpha_on_twilio: TenantSetup, beta: TenantSetup, call: Communication
) -> None:
    forged = post_callback(
        alpha_on_twilio, call, {"CallSid": call.twilio_sid, "CallStatus": "completed"}, token="not-the-token"
    )
    connect_to_sandbox(beta, sender="+14155550178")
    # Signed properly by beta's Twilio account, for beta's host: alpha's call is not there to be found.
    on_beta = post_callback(beta, call, {"CallSid": call.twilio_sid, "CallStatus": "completed"})

    assert forged.status_code == 403
    assert on_beta.status_code == 404
    assert status_of(alpha_on_twilio, call).status == "queued"


def test_callback_for_another_sid_is_ignored(alpha_on_twilio: TenantSetup, call: Communication) -> None:
    post_callback(alpha_on_twilio, call, {"CallSid": "CA" + "9" * 32, "CallStatus": "completed"})
    assert status_of(alpha_on_twilio, call).status == "queued"
