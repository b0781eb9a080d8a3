"""/api/v1/appointments/: booking, reading, filtering, changing and cancelling, with field-level errors."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, StaffMember
from telephony.appointments.tests.support import CUSTOMER, URL, book, in_hours
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_booking_answers_the_appointment_in_its_own_time_zone(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", phone_number="+14155550111")

    response = book(
        alpha_on_twilio,
        customer_name="  Ann Lee ",
        phone_number="+1 (415) 555-2671",
        starts_at="2027-07-01T10:30:00",  # wall-clock time in New York (EDT, -04:00)
        staff_id=maria.pk,
        email="ann@example.com",
        notes="Prefers mornings",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert body["starts_at"] == "2027-07-01T10:30:00-04:00"
    assert (body["customer_name"], body["phone_number"], body["staff_id"], body["staff_name"]) == (
        "Ann Lee",
        CUSTOMER,
        maria.pk,
        "Maria",
    )
    assert (body["status"], body["time_zone"], body["email"]) == ("booked", "America/New_York", "ann@example.com")
    with tenant_context(alpha_on_twilio.tenant):
        stored = Appointment.objects.get(pk=body["id"])
    assert stored.starts_at == datetime(2027, 7, 1, 14, 30, tzinfo=UTC)
    fetched = alpha_on_twilio.client(alpha_on_twilio.admin_key).get(f"{URL}{body['id']}/").json()
    assert fetched == body


def test_a_start_with_an_offset_is_that_instant_whatever_the_zone(alpha_on_twilio: TenantSetup) -> None:
    body = book(alpha_on_twilio, starts_at="2027-01-15T09:00:00+00:00", time_zone="Europe/Berlin").json()
    assert body["starts_at"] == "2027-01-15T10:00:00+01:00"


def test_field_errors_come_as_problem_json_and_nothing_is_booked(alpha_on_twilio: TenantSetup) -> None:
    response = book(
        alpha_on_twilio,
        customer_name="",
        phone_number="555-2671",
        email="not-an-email",
        time_zone="Mars/Olympus_Mons",
        service="x" * 201,
        staff_id=999999,
    )

    body = response.json()
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert body["type"] == "urn:switchboard:problem:validation-error" and body["status"] == 400
    assert set(body["errors"]) == {"customer_name", "phone_number", "email", "time_zone", "service", "staff_id"}
    assert "IANA time zone" in body["errors"]["time_zone"][0]
    assert "E.164" in body["errors"]["phone_number"][0]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("starts_at", "time_zone", "message"),
    [
        ("2027-03-14T02:30:00", "America/New_York", "does not exist in America/New_York"),  # clocks skip 02:00-03:00
        ("2027-03-28T02:30:00", "Europe/Berlin", "does not exist in Europe/Berlin"),
        ("2020-01-01T10:00:00+00:00", "UTC", "in the past"),
        ("tomorrow at ten", "UTC", "Datetime has wrong format"),
    ],
)
def test_a_start_that_cannot_be_is_refused_on_its_field(
    alpha_on_twilio: TenantSetup, starts_at: str, time_zone: str, message: str
) -> None:
    response = book(alpha_on_twilio, starts_at=starts_at, time_zone=time_zone)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["starts_at"] and message in response.json()["errors"]["starts_at"][0]


def test_the_hour_repeated_in_autumn_is_its_first_occurrence(alpha_on_twilio: TenantSetup) -> None:
    body = book(alpha_on_twilio, starts_at="2027-11-07T01:30:00", time_zone="America/New_York").json()
    assert body["starts_at"] == "2027-11-07T01:30:00-04:00"  # EDT, before the clocks go back


def test_without_a_time_zone_the_settings_default_applies(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    assert client.patch(f"{URL}settings/", {"default_time_zone": "Europe/Berlin"}, format="json").status_code == 200
    payload = {"customer_name": "Bo", "phone_number": CUSTOMER, "service": "Cut", "starts_at": "2027-07-01T10:00"}

    body = client.post(URL, payload, format="json").json()

    assert (body["time_zone"], body["starts_at"]) == ("Europe/Berlin", "2027-07-01T10:00:00+02:00")


def test_list_filters_by_status_staff_and_dates(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria")
    soon = book(alpha_on_twilio, starts_at=in_hours(24).isoformat(), staff_id=maria.pk).json()
    later = book(alpha_on_twilio, starts_at=in_hours(240).isoformat()).json()
    cancelled = book(alpha_on_twilio, starts_at=in_hours(48).isoformat()).json()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    assert client.delete(f"{URL}{cancelled['id']}/").status_code == 204

    def ids(**query: Any) -> list[int]:
        response = client.get(URL, query)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [soon["id"], cancelled["id"], later["id"]]
    assert ids(status="cancelled") == [cancelled["id"]]
    assert ids(staff=maria.pk) == [soon["id"]]
    assert ids(starts_after=in_hours(100).isoformat()) == [later["id"]]
    assert ids(starts_before=in_hours(30).isoformat()) == [soon["id"]]
    bad = client.get(URL, {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["errors"]


def test_patch_changes_only_what_is_given(alpha_on_twilio: TenantSetup) -> None:
    created = book(alpha_on_twilio, starts_at="2027-07-01T10:30:00").json()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    moved = client.patch(f"{URL}{created['id']}/", {"starts_at": "2027-07-02T11:00:00"}, format="json").json()
    rezoned = client.patch(f"{URL}{created['id']}/", {"time_zone": "Europe/Berlin"}, format="json").json()
    confirmed = client.patch(f"{URL}{created['id']}/", {"status": "confirmed", "notes": "VIP"}, format="json")
    refused = client.patch(f"{URL}{created['id']}/", {"status": "lost", "phone_number": "12"}, format="json")

    assert moved["starts_at"] == "2027-07-02T11:00:00-04:00" and moved["customer_name"] == "Ann Lee"
    assert rezoned["starts_at"] == "2027-07-02T17:00:00+02:00"  # the same instant, read in Berlin
    assert confirmed.status_code == 200 and (confirmed.json()["status"], confirmed.json()["notes"]) == (
        "confirmed",
        "VIP",
    )
    assert refused.status_code == 400 and set(refused.json()["errors"]) == {"status", "phone_number"}
    assert client.put(f"{URL}{created['id']}/", {}, format="json").status_code == 405


def test_delete_cancels_and_keeps_the_record(alpha_on_twilio: TenantSetup) -> None:
    created = book(alpha_on_twilio).json()
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    assert client.delete(f"{URL}{created['id']}/").status_code == 204
    assert client.get(f"{URL}{created['id']}/").json()["status"] == "cancelled"
    assert client.delete(f"{URL}{created['id']}/").status_code == 204  # cancelling twice changes nothing
    assert client.get(f"{URL}999999/").status_code == 404


def test_viewers_read_and_operators_write(alpha_on_twilio: TenantSetup, viewer_key: str, operator_key: str) -> None:
    created = book(alpha_on_twilio, key=operator_key)
    assert created.status_code == 201
    appointment_id = created.json()["id"]
    viewer = alpha_on_twilio.client(viewer_key)

    assert viewer.get(URL).status_code == 200 and viewer.get(f"{URL}{appointment_id}/").status_code == 200
    assert viewer.get(f"{URL}{appointment_id}/notifications/").status_code == 200
    assert viewer.get(f"{URL}settings/").status_code == 200
    refused = [
        book(alpha_on_twilio, key=viewer_key),
        viewer.patch(f"{URL}{appointment_id}/", {"notes": "x"}, format="json"),
        viewer.delete(f"{URL}{appointment_id}/"),
        viewer.post(f"{URL}{appointment_id}/confirmation/"),
        viewer.post(f"{URL}{appointment_id}/reminder/"),
        viewer.patch(f"{URL}settings/", {"staff_notifications": False}, format="json"),
        viewer.post(f"{URL}staff/", {"name": "Zed"}, format="json"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    with tenant_context(alpha_on_twilio.tenant):
        assert Appointment.objects.get(pk=appointment_id).status == "booked"


def test_staff_members_are_named_once(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    created = client.post(f"{URL}staff/", {"name": "Maria", "phone_number": "+1 415 555 0111"}, format="json")
    twice = client.post(f"{URL}staff/", {"name": "maria"}, format="json")
    bad = client.post(f"{URL}staff/", {"name": "Zed", "phone_number": "12", "email": "nope"}, format="json")

    assert created.status_code == 201 and created.json()["phone_number"] == "+14155550111"
    assert twice.status_code == 400 and "named 'maria' already" in twice.json()["errors"]["name"][0]
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"phone_number", "email"}
    listed = client.get(f"{URL}staff/").json()["results"]
    assert [member["name"] for member in listed] == ["Maria"]
    staff_id = created.json()["id"]
    booked = book(alpha_on_twilio, staff_id=staff_id).json()
    assert client.delete(f"{URL}staff/{staff_id}/").status_code == 204
    assert client.get(f"{URL}{booked['id']}/").json()["staff_id"] is None
