"""What webhooks keep in the process between requests (tenants.freshness): a change is seen at the next request,
in this process at once and in every other one once the tenant's generation has moved; without Redis, nothing is
kept."""

import secrets
from collections.abc import Iterator

import pytest
import redis
from django_tenants.utils import tenant_context
from pytest_django import DjangoCaptureOnCommitCallbacks

from telephony.inbound.models import CallFlow, NumberSettings
from telephony.inbound.tests.support import call_params, token_of, twilio_post
from telephony.registry.models import TwilioAccount
from tenants import freshness
from tenants.services import tenant_suspend
from testsupport.tenants import TenantSetup
from testsupport.twilio import SENDER

pytestmark = pytest.mark.django_db


def message_flow(setup: TenantSetup, text: str) -> None:
    with tenant_context(setup.tenant):
        flow = CallFlow.objects.create(name=text, kind=CallFlow.Kind.MESSAGE, text=text)
        NumberSettings.objects.update_or_create(phone_number=SENDER, defaults={"call_flow": flow})


def call(setup: TenantSetup, *, token: str | None = None, public_host: bool = False) -> tuple[int, bytes]:
    params = call_params(setup, to=SENDER, sid="CA" + secrets.token_hex(16))
    response = twilio_post(
        None if public_host else setup, "/webhooks/twilio/voice/", params, token=token or token_of(setup)
    )
    return response.status_code, response.content


def as_another_process() -> None:
    """What only this process knows of its own changes is forgotten: from now on it learns of them as any other
    process does, from the generation in Redis."""
    freshness._local.clear()


@pytest.fixture
def redis_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    nowhere = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1, socket_timeout=0.1)
    monkeypatch.setattr(freshness, "_redis", lambda: nowhere)
    monkeypatch.setattr(freshness, "_redis_down_until", 0.0)
    yield


@pytest.mark.parametrize("public_host", [False, True], ids=["tenant host", "public host"])
def test_a_changed_flow_is_what_the_next_call_hears(alpha_on_twilio: TenantSetup, public_host: bool) -> None:
    message_flow(alpha_on_twilio, "Before.")
    assert b"Before." in call(alpha_on_twilio, public_host=public_host)[1]

    message_flow(alpha_on_twilio, "After.")

    assert b"After." in call(alpha_on_twilio, public_host=public_host)[1]


def test_another_process_hears_the_change_once_it_is_committed(
    alpha_on_twilio: TenantSetup, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    message_flow(alpha_on_twilio, "Before.")
    as_another_process()
    assert b"Before." in call(alpha_on_twilio)[1]

    with django_capture_on_commit_callbacks(execute=False):  # changed, not committed (yet)
        message_flow(alpha_on_twilio, "After.")
    as_another_process()
    assert b"Before." in call(alpha_on_twilio)[1]

    with django_capture_on_commit_callbacks(execute=True):  # committed: the generation moves
        message_flow(alpha_on_twilio, "After.")
    as_another_process()
    assert b"After." in call(alpha_on_twilio)[1]


def test_a_new_auth_token_is_the_only_one_taken_at_the_next_request(alpha_on_twilio: TenantSetup) -> None:
    message_flow(alpha_on_twilio, "Hello.")
    old = token_of(alpha_on_twilio)
    assert call(alpha_on_twilio, token=old)[0] == 200

    account = TwilioAccount.objects.get(tenant=alpha_on_twilio.tenant)
    account.auth_token = new = secrets.token_hex(16)
    account.save()

    assert call(alpha_on_twilio, token=new)[0] == 200
    assert call(alpha_on_twilio, token=old)[0] == 403


def test_a_token_changed_behind_the_models_back_is_taken_at_once(alpha_on_twilio: TenantSetup) -> None:
    message_flow(alpha_on_twilio, "Hello.")
    assert call(alpha_on_twilio)[0] == 200

    new = secrets.token_hex(16)
    TwilioAccount.objects.filter(tenant=alpha_on_twilio.tenant).update(auth_token=new)  # no signal, no generation

    assert call(alpha_on_twilio, token=new)[0] == 200


def test_a_suspension_shows_in_another_process_at_its_next_request(
    alpha: TenantSetup, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    as_another_process()
    assert alpha.client(alpha.admin_key).get("/api/v1/tenant/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        tenant_suspend(tenant=alpha.tenant)
    as_another_process()

    assert alpha.client(alpha.admin_key).get("/api/v1/tenant/").status_code == 403


def test_without_redis_nothing_is_kept_and_calls_are_still_answered(
    alpha_on_twilio: TenantSetup, redis_unreachable: None
) -> None:
    message_flow(alpha_on_twilio, "Before.")
    assert b"Before." in call(alpha_on_twilio)[1]

    message_flow(alpha_on_twilio, "After.")
    as_another_process()

    status, body = call(alpha_on_twilio)
    assert status == 200 and b"After." in body
