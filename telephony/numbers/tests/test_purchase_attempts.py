"""Work on a number that overlaps other work, in threads with their own database connections: a second attempt
at a purchase while the first still waits for Twilio (the stalled-work sweep, or the broker handing an acks_late
task on) leaves it to the first, so nothing is bought twice; a purchase that ends meanwhile gives back what it
bought; two wakings of a suspended subaccount (releases) take turns."""

import threading
import time
from collections.abc import Callable

import requests
from django.conf import settings
from django.db import connections
from django_tenants.utils import tenant_context
from pytest_django import DjangoDbBlocker

from telephony.gateway import TwilioGateway
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy
from telephony.numbers.tests.test_subaccount_lifecycle import status_at_twilio
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import twilio_subaccount_awake, twilio_subaccount_follow_tenant
from tenants.services import tenant_reactivate, tenant_suspend
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog


def numbers_named(account: TwilioAccount, friendly_name: str) -> list[str]:
    answer = requests.get(
        f"{account_base(account)}/IncomingPhoneNumbers.json",
        params={"FriendlyName": friendly_name},
        auth=(account.account_sid, account.auth_token),
        timeout=10,
    )
    answer.raise_for_status()
    return [number["phone_number"] for number in answer.json()["incoming_phone_numbers"]]


def account_base(account: TwilioAccount) -> str:
    return f"{settings.TWILIO_SANDBOX_URL}/2010-04-01/Accounts/{account.account_sid}"


def purchase_attempt(
    setup: TenantSetup, pending: PhoneNumber, *, into: list[PhoneNumber | BaseException]
) -> Callable[[], None]:
    """A worker's attempt at the purchase, to run in a thread of its own: what it returns or raises goes `into`."""

    def attempt() -> None:
        try:
            with tenant_context(setup.tenant):
                into.append(purchasing.number_purchase(number_id=pending.pk))
        except BaseException as error:  # noqa: BLE001  (handed to the test thread)
            into.append(error)
        finally:
            connections.close_all()

    return attempt


def test_a_second_attempt_while_the_first_runs_leaves_the_purchase_to_it(
    committed_pair: tuple[TenantSetup, TenantSetup],
    django_db_blocker: DjangoDbBlocker,
    sandbox_log: SandboxLog,
    queued_tasks: list[QueuedTask],
) -> None:
    alpha = committed_pair[0]
    # The first attempt's look for an earlier purchase is slow: the second arrives while it waits.
    sandbox_log.faults(delay_ms=400, methods=["GET"], path_contains="/IncomingPhoneNumbers")
    with django_db_blocker.unblock():
        with tenant_context(alpha.tenant):
            pending = services.number_purchase_request(tenant=alpha.tenant, area_code="303")
        results: list[PhoneNumber | BaseException] = []
        attempt = purchase_attempt(alpha, pending, into=results)

        first = threading.Thread(target=attempt)
        first.start()
        time.sleep(0.15)
        second = threading.Thread(target=attempt)
        second.start()
        for thread in (first, second):
            thread.join(timeout=60)
        sandbox_log.faults()

        assert not [r for r in results if isinstance(r, BaseException)], results
        assert [r.status for r in results if isinstance(r, PhoneNumber)] == [  # the second is back at once
            PhoneNumber.Status.PENDING,
            PhoneNumber.Status.ACTIVE,
        ]
        with tenant_context(alpha.tenant):
            bought = PhoneNumber.objects.get(pk=pending.pk)
        assert (bought.status, bought.attempts) == (PhoneNumber.Status.ACTIVE, 1)
        account = TwilioAccount.objects.get(tenant=alpha.tenant)
        assert numbers_named(account, bought.twilio_marker) == [bought.phone_number]  # bought once at Twilio


def test_a_number_bought_after_the_tenant_was_closed_goes_back_to_twilio(
    committed_pair: tuple[TenantSetup, TenantSetup],
    django_db_blocker: DjangoDbBlocker,
    sandbox_log: SandboxLog,
    queued_tasks: list[QueuedTask],
) -> None:
    alpha = committed_pair[0]
    # The buy is slow: the account is closed while Twilio sells the number.
    sandbox_log.faults(delay_ms=500, methods=["POST"], path_contains="/IncomingPhoneNumbers.json")
    with django_db_blocker.unblock():
        with tenant_context(alpha.tenant):
            pending = services.number_purchase_request(tenant=alpha.tenant, area_code="503")
        results: list[PhoneNumber | BaseException] = []
        attempt = purchase_attempt(alpha, pending, into=results)

        worker = threading.Thread(target=attempt)
        worker.start()
        time.sleep(0.2)
        services.tenant_numbers_close(tenant=alpha.tenant, close_subaccount=False)
        worker.join(timeout=60)
        sandbox_log.faults()

        [ended] = results
        assert isinstance(ended, PhoneNumber) and ended.status == PhoneNumber.Status.FAILED, ended
        assert "closed" in ended.status_detail
        account = TwilioAccount.objects.get(tenant=alpha.tenant)
        assert numbers_named(account, ended.twilio_marker) == []  # not kept, and not paid for


def test_one_waking_of_a_suspended_subaccount_at_a_time(
    committed_pair: tuple[TenantSetup, TenantSetup], django_db_blocker: DjangoDbBlocker, queued_tasks: list[QueuedTask]
) -> None:
    """A worker done with its waking must not suspend the subaccount while another's release is under way."""
    alpha = committed_pair[0]
    tenant = alpha.tenant
    with django_db_blocker.unblock():
        number = buy(alpha, area_code="505")
        tenant_suspend(tenant=tenant, reason="canceled")
        try:
            twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
            account = TwilioAccount.objects.get(tenant=tenant)
            assert status_at_twilio(account.account_sid) == "suspended"
            gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
            entered, first_done = threading.Event(), threading.Event()
            released: list[object] = []

            def second_waking() -> None:
                try:
                    with twilio_subaccount_awake(tenant_id=tenant.pk):
                        entered.set()
                        first_done.wait(timeout=5)
                        released.append(gateway.release_number(sid=number.twilio_sid))
                except BaseException as error:  # noqa: BLE001  (handed to the test thread)
                    released.append(error)
                finally:
                    connections.close_all()

            with twilio_subaccount_awake(tenant_id=tenant.pk):
                second = threading.Thread(target=second_waking)
                second.start()
                entered.wait(timeout=1)  # without the lock, the second is inside by now
            first_done.set()
            second.join(timeout=30)

            [result] = released
            assert getattr(result, "ok", False), result
            assert status_at_twilio(account.account_sid) == "suspended"  # and asleep again after both
        finally:
            tenant_reactivate(tenant=tenant)
            twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
