"""POST /api/v1/appointments/import/: a CSV, valid rows booked (with confirmations), the others reported."""

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from telephony.appointments.models import Appointment, Notification, StaffMember
from telephony.appointments.tests.support import URL
from telephony.models import OptOut
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

IMPORT = f"{URL}import/"
CSV = """\ufeffcustomer_name,phone_number,email,staff,starts_at,time_zone,service,notes
Ann Lee,+1 415 555 2671,ann@example.com,maria,2027-07-01 10:30,America/New_York,Haircut,first visit
,+14155552672,,,2027-07-01 11:00,America/New_York,Haircut,
Bo Chen,555-2673,nope,Nobody,2027-07-01 12:00,Mars/Base,Colour,
Cy Diaz,+14155552674,,,next tuesday,,Shave,
Di Eng,+14155552675,,,2020-01-01T09:00:00+00:00,,Shave,
Ed Fay,+14155552676,,,2027-03-14 02:30,America/New_York,Shave,
Flo Gil,+14155552677,,,2027-07-02T09:00:00+02:00,Europe/Berlin,Trim,
"""


def upload(setup: TenantSetup, content: str | bytes, **fields: Any) -> Any:
    data = content.encode() if isinstance(content, str) else content
    payload = {"file": SimpleUploadedFile("appointments.csv", data, content_type="text/csv"), **fields}
    return setup.client(setup.admin_key).post(IMPORT, payload, format="multipart")


def test_valid_rows_are_booked_and_the_others_reported_by_line(
    alpha_on_twilio: TenantSetup, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        maria = StaffMember.objects.create(name="Maria", phone_number="+14155550111")
        OptOut.objects.create(phone_number="+14155552677", source=OptOut.Source.STOP_REPLY)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alpha_on_twilio, CSV)

    body = response.json()
    assert response.status_code == 201, body
    assert body["created"] == 2 and len(body["appointment_ids"]) == 2
    invalid = {row["row"]: row["errors"] for row in body["invalid_rows"]}
    assert sorted(invalid) == [3, 4, 5, 6, 7]
    assert set(invalid[3]) == {"customer_name"}
    assert set(invalid[4]) == {"phone_number", "email", "staff", "time_zone"}
    assert "No staff member is named 'Nobody'." in invalid[4]["staff"]
    assert list(invalid[5]) == ["starts_at"] and "'next tuesday' is not a date and time" in invalid[5]["starts_at"][0]
    assert invalid[6] == {"starts_at": ["The appointment would start in the past."]}
    assert "does not exist in America/New_York" in invalid[7]["starts_at"][0]
    with tenant_context(alpha_on_twilio.tenant):
        ann, flo = Appointment.objects.order_by("customer_name")
        confirmations = {n.appointment_id: n for n in Notification.objects.all()}
    assert (ann.staff_id, ann.phone_number, ann.email, ann.notes) == (
        maria.pk,
        "+14155552671",
        "ann@example.com",
        "first visit",
    )
    assert ann.starts_at.isoformat() == "2027-07-01T14:30:00+00:00"
    assert flo.starts_at.isoformat() == "2027-07-02T07:00:00+00:00"
    # Both got a confirmation; Flo's was refused (opted out) and recorded so. Staff are not told of imports.
    assert (confirmations[ann.pk].kind, confirmations[ann.pk].status) == ("confirmation", "queued")
    assert confirmations[flo.pk].status == "failed" and "opted out" in confirmations[flo.pk].reason
    [group] = queued_tasks
    assert group.kwargs["communication_ids"] == [confirmations[ann.pk].communication_id]


def test_imports_without_confirmations(alpha_on_twilio: TenantSetup) -> None:
    response = upload(
        alpha_on_twilio,
        "customer_name,phone_number,starts_at,service\nAnn,+14155552671,2027-07-01 10:30,Cut\n",
        send_confirmations="false",
    )
    assert response.status_code == 201 and response.json()["created"] == 1
    with tenant_context(alpha_on_twilio.tenant):
        assert Appointment.objects.get().time_zone == "UTC" and not Notification.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,phone\nAnn,+14155552671\n", "missing: customer_name, phone_number, starts_at, service"),
        ("", "The submitted file is empty."),
    ],
)
def test_a_csv_without_the_columns_is_refused(alpha_on_twilio: TenantSetup, content: str, message: str) -> None:
    response = upload(alpha_on_twilio, content)
    assert response.status_code == 400 and message in response.json()["errors"]["file"][0]


def test_a_csv_over_ten_megabytes_is_refused(alpha_on_twilio: TenantSetup) -> None:
    row = "Ann,+14155552671,2027-07-01 10:30,Cut\n"
    content = "customer_name,phone_number,starts_at,service\n" + row * (10 * 1024 * 1024 // len(row) + 1)

    response = upload(alpha_on_twilio, content)

    assert response.status_code == 400 and "The CSV is 10.0 MB; at most 10 MB." in response.json()["errors"]["file"]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Appointment.objects.exists()


def test_the_file_is_required(alpha_on_twilio: TenantSetup) -> None:
    response = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(IMPORT, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
