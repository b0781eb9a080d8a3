"""A tenant's subaccount follows the tenant: suspended with it, reactivated with it (a worker tells Twilio).

Hooked to the Tenant model's saves rather than called by tenants.services, which the registry already
depends on: whoever suspends a tenant (the staff API, the admin, billing) suspends its subaccount too.
"""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save

from telephony.registry.tasks import sync_twilio_subaccount_status
from tenants.models import Tenant

_PREVIOUS_STATUS = "_status_before_save"


def _remember_status(sender: type[Tenant], instance: Tenant, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    previous = Tenant.objects.filter(pk=instance.pk).values_list("status", flat=True).first()
    setattr(instance, _PREVIOUS_STATUS, previous)


def _follow_status(sender: type[Tenant], instance: Tenant, created: bool, **kwargs: Any) -> None:
    if created or getattr(instance, _PREVIOUS_STATUS, instance.status) == instance.status:
        return
    tenant_id = instance.pk
    transaction.on_commit(lambda: sync_twilio_subaccount_status.delay(tenant_id=tenant_id))


pre_save.connect(_remember_status, sender=Tenant, dispatch_uid="registry-tenant-status-before")
post_save.connect(_follow_status, sender=Tenant, dispatch_uid="registry-tenant-status-after")
