"""GET/PATCH /api/v1/appointments/settings/: the tenant's reminder offsets and texts, checked when saved."""

from typing import Any

import pytest

from telephony.appointments.models import DEFAULT_CONFIRMATION_TEMPLATE, DEFAULT_REMINDER_TEMPLATE
from telephony.appointments.tests.support import URL, book
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

SETTINGS = f"{URL}settings/"


def test_the_defaults_until_changed(alpha: TenantSetup) -> None:
    body = alpha.client(alpha.admin_key).get(SETTINGS).json()
    assert {k: v for k, v in body.items() if k != "updated_at"} == {
        "reminder_offsets": [1440, 120],
        "confirmation_template": DEFAULT_CONFIRMATION_TEMPLATE,
        "reminder_template": DEFAULT_REMINDER_TEMPLATE,
        "staff_notifications": True,
        "default_time_zone": "UTC",
    }


def test_changes_are_kept_and_used(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    template = "{customer_name}: {service} with {staff_name}, {date} {time} ({tenant_name})"

    response = client.patch(
        SETTINGS, {"reminder_offsets": [60, 1440, 60, 30], "confirmation_template": template}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["reminder_offsets"] == [1440, 60, 30]
    assert client.get(SETTINGS).json()["confirmation_template"] == template
    appointment_id = book(alpha_on_twilio, starts_at="2027-01-05T16:05:00", time_zone="Europe/Berlin").json()["id"]
    [confirmation] = client.get(f"{URL}{appointment_id}/notifications/").json()["results"]
    assert confirmation["body"] == "Ann Lee: Haircut with our team, Tue Jan 5, 2027 4:05 PM (Alpha)"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"confirmation_template": "Hi {first_name}"}, "confirmation_template", "{first_name} is not one of"),
        ({"reminder_template": "On {date}~SSML~weird"}, "reminder_template", "Unknown SSML type"),
        ({"reminder_template": "{MP3~jingle} see you"}, "reminder_template", "plays a voice file"),
        ({"reminder_template": "   "}, "reminder_template", ""),
        ({"reminder_offsets": [0]}, "reminder_offsets", ""),
        ({"reminder_offsets": ["soon"]}, "reminder_offsets", ""),
        ({"reminder_offsets": list(range(1, 12))}, "reminder_offsets", ""),
        ({"reminder_offsets": [60 * 24 * 31]}, "reminder_offsets", ""),
        ({"default_time_zone": "Europe/Atlantis"}, "default_time_zone", "not an IANA time zone"),
    ],
)
def test_bad_settings_are_refused_on_their_field(
    alpha: TenantSetup, change: dict[str, Any], field: str, message: str
) -> None:
    client = alpha.client(alpha.admin_key)
    response = client.patch(SETTINGS, change, format="json")

    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field] and message in " ".join(response.json()["errors"][field])
    assert client.get(SETTINGS).json()["reminder_offsets"] == [1440, 120]


def test_no_reminders_at_all_is_a_setting(alpha: TenantSetup) -> None:
    response = alpha.client(alpha.admin_key).patch(SETTINGS, {"reminder_offsets": []}, format="json")
    assert response.status_code == 200 and response.json()["reminder_offsets"] == []
