"""Uploaded CSV lists (campaign recipients, appointments): their size checked, their text read."""

from django.core.files.uploadedfile import UploadedFile

from telephony import policies

MAX_CSV_BYTES = 10 * 1024 * 1024


def csv_text_of(upload: UploadedFile) -> str:
    """The upload's text (UTF-8, with or without a byte order mark); a PolicyError on `file` when too large."""
    if upload.size is not None and upload.size > MAX_CSV_BYTES:
        raise policies.PolicyError(
            f"The CSV is {upload.size / 1_048_576:.1f} MB; at most {MAX_CSV_BYTES // 1_048_576} MB.",
            code="too-large",
            status=400,
            field="file",
        )
    return upload.read().decode("utf-8-sig", errors="replace")
