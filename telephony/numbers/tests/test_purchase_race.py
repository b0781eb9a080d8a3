"""Two tenants buy the same number at the same moment, in two threads with their own database connections:
exactly one gets it, the other's purchase fails with the reason, and the number routes to the winner only.

Twilio sells a number once, so on two Twilio accounts the loser learns it from Twilio (21422). Two tenants can
reach one Twilio account (both brought the same credentials): then both find the number in the account and both
get past Twilio, and the database's unique route is what keeps it to one; a number another tenant holds is never
taken by buying it.
"""

import threading

from django.db import connections
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from telephony.gateway import TwilioGateway
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, offered, sandbox_holders, sandbox_number
from telephony.registry import routing
from telephony.registry.models import PhoneNumberRoute, TwilioAccount
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog

ROUNDS = 3


def race(setups: tuple[TenantSetup, TenantSetup], phone_number: str) -> list[PhoneNumber]:
    pending = []
    for setup in setups:
        with tenant_context(setup.tenant):
            pending.append(services.number_purchase_request(tenant=setup.tenant, phone_number=phone_number))
    start = threading.Barrier(len(setups))
    results: list[PhoneNumber | BaseException] = [RuntimeError("did not run")] * len(setups)

    def purchase(index: int) -> None:
        try:
            with tenant_context(setups[index].tenant):
                start.wait(timeout=10)
                results[index] = purchasing.number_purchase(number_id=pending[index].pk)
        except BaseException as error:  # noqa: BLE001  (handed to the test thread)
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=purchase, args=(index,)) for index in range(len(setups))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if isinstance(result, PhoneNumber)]


def test_exactly_one_of_two_concurrent_buyers_gets_the_number(
    committed_pair: tuple[TenantSetup, TenantSetup],
    django_db_blocker: DjangoDbBlocker,
    sandbox_log: SandboxLog,
    queued_tasks: list[QueuedTask],
) -> None:
    # Both buyers have asked Twilio whether they own it before either buy is answered.
    sandbox_log.faults(delay_ms=150, methods=["POST"], path_contains="/IncomingPhoneNumbers")
    with django_db_blocker.unblock():
        for area_code in ("415", "213", "602")[:ROUNDS]:
            phone_number = offered(AreaCode=area_code)
            outcomes = race(committed_pair, phone_number)

            statuses = sorted(number.status for number in outcomes)
            assert statuses == [PhoneNumber.Status.ACTIVE, PhoneNumber.Status.FAILED], [
                (n.status, n.status_detail) for n in outcomes
            ]
            [won] = [index for index, number in enumerate(outcomes) if number.status == PhoneNumber.Status.ACTIVE]
            lost = outcomes[1 - won]
            assert "21422" in lost.status_detail and phone_number in lost.status_detail
            winner = committed_pair[won].tenant
            [route] = PhoneNumberRoute.objects.filter(phone_number=phone_number)
            assert route.tenant_id == winner.pk
            [holder] = sandbox_holders(phone_number)
            assert holder["account_sid"] == TwilioAccount.objects.get(tenant=winner).account_sid
            assert holder["sid"] == outcomes[won].twilio_sid
    assert len(queued_tasks) == 2 * ROUNDS  # each purchase was queued once, and nothing else


def share_alphas_account(setups: tuple[TenantSetup, TenantSetup]) -> TwilioAccount:
    """beta brings alpha's Twilio credentials as its own."""
    shared = TwilioAccount.objects.get(tenant=setups[0].tenant)
    TwilioAccount.objects.filter(tenant=setups[1].tenant).update(
        kind=TwilioAccount.Kind.OWN, account_sid=shared.account_sid, auth_token=shared.auth_token
    )
    return shared


def test_two_buyers_on_one_twilio_account_both_past_twilio_one_gets_the_number(
    committed_pair: tuple[TenantSetup, TenantSetup],
    django_db_blocker: DjangoDbBlocker,
    sandbox_log: SandboxLog,
    queued_tasks: list[QueuedTask],
) -> None:
    """Both find the number already in the shared account and adopt it: only the unique route decides."""
    # Both have checked the route and asked Twilio before either configuration is answered.
    sandbox_log.faults(delay_ms=300, methods=["POST"], path_contains="/IncomingPhoneNumbers/PN")
    with django_db_blocker.unblock():
        shared = share_alphas_account(committed_pair)
        for area_code in ("415", "213")[:ROUNDS]:
            phone_number = offered(AreaCode=area_code)
            bought = TwilioGateway(account_sid=shared.account_sid, auth_token=shared.auth_token).buy_number(
                phone_number=phone_number
            )
            assert bought.ok, bought.message
            outcomes = race(committed_pair, phone_number)

            statuses = sorted(number.status for number in outcomes)
            assert statuses == [PhoneNumber.Status.ACTIVE, PhoneNumber.Status.FAILED], [
                (n.status, n.status_detail) for n in outcomes
            ]
            [won] = [index for index, number in enumerate(outcomes) if number.status == PhoneNumber.Status.ACTIVE]
            lost = outcomes[1 - won]
            assert f"{phone_number} is another Switchboard account's number" in lost.status_detail
            [route] = PhoneNumberRoute.objects.filter(phone_number=phone_number)
            assert route.tenant_id == committed_pair[won].tenant.pk


def test_a_number_another_tenant_holds_is_never_taken_by_buying_it(
    committed_pair: tuple[TenantSetup, TenantSetup], django_db_blocker: DjangoDbBlocker, queued_tasks: list[QueuedTask]
) -> None:
    alpha, beta = committed_pair
    with django_db_blocker.unblock():
        shared = share_alphas_account(committed_pair)
        alphas = buy(alpha, area_code="212")
        assert alphas.status == PhoneNumber.Status.ACTIVE, alphas.status_detail
        configured = sandbox_number(shared.account_sid, shared.auth_token, alphas.twilio_sid)

        betas = buy(beta, phone_number=alphas.phone_number)

        assert betas.status == PhoneNumber.Status.FAILED
        assert betas.status_detail == (
            f"{alphas.phone_number} is another Switchboard account's number; choose another number."
        )
        [route] = PhoneNumberRoute.objects.filter(phone_number=alphas.phone_number)
        assert route.tenant_id == alpha.tenant.pk
        now = sandbox_number(shared.account_sid, shared.auth_token, alphas.twilio_sid)
        assert (now["voice_url"], now["sms_url"]) == (configured["voice_url"], configured["sms_url"])  # still alpha's
        with tenant_context(alpha.tenant):
            assert PhoneNumber.objects.get(pk=alphas.pk).status == PhoneNumber.Status.ACTIVE


def test_the_route_table_keeps_a_number_to_one_tenant_whoever_registers_it_at_once(
    committed_pair: tuple[TenantSetup, TenantSetup], django_db_blocker: DjangoDbBlocker
) -> None:
    """The database's unique constraint, when two purchases record the same number at once: one row, owned by
    the one that was not refused, never two and never moved."""
    phone_number = "+12125550199"
    start = threading.Barrier(2)
    taken: list[int] = []
    errors: list[BaseException] = []

    def register(setup: TenantSetup) -> None:
        try:
            start.wait(timeout=10)
            routing.number_route_register(tenant=setup.tenant, phone_number=phone_number)
        except routing.NumberRouteTaken:
            taken.append(setup.tenant.pk)
        except BaseException as error:  # noqa: BLE001  (handed to the test thread)
            errors.append(error)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        try:
            for _ in range(5):
                taken.clear()
                threads = [threading.Thread(target=register, args=(setup,)) for setup in committed_pair]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=30)
                assert errors == []
                [route] = PhoneNumberRoute.objects.filter(phone_number=phone_number)
                assert len(taken) == 1 and route.tenant_id != taken[0]
                PhoneNumberRoute.objects.filter(phone_number=phone_number).delete()
        finally:
            PhoneNumberRoute.objects.filter(phone_number=phone_number).delete()
