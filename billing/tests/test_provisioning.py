"""Auto-provisioning's rules: what counts as missing, one purchase per missing number in the tenant's preferred
place, failures kept with a doubling backoff, and a burst of events that never becomes a burst of purchases.
(The whole path through a worker and the Twilio sandbox is in test_provisioning_end_to_end.)"""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import BillingProfile, NumberProvisioning, Plan, Subscription
from billing.provisioning import (
    STALLED_AFTER,
    Step,
    backoff,
    provisioning_due,
    provisioning_run,
    provisioning_start,
)
from billing.tasks import LOOK_AGAIN_MAX_SECONDS, LOOK_AGAIN_SECONDS, provision_numbers
from telephony.numbers.models import PhoneNumber
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribed_alpha(alpha: TenantSetup, plan: Plan) -> TenantSetup:
    Plan.objects.filter(pk=plan.pk).update(included_numbers=2)
    Subscription.objects.create(tenant=alpha.tenant, stripe_subscription_id="sub_prov", plan=plan, status="active")
    BillingProfile.objects.create(tenant=alpha.tenant, number_country="US", number_area_code="212")
    return alpha


def plan_numbers(setup: TenantSetup) -> list[PhoneNumber]:
    with tenant_context(setup.tenant):
        return list(PhoneNumber.objects.filter(reason=PhoneNumber.Reason.PLAN).order_by("id"))


def test_only_a_subscription_in_good_standing_missing_numbers_provisions(
    subscribed_alpha: TenantSetup, beta: TenantSetup
) -> None:
    assert provisioning_start(tenant=subscribed_alpha.tenant)
    assert not provisioning_start(tenant=beta.tenant)  # no subscription
    Subscription.objects.filter(tenant=subscribed_alpha.tenant).update(status="past_due")
    assert not provisioning_start(tenant=subscribed_alpha.tenant)


def test_a_run_asks_for_each_missing_number_where_the_tenant_wants_it(
    subscribed_alpha: TenantSetup,
    beta: TenantSetup,
    queued_tasks: list[QueuedTask],
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.LOOK_AGAIN

    asked = plan_numbers(subscribed_alpha)
    assert [(n.status, n.country, n.area_code) for n in asked] == [("pending", "US", "212")] * 2
    assert [task.name for task in queued_tasks] == ["telephony.numbers.tasks.purchase_number"] * 2
    assert plan_numbers(beta) == []
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.LOOK_AGAIN  # still being bought
    assert not provisioning_start(tenant=subscribed_alpha.tenant)  # an event meanwhile: they count as held
    assert len(plan_numbers(subscribed_alpha)) == 2  # and nothing asked for twice

    with tenant_context(subscribed_alpha.tenant):
        PhoneNumber.objects.filter(pk=asked[0].pk).update(status="active", phone_number="+12125550188")
        PhoneNumber.objects.filter(pk=asked[1].pk).update(status="failed", status_detail="No numbers in 212.")
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.WAIT
    failed = NumberProvisioning.objects.get(tenant=subscribed_alpha.tenant)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "No numbers in 212.")
    assert failed.next_attempt_at is not None

    # Events keep coming while it waits: none of them buys anything.
    assert not provisioning_start(tenant=subscribed_alpha.tenant)
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.WAIT
    assert provisioning_due(now=timezone.now()) == []
    assert provisioning_due(now=failed.next_attempt_at) == [subscribed_alpha.tenant.pk]

    NumberProvisioning.objects.filter(pk=failed.pk).update(next_attempt_at=timezone.now())
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.LOOK_AGAIN
    retried = plan_numbers(subscribed_alpha)
    assert [n.status for n in retried] == ["active", "failed", "pending"]  # one more, only the missing one
    with tenant_context(subscribed_alpha.tenant):
        PhoneNumber.objects.filter(pk=retried[2].pk).update(status="active", phone_number="+12125550189")
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.DONE
    done = NumberProvisioning.objects.get(tenant=subscribed_alpha.tenant)
    assert (done.status, done.attempts, done.last_error, done.wanted) == ("done", 0, "", 2)


@override_settings(BILLING_PROVISIONING_RETRY_SECONDS=60, BILLING_PROVISIONING_RETRY_MAX_SECONDS=600)
def test_the_backoff_doubles_up_to_its_maximum() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 9)] == [timedelta(seconds=s) for s in (60, 120, 240, 480, 600, 600)]


def test_a_run_still_looking_is_not_taken_for_a_lost_one_and_looks_less_often(
    subscribed_alpha: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    """A purchase pending for long (Twilio slow to answer) keeps one chain of looks, ever less often: beat does
    not start another beside it."""
    assert provisioning_run(tenant_id=subscribed_alpha.tenant.pk) is Step.LOOK_AGAIN  # the purchases asked for
    long_ago = timezone.now() - STALLED_AFTER - timedelta(minutes=1)
    NumberProvisioning.objects.filter(tenant=subscribed_alpha.tenant).update(updated_at=long_ago)

    for looks in range(8):
        provision_numbers.run(tenant_id=subscribed_alpha.tenant.pk, looks=looks)

    assert provisioning_due(now=timezone.now()) == []  # each look was recorded
    chain = [task for task in queued_tasks if task.name == "billing.tasks.provision_numbers"]
    assert [task.countdown for task in chain] == [
        min(LOOK_AGAIN_SECONDS * 2**looks, LOOK_AGAIN_MAX_SECONDS) for looks in range(8)
    ]
    assert chain[-1].countdown == LOOK_AGAIN_MAX_SECONDS
    assert len(plan_numbers(subscribed_alpha)) == 2  # nothing asked for again
