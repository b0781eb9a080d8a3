"""What the appointment tests share: booking through the API, and keys with each role."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from tenants.accounts.roles import Role
from tenants.services import api_key_create
from testsupport.tenants import TenantSetup

if TYPE_CHECKING:
    from rest_framework.response import _MonkeyPatchedResponse as Response  # what APIClient answers (the stubs)

URL = "/api/v1/appointments/"
CUSTOMER = "+14155552671"


def in_hours(hours: float) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def book(setup: TenantSetup, key: str | None = None, **fields: Any) -> "Response":
    payload = {
        "customer_name": "Ann Lee",
        "phone_number": CUSTOMER,
        "starts_at": in_hours(72).isoformat(),
        "time_zone": "America/New_York",
        "service": "Haircut",
        **fields,
    }
    return setup.client(key or setup.admin_key).post(URL, payload, format="json")


def key_with_role(setup: TenantSetup, role: Role) -> str:
    _, raw = api_key_create(tenant=setup.tenant, name=role.value, role=role)
    return raw
