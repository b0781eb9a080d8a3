"""A tenant's Twilio subaccount follows the tenant: suspended with it, reactivated with it; closing the tenant
releases its numbers and closes the subaccount. A tenant's own Twilio account is never touched."""

import pytest
import requests
from django.conf import settings
from django_tenants.utils import tenant_context

from telephony.gateway import TwilioGateway
from telephony.numbers import purchasing, services
from telephony.numbers.models import PhoneNumber
from telephony.numbers.tests.conftest import buy, sandbox_holders
from telephony.registry.models import PhoneNumberRoute, TwilioAccount, TwilioStatus
from telephony.registry.provisioning import (
    TwilioUnavailable,
    twilio_subaccount_close,
    twilio_subaccount_follow_tenant,
)
from tenants.services import tenant_reactivate, tenant_suspend
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def status_at_twilio(account_sid: str) -> str:
    accounts = requests.get(f"{settings.TWILIO_SANDBOX_URL}/sandbox/accounts", timeout=10).json()
    [account] = [a for a in accounts["accounts"] if a["sid"] == account_sid]
    return str(account["status"])


def test_suspending_and_reactivating_a_tenant_follows_at_twilio(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    tenant = alpha_connected.tenant
    account = TwilioAccount.objects.get(tenant=tenant)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        tenant_suspend(tenant=tenant, reason="unpaid")
    assert [(t.name, t.kwargs) for t in queued_tasks] == [
        ("telephony.registry.tasks.sync_twilio_subaccount_status", {"tenant_id": tenant.pk})
    ]
    twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
    assert status_at_twilio(account.account_sid) == "suspended"
    assert TwilioAccount.objects.get(pk=account.pk).twilio_status == TwilioStatus.SUSPENDED

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        tenant_reactivate(tenant=tenant)
        tenant.name = "Alpha renamed"
        tenant.save()  # not a status change: nothing queued
    assert len(queued_tasks) == 2
    twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
    assert status_at_twilio(account.account_sid) == "active"
    assert TwilioAccount.objects.get(pk=account.pk).twilio_status == TwilioStatus.ACTIVE
    assert buy(alpha_connected, area_code="212").status == PhoneNumber.Status.ACTIVE  # usable again


def test_the_sync_ends_in_the_tenants_latest_status_whatever_the_order(alpha_connected: TenantSetup) -> None:
    tenant = alpha_connected.tenant
    account = TwilioAccount.objects.get(tenant=tenant)
    tenant_suspend(tenant=tenant)
    tenant_reactivate(tenant=tenant)

    for _ in range(2):  # both tasks run after both changes
        twilio_subaccount_follow_tenant(tenant_id=tenant.pk)

    assert status_at_twilio(account.account_sid) == "active"


def test_a_tenants_own_twilio_account_is_left_alone(alpha_connected: TenantSetup) -> None:
    tenant = alpha_connected.tenant
    TwilioAccount.objects.filter(tenant=tenant).update(kind=TwilioAccount.Kind.OWN)
    account = TwilioAccount.objects.get(tenant=tenant)
    tenant_suspend(tenant=tenant)

    twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
    twilio_subaccount_close(tenant_id=tenant.pk)

    assert status_at_twilio(account.account_sid) == "active"
    assert TwilioAccount.objects.get(pk=account.pk).twilio_status == TwilioStatus.ACTIVE


def test_closing_a_tenant_releases_its_numbers_and_closes_the_subaccount(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    tenant = alpha_connected.tenant
    account = TwilioAccount.objects.get(tenant=tenant)
    active = [buy(alpha_connected, area_code=code) for code in ("404", "305")]
    with tenant_context(tenant):
        pending = services.number_purchase_request(tenant=tenant, area_code="702")

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert services.tenant_numbers_close(tenant=tenant) == 2
    assert [t.name for t in queued_tasks][-1] == "telephony.numbers.tasks.close_numbers"
    with tenant_context(tenant):
        for number_id in purchasing.numbers_releasing():  # what close_numbers does, then it closes the account
            purchasing.number_release(number_id=number_id)
        numbers = {n.pk: n for n in PhoneNumber.objects.all()}
    twilio_subaccount_close(tenant_id=tenant.pk)

    assert [numbers[n.pk].status for n in active] == [PhoneNumber.Status.RELEASED] * 2
    assert numbers[pending.pk].status == PhoneNumber.Status.FAILED and "closed" in numbers[pending.pk].status_detail
    for number in active:
        assert sandbox_holders(number.phone_number) == []
        assert not PhoneNumberRoute.objects.filter(phone_number=number.phone_number).exists()
    assert status_at_twilio(account.account_sid) == "closed"
    assert TwilioAccount.objects.get(pk=account.pk).twilio_status == TwilioStatus.CLOSED
    twilio_subaccount_follow_tenant(tenant_id=tenant.pk)  # closing is final: a reactivation does not undo it
    assert status_at_twilio(account.account_sid) == "closed"


def test_a_suspended_tenants_number_is_released_all_the_same(
    alpha_connected: TenantSetup, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    tenant = alpha_connected.tenant
    account = TwilioAccount.objects.get(tenant=tenant)
    number = buy(alpha_connected, area_code="615")
    tenant_suspend(tenant=tenant, reason="canceled")
    twilio_subaccount_follow_tenant(tenant_id=tenant.pk)
    assert status_at_twilio(account.account_sid) == "suspended"

    with tenant_context(tenant):
        services.number_release_request(number=number)
        released = purchasing.number_release(number_id=number.pk)

    assert released.status == PhoneNumber.Status.RELEASED, released.status_detail
    assert sandbox_holders(number.phone_number) == []
    assert status_at_twilio(account.account_sid) == "suspended"  # woken for the release only
    assert TwilioAccount.objects.get(pk=account.pk).twilio_status == TwilioStatus.SUSPENDED


def test_closing_a_tenant_suspends_it_and_releases_everything(
    alpha_connected: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    """What the staff admin's "Close this tenant" action does."""
    tenant = alpha_connected.tenant
    number = buy(alpha_connected, area_code="808")

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert services.tenant_close(tenant=tenant, reason="Closed by staff.") == 1

    tenant.refresh_from_db()
    assert (tenant.is_suspended, tenant.suspended_reason) == (True, "Closed by staff.")
    with tenant_context(tenant):
        assert PhoneNumber.objects.get(pk=number.pk).status == PhoneNumber.Status.RELEASING
    assert ("telephony.numbers.tasks.close_numbers", {"then_close_subaccount": True}) in [
        (t.name, t.kwargs) for t in queued_tasks
    ]


def test_a_release_refused_as_not_active_at_twilio_is_tried_again(alpha_connected: TenantSetup) -> None:
    """20005 after waking (or for a tenant's own account, never woken) is for a while, not an answer."""
    tenant = alpha_connected.tenant
    number = buy(alpha_connected, area_code="907")
    TwilioAccount.objects.filter(tenant=tenant).update(kind=TwilioAccount.Kind.OWN)
    account = TwilioAccount.objects.get(tenant=tenant)
    platform = TwilioGateway.platform()
    assert platform.set_subaccount_status(account_sid=account.account_sid, status="suspended").ok

    with tenant_context(tenant):
        services.number_release_request(number=number)
        with pytest.raises(TwilioUnavailable):
            purchasing.number_release(number_id=number.pk)
        waiting = PhoneNumber.objects.get(pk=number.pk)
        assert waiting.status == PhoneNumber.Status.RELEASING and "20005" in waiting.status_detail

        assert platform.set_subaccount_status(account_sid=account.account_sid, status="active").ok
        assert purchasing.number_release(number_id=number.pk).status == PhoneNumber.Status.RELEASED
