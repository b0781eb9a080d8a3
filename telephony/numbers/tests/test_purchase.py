"""Buying a number: bought at Twilio already pointed at the platform, then routed, sendable and answerable at once."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import tenant_context

from telephony.inbound.models import NumberSettings
from telephony.models import SenderNumber
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, offered, sandbox_holders, sandbox_number
from telephony.registry.models import TwilioAccount
from telephony.registry.routing import tenant_for_number
from tenants.hosts import tenant_base_url
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_a_given_number_is_bought_configured_and_ready(alpha_connected: TenantSetup) -> None:
    wanted = offered(AreaCode="212")

    number = buy(alpha_connected, phone_number=wanted, friendly_name="Front desk")

    account = TwilioAccount.objects.get(tenant=alpha_connected.tenant)
    assert number.status == PhoneNumber.Status.ACTIVE, number.status_detail
    assert (number.phone_number, number.friendly_name, number.country) == (wanted, "Front desk", "US")
    assert number.twilio_sid.startswith("PN") and number.provisioned_at is not None
    assert number.capabilities["voice"] is True
    assert (number.monthly_cost, number.currency) == (Decimal("1.15"), "USD")
    [holder] = sandbox_holders(wanted)
    assert (holder["account_sid"], holder["sid"]) == (account.account_sid, number.twilio_sid)
    at_twilio = sandbox_number(account.account_sid, account.auth_token, number.twilio_sid)
    base = tenant_base_url(alpha_connected.tenant)
    assert at_twilio["voice_url"] == base + "/webhooks/twilio/voice/"
    assert at_twilio["sms_url"] == base + "/webhooks/twilio/sms/"
    assert at_twilio["status_callback"] == base + "/webhooks/twilio/voice/status/"
    assert tenant_for_number(wanted) == alpha_connected.tenant
    with tenant_context(alpha_connected.tenant):
        sender = SenderNumber.objects.get(phone_number=wanted)
        assert (sender.status, sender.twilio_sid, sender.kind) == ("verified", number.twilio_sid, "long_code")
        assert NumberSettings.objects.filter(phone_number=wanted).exists()


def test_the_first_number_of_an_area_code(alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="512")

    assert number.status == PhoneNumber.Status.ACTIVE, number.status_detail
    assert number.phone_number.startswith("+1512") and number.area_code == "512"
    assert tenant_for_number(number.phone_number) == alpha_connected.tenant


@pytest.mark.parametrize(
    ("country", "number_type", "prefix", "cost"),
    [("GB", "mobile", "+447", "1.15"), ("AU", "toll_free", "+611800", "16.00"), ("CA", "local", "+1", "1.15")],
)
def test_the_first_number_of_a_country_and_type(
    alpha_connected: TenantSetup, country: str, number_type: str, prefix: str, cost: str
) -> None:
    number = buy(alpha_connected, country=country, number_type=number_type)

    assert number.status == PhoneNumber.Status.ACTIVE, number.status_detail
    assert number.phone_number.startswith(prefix) and number.country == country
    assert number.monthly_cost == Decimal(cost)
    with tenant_context(alpha_connected.tenant):
        kind = SenderNumber.objects.get(phone_number=number.phone_number).kind
    assert kind == ("toll_free" if number_type == "toll_free" else "long_code")


def test_numbers_can_point_at_the_public_host(alpha_connected: TenantSetup) -> None:
    with override_settings(NUMBERS_WEBHOOK_HOST="public"):
        number = buy(alpha_connected, area_code="617")

    account = TwilioAccount.objects.get(tenant=alpha_connected.tenant)
    at_twilio = sandbox_number(account.account_sid, account.auth_token, number.twilio_sid)
    assert at_twilio["voice_url"].startswith(f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}")
    assert at_twilio["voice_url"].endswith("/webhooks/twilio/voice/")


def test_a_purchase_waits_for_the_tenants_twilio_account(alpha_connected: TenantSetup) -> None:
    TwilioAccount.objects.filter(tenant=alpha_connected.tenant).update(status=TwilioAccount.Status.PROVISIONING)
    from telephony.registry.provisioning import TwilioUnavailable

    with pytest.raises(TwilioUnavailable):
        buy(alpha_connected, area_code="303")
    with tenant_context(alpha_connected.tenant):
        waiting = PhoneNumber.objects.get()
    assert waiting.status == PhoneNumber.Status.PENDING
    assert "being created" in waiting.status_detail
