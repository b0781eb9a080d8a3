"""One tenant's appointments are out of another's reach: its key is refused on the other's host, and on its
own host the other's ids are not found."""

import pytest
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, AppointmentSettings, Notification
from telephony.appointments.tests.support import URL, book
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


def test_betas_key_cannot_read_or_change_alphas_appointments(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    appointment_id = book(alpha_on_twilio, notes="alpha's secret").json()["id"]
    on_alphas_host = alpha_on_twilio.client(beta.admin_key)
    on_betas_host = beta.client(beta.admin_key)
    with tenant_context(beta.tenant):
        assert not Appointment.objects.exists()

    requests = {
        "list": lambda c: c.get(URL),
        "read": lambda c: c.get(f"{URL}{appointment_id}/"),
        "change": lambda c: c.patch(f"{URL}{appointment_id}/", {"notes": "beta was here"}, format="json"),
        "cancel": lambda c: c.delete(f"{URL}{appointment_id}/"),
        "confirm": lambda c: c.post(f"{URL}{appointment_id}/confirmation/"),
        "remind": lambda c: c.post(f"{URL}{appointment_id}/reminder/"),
        "notifications": lambda c: c.get(f"{URL}{appointment_id}/notifications/"),
        "settings": lambda c: c.patch(f"{URL}settings/", {"reminder_offsets": [5]}, format="json"),
    }
    on_alpha = {name: send(on_alphas_host).status_code for name, send in requests.items()}
    on_beta = {name: send(on_betas_host).status_code for name, send in requests.items()}

    assert on_alpha == dict.fromkeys(requests, 401)
    assert on_beta == {
        "list": 200,
        "read": 404,
        "change": 404,
        "cancel": 404,
        "confirm": 404,
        "remind": 404,
        "notifications": 404,
        "settings": 200,  # beta's own settings
    }
    assert on_betas_host.get(URL).json()["results"] == []
    with tenant_context(alpha_on_twilio.tenant):
        alphas = Appointment.objects.get(pk=appointment_id)
        assert (alphas.status, alphas.notes) == ("booked", "alpha's secret")
        assert list(Notification.objects.values_list("kind", flat=True)) == ["confirmation"]
        assert not AppointmentSettings.objects.exists()
    with tenant_context(beta.tenant):
        assert AppointmentSettings.objects.get().reminder_offsets == [5]
