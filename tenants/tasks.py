from celery import shared_task

from tenants.accounts.models import User
from tenants.db import connection, current_tenant
from tenants.invitations import user_send_invitation
from tenants.schema_template import refill_schema_pool


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(*, user_id: int) -> None:
    """Runs in the inviting tenant's schema (tenant-schemas-celery carries it), where the user lives."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        user_send_invitation(user=user, tenant=current_tenant())


@shared_task
def refill_tenant_schema_pool() -> int:
    """After each onboarding, and from beat: keeps ready-made schemas waiting for the next tenants."""
    made = refill_schema_pool()
    # A backend that has cloned many schemas grows and slows down; start the next refill on a fresh one.
    connection.close()
    return made
