"""Each way Twilio refuses a purchase ends it as failed with a sentence that says why; what Twilio could not answer
leaves it pending, to be tried again (and then it succeeds)."""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from twilio.rest import Client

from sandbox.twilio import SandboxHttpClient
from telephony.gateway import Outcome, TwilioGateway
from telephony.numbers import purchasing
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, offered, sandbox_holders
from telephony.registry.models import PhoneNumberRoute, TwilioAccount
from telephony.registry.provisioning import TwilioUnavailable
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog, buy_on_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def master() -> Client:
    return Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        http_client=SandboxHttpClient(settings.TWILIO_SANDBOX_URL),
    )


@pytest.fixture
def suspended_subaccount(alpha_connected: TenantSetup, master: Client) -> Iterator[TwilioAccount]:
    account = TwilioAccount.objects.get(tenant=alpha_connected.tenant)
    master.api.v2010.accounts(account.account_sid).update(status="suspended")
    yield account
    master.api.v2010.accounts(account.account_sid).update(status="active")


def assert_failed(number: PhoneNumber, *words: str) -> None:
    assert number.status == PhoneNumber.Status.FAILED
    for word in words:
        assert word in number.status_detail, number.status_detail
    assert not PhoneNumberRoute.objects.filter(phone_number=number.phone_number or "-").exists()


def test_no_numbers_available(alpha_connected: TenantSetup, sandbox_log: SandboxLog) -> None:
    sandbox_log.faults(no_numbers_available=True)

    by_country = buy(alpha_connected, country="GB", number_type="mobile")
    by_area_code = buy(alpha_connected, area_code="206")

    assert_failed(by_country, "no mobile numbers available in GB")
    assert_failed(by_area_code, "no numbers in area code 206", "21452")


def test_a_number_someone_else_owns(alpha_connected: TenantSetup, beta_connected: TenantSetup) -> None:
    taken = offered(AreaCode="305")
    buy_on_sandbox(TwilioAccount.objects.get(tenant=beta_connected.tenant), taken)

    number = buy(alpha_connected, phone_number=taken)

    assert_failed(number, taken, "no longer available", "21422")
    [holder] = sandbox_holders(taken)
    assert holder["account_sid"] == TwilioAccount.objects.get(tenant=beta_connected.tenant).account_sid


def test_an_area_code_without_numbers(alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="533")  # Twilio's (and the sandbox's) area code with nothing for sale

    assert_failed(number, "area code 533", "21452")


def test_a_suspended_twilio_account(suspended_subaccount: TwilioAccount, alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, area_code="404")

    assert_failed(number, "suspended or closed", "20005")


def test_a_number_that_needs_an_address(alpha_connected: TenantSetup) -> None:
    number = buy(alpha_connected, country="DE", number_type="local")

    assert_failed(number, "address", "21631")


def test_twilio_errors_leave_it_pending_and_the_retry_succeeds(
    alpha_connected: TenantSetup, sandbox_log: SandboxLog
) -> None:
    sandbox_log.faults(error_500_rate=1.0, path_contains="/IncomingPhoneNumbers")
    with pytest.raises(TwilioUnavailable):
        buy(alpha_connected, area_code="702")
    with tenant_context(alpha_connected.tenant):
        waiting = PhoneNumber.objects.get()
        assert (waiting.status, waiting.attempts) == (PhoneNumber.Status.PENDING, 1)
        assert "trying again" in waiting.status_detail

        sandbox_log.faults()
        done = purchasing.number_purchase(number_id=waiting.pk)

    assert done.status == PhoneNumber.Status.ACTIVE and done.phone_number.startswith("+1702")
    assert done.attempts == 2 and done.status_detail == ""


def test_the_gateways_lists_on_a_suspended_account_are_refusals_not_retries(
    suspended_subaccount: TwilioAccount,
) -> None:
    gateway = TwilioGateway(account_sid=suspended_subaccount.account_sid, auth_token=suspended_subaccount.auth_token)

    for result in (
        gateway.owned_number(phone_number="+14045550100"),
        gateway.verified_caller_id(phone_number="+14045550100"),
        gateway.calls_placed_since(to="+14045550100", from_="+14045550101", since=timezone.now()),
    ):
        assert (result.outcome, result.twilio_code) == (Outcome.PERMANENT, 20005)
