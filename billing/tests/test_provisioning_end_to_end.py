"""From Stripe's Checkout to the plan's number, through the real web server, Celery worker and both sandboxes, on
committed data: Twilio has no numbers at first, so provisioning fails, is shown, and is tried again; once Twilio
has numbers again it succeeds. The subscription stays active throughout. Then the tenant cancels, and once the
retention period is over the worker releases its number."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pytest_django.plugin import DjangoDbBlocker

from billing.lifecycle import subscriptions_enforce
from billing.models import (
    BillingProfile,
    Invoice,
    NumberProvisioning,
    Plan,
    StripeEvent,
    StripeRedirect,
    Subscription,
)
from billing.tasks import provision_due
from billing.tests.conftest import StripeSide, make_plan
from sandbox.stripe import StripeSandbox
from telephony.numbers.models import PhoneNumber
from telephony.registry.models import PhoneNumberRoute
from tenants.db import connection
from tenants.models import Tenant
from testsupport.processes import PlatformProcesses, eventually
from testsupport.tenants import TenantSetup
from testsupport.twilio import SandboxLog
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.worker


@pytest.fixture
def subscribing_alpha(
    stripe_double: StripeSandbox,
    committed_alpha: TenantSetup,
    platform_processes: PlatformProcesses,
    django_db_blocker: DjangoDbBlocker,
) -> Iterator[tuple[TenantSetup, Plan]]:
    """alpha, committed, with a plan of one number; the Stripe double sends its events to the web server."""
    with django_db_blocker.unblock():
        limits = {name: getattr(committed_alpha.tenant, name) for name in Plan.LIMIT_FIELDS}
        plan = make_plan("End to end", included_numbers=1)
        BillingProfile.objects.update_or_create(tenant=committed_alpha.tenant, defaults={"number_area_code": "415"})
    stripe_double.webhook_url = f"http://localhost:{platform_processes.web_port}/webhooks/stripe/"
    stripe_double.deliver = True
    try:
        yield committed_alpha, plan
    finally:
        stripe_double.deliver = False
        with django_db_blocker.unblock():
            tenant = committed_alpha.tenant
            with tenant_context(tenant):
                bought = list(PhoneNumber.objects.exclude(phone_number="").values_list("phone_number", flat=True))
                PhoneNumber.objects.all().delete()
            PhoneNumberRoute.objects.filter(phone_number__in=bought).delete()
            for model in (StripeEvent, StripeRedirect, Invoice, NumberProvisioning, Subscription, BillingProfile):
                model.objects.filter(tenant=tenant).delete()
            plan.delete()
            Tenant.objects.filter(pk=tenant.pk).update(status=Tenant.Status.ACTIVE, suspended_reason="", **limits)
            connection.set_schema_to_public()


def test_provisioning_fails_visibly_is_retried_and_succeeds_then_retention_releases(
    subscribing_alpha: tuple[TenantSetup, Plan],
    stripe_side: StripeSide,
    platform_processes: PlatformProcesses,
    sandbox_log: SandboxLog,
    django_db_blocker: DjangoDbBlocker,
) -> None:
    alpha, plan = subscribing_alpha
    sandbox_log.faults(no_numbers_available=True)
    with django_db_blocker.unblock():
        subscription_id = stripe_side.subscribe(alpha.tenant, plan)
        eventually(
            lambda: StripeEvent.objects.filter(tenant=alpha.tenant, processed_at__isnull=False).count() == 3,
            "the three events of the checkout to be processed",
            platform_processes,
        )

        failed = eventually(
            lambda: NumberProvisioning.objects.filter(
                tenant=alpha.tenant, status=NumberProvisioning.Status.FAILED
            ).first(),
            "provisioning to fail",
            platform_processes,
        )
        subscription = Subscription.objects.get(tenant=alpha.tenant)
        assert (subscription.stripe_subscription_id, subscription.status) == (subscription_id, "active")
        assert not alpha.tenant.is_suspended
        assert failed.attempts == 1 and failed.last_error and failed.next_attempt_at is not None
        assert failed.next_attempt_at - timezone.now() > timedelta(
            seconds=settings.BILLING_PROVISIONING_RETRY_SECONDS / 2
        )
        events = StripeEvent.objects.filter(tenant=alpha.tenant)
        assert {event.type: event.result for event in events} == {
            "customer.subscription.created": "applied",
            "invoice.paid": "applied",
            "checkout.session.completed": "applied",
        }
        page = signed_in(alpha).get("/billing/")
        assert page.status_code == 200
        assert "Failed, will try again" in page.content.decode() and failed.last_error in page.content.decode()

        # Beat finds nothing due before the backoff is over, even with numbers back.
        sandbox_log.faults()
        assert provision_due.run() == 0
        NumberProvisioning.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
        assert provision_due.run() == 1

        done = eventually(
            lambda: NumberProvisioning.objects.filter(
                tenant=alpha.tenant, status=NumberProvisioning.Status.DONE
            ).first(),
            "provisioning to succeed",
            platform_processes,
        )
        assert (done.attempts, done.last_error) == (0, "")
        with tenant_context(alpha.tenant):
            numbers = list(PhoneNumber.objects.filter(reason=PhoneNumber.Reason.PLAN).order_by("created_at"))
        assert [number.status for number in numbers] == ["failed", "active"], [
            (number.status, number.status_detail, number.created_at) for number in numbers
        ]
        assert numbers[1].phone_number.startswith("+1415")
        owned = requests.get(f"{settings.TWILIO_SANDBOX_URL}/sandbox/numbers", timeout=10).json()["numbers"]
        assert numbers[1].phone_number in {number["phone_number"] for number in owned}

        stripe_side.move(subscription_id, "canceled")
        ended = eventually(
            lambda: s if (s := Subscription.objects.get(tenant=alpha.tenant)).ended_at else None,
            "the cancellation",
            platform_processes,
        )
        assert alpha.tenant.is_suspended
        retention = timedelta(days=settings.BILLING_NUMBER_RETENTION_DAYS)
        assert ended.ended_at is not None
        assert subscriptions_enforce(now=ended.ended_at + retention).numbers_released == 1

        def released() -> PhoneNumber | None:
            with tenant_context(alpha.tenant):
                number = PhoneNumber.objects.get(pk=numbers[1].pk)
            return number if number.status == PhoneNumber.Status.RELEASED else None

        eventually(released, "the number's release by the worker", platform_processes)
        connection.set_schema_to_public()
    owned = requests.get(f"{settings.TWILIO_SANDBOX_URL}/sandbox/numbers", timeout=10).json()["numbers"]
    assert numbers[1].phone_number not in {number["phone_number"] for number in owned}
