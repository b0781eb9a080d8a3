"""Appointments from a CSV file: a header row with the API's field names, one appointment per row.

    customer_name,phone_number,email,staff,starts_at,time_zone,service,notes
    Ann Lee,+1 415 555 2671,,Maria,2026-03-08 10:00,America/New_York,Haircut,

`staff` is a staff member's name (any case); `starts_at` is ISO 8601, with an offset or as wall-clock time
in the row's time zone (the settings' default when the column is empty or missing).
"""

import csv
import io

from django.core.files.uploadedfile import UploadedFile
from django.utils.dateparse import parse_datetime

from telephony import policies
from telephony.appointments.models import StaffMember
from telephony.appointments.services import AppointmentFields, ImportRow
from telephony.uploads import csv_text_of

REQUIRED_COLUMNS = ("customer_name", "phone_number", "starts_at", "service")
OPTIONAL_COLUMNS = ("email", "staff", "time_zone", "notes")
MAX_ROWS = 10_000


def rows_from_upload(upload: UploadedFile) -> list[ImportRow]:
    """The rows of an uploaded CSV (see telephony.uploads)."""
    return rows_from_csv(csv_text_of(upload))


def rows_from_csv(content: str) -> list[ImportRow]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise policies.PolicyError(
            "The CSV needs a header row with the columns " + ", ".join(REQUIRED_COLUMNS) + " (missing: "
            f"{', '.join(missing)}); optional: " + ", ".join(OPTIONAL_COLUMNS) + ".",
            code="bad-csv",
            status=400,
            field="file",
        )
    reader.fieldnames = header
    staff_by_name = {staff.name.casefold(): staff for staff in StaffMember.objects.all()}
    rows = []
    for number, cells in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise policies.PolicyError(f"At most {MAX_ROWS} rows.", code="too-many", status=400, field="file")
        rows.append(_row(number, {k: (v or "").strip() for k, v in cells.items() if k}, staff_by_name))
    return rows


def _row(number: int, cells: dict[str, str], staff_by_name: dict[str, StaffMember]) -> ImportRow:
    errors: dict[str, list[str]] = {}
    starts_at = None
    if cells.get("starts_at"):
        try:
            starts_at = parse_datetime(cells["starts_at"])
        except ValueError:
            starts_at = None
        if starts_at is None:
            errors["starts_at"] = [f"'{cells['starts_at']}' is not a date and time like 2026-03-08 10:00 (ISO 8601)."]
    staff = None
    if cells.get("staff"):
        staff = staff_by_name.get(cells["staff"].casefold())
        if staff is None:
            errors["staff"] = [f"No staff member is named '{cells['staff']}'."]
    fields = AppointmentFields(
        customer_name=cells.get("customer_name", ""),
        phone_number=cells.get("phone_number", ""),
        starts_at=starts_at,
        service=cells.get("service", ""),
        time_zone=cells.get("time_zone", ""),
        email=cells.get("email", ""),
        staff=staff,
        notes=cells.get("notes", ""),
    )
    return ImportRow(row=number, fields=fields, errors=errors)
