import io
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from telephony.models import Communication
from tenants.db import connection
from testsupport.tenants import TenantSetup
from voice.models import VoiceFile, VoiceMessage
from voice.tests.test_voice_files import wav_bytes
from voice.voices import DEFAULT_VOICE

pytestmark = pytest.mark.django_db

LEGACY_SCHEMA = """
CREATE TABLE voice_messages (
    id INTEGER PRIMARY KEY, name TEXT, voice_text TEXT, voice_gender TEXT, voice_age TEXT, voice_rate TEXT,
    tropo_voice TEXT, voice_type TEXT, voice_settings TEXT, language TEXT, is_active INTEGER, created_at TEXT
);
CREATE TABLE voice_files (
    id INTEGER PRIMARY KEY, name TEXT, file_path TEXT, description TEXT, tag_list TEXT, caller_number TEXT,
    network_type TEXT, created_at TEXT
);
CREATE TABLE communication_log (
    id INTEGER PRIMARY KEY, network_type TEXT, direction TEXT, to_number TEXT, from_number TEXT,
    message_content TEXT, twilio_sid TEXT, status TEXT, error_message TEXT, cost_amount REAL,
    duration_seconds INTEGER, created_at TEXT
);
"""

VOICE_MESSAGES = [
    # id, name, voice_text, voice_gender, voice_age, voice_rate, tropo_voice, voice_type, voice_settings, language,
    # is_active, created_at
    (
        1,
        "Welcome",
        "Welcome to {company}.",
        "alice",
        "adult",
        "slow",
        "Vanessa",
        "greeting",
        '{"channel": "ivr"}',
        "en-US",
        1,
        "2019-03-04 10:20:30",
    ),
    (
        2,
        "Reminder",
        "Hi {name}, see you {day}~SSML~date.",
        "man",
        "senior",
        "1.2",
        "Dave",
        "reminder",
        "",
        None,
        0,
        "2019-03-05T08:00:00",
    ),
    (3, "Bob line", "Bob says hi", "bob", "", "0.8", "", "message", None, "en_gb", 1, "2019-03-06 09:00:00"),
    (4, "Robot", "Beep", "robot", "", "1.0", "Robo", "notification", "{}", "", 1, ""),
    (5, "Broken settings", "Hello", "woman", "", "medium", "", "message", "{not json", "en-US", 1, ""),
    (6, "Welcome", "Welcome again", "woman", "child", "fast", "", "greeting", "", "en-US", 1, ""),
    (7, "Bad template", "You owe {amount}~SSML~money", "alice", "", "medium", "", "message", "", "en-US", 1, ""),
]

VOICE_FILES = [
    # id, name, file_path, description, tag_list, caller_number, network_type, created_at
    (
        10,
        "welcome_tone",
        "audio/welcome.wav",
        "Welcome chime",
        "promo, spring ,promo",
        "+1 (415) 555-2671",
        "voice",
        "2019-01-01 00:00:00",
    ),
    (11, "missing", "audio/nope.wav", "", "", "", "voice", ""),
    (12, "escape", "../outside.wav", "", "", "", "voice", ""),
    (13, "absolute", "<absolute>", "", "", "", "voice", ""),
    (14, "notes", "audio/notes.wav", "", "", "", "voice", ""),
    (15, "welcome_tone", "audio/again.wav", "Same name", "", "", "voice", ""),
]

COMMUNICATIONS = [
    # id, network_type, direction, to_number, from_number, message_content, twilio_sid, status, error_message,
    # cost_amount, duration_seconds, created_at
    (
        20,
        "voice",
        "outbound",
        "+14155552671",
        "+1 415 555 0100",
        "Reminder call",
        "CA123",
        "completed",
        "",
        0.0075,
        42,
        "2019-06-01 12:00:00",
    ),
    (
        21,
        "sms",
        None,
        "+1 (415) 555-2671",
        "72345",
        "Your code is 1234",
        "",
        "delivered",
        "",
        "0.0079",
        None,
        "2019-06-02T09:30:00+02:00",
    ),
    (22, "call", "inbound", "+14155552671", "", "", None, "no-answer", "", None, 0, "2019-06-03T10:00:00Z"),
    (23, "sms", "outbound", "12345", "", "Hi", "SM1", "failed", "", None, None, "2019-06-04 10:00:00"),
    (24, "fax", "outbound", "+14155552671", "", "", "FX1", "sent", "", None, None, "2019-06-05 10:00:00"),
    (25, "sms", "outbound", "+14155552671", "", "", "SM2", "sent", "", None, None, "yesterday"),
]

EXPECTED_FAILURES = [
    ("voice_messages", 5, "voice_settings: Not valid JSON"),
    ("voice_messages", 7, "voice_text: Unknown SSML type 'money'"),
    ("voice_files", 11, "file_path: No file 'audio/nope.wav'"),
    ("voice_files", 12, "file_path: '../outside.wav' points outside the folder"),
    ("voice_files", 13, "file_path: '/"),
    ("voice_files", 14, "file_path: Unsupported file"),
    ("voice_files", 15, "name: A voice file with this name already exists."),
    ("communication_log", 23, "to_number: '12345' is not a phone number in E.164 form"),
    ("communication_log", 24, "network_type: 'fax' is not voice, call or sms."),
    ("communication_log", 25, "created_at: 'yesterday' is not a date and time"),
]


def build_export(folder: Path) -> Path:
    """A legacy export as the old desktop system wrote it: the SQLite file, and its audio in the same folder."""
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "welcome.wav").write_bytes(wav_bytes(1.5))
    (folder / "audio" / "again.wav").write_bytes(wav_bytes(0.5))
    (folder / "audio" / "notes.wav").write_bytes(b"just some notes, not audio")
    outside = folder.parent / "outside.wav"
    outside.write_bytes(wav_bytes())  # exists, so refusing it is about where it is
    files = [row[:2] + (str(outside) if row[2] == "<absolute>" else row[2],) + row[3:] for row in VOICE_FILES]

    path = folder / "legacy.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.executemany(f"INSERT INTO voice_messages VALUES ({', '.join('?' * 12)})", VOICE_MESSAGES)
        db.executemany(f"INSERT INTO voice_files VALUES ({', '.join('?' * 8)})", files)
        db.executemany(f"INSERT INTO communication_log VALUES ({', '.join('?' * 12)})", COMMUNICATIONS)
    db.close()
    return path


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return build_export(tmp_path / "export")


def run_import(*args: str) -> str:
    out = io.StringIO()
    call_command("import_legacy", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def tenant_media(slug: str) -> set[Path]:
    root = Path(settings.MEDIA_ROOT) / f"t_{slug}"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def snapshot(setup: TenantSetup) -> dict[str, list[tuple[Any, ...]]]:
    with tenant_context(setup.tenant):
        state: dict[str, list[tuple[Any, ...]]] = {
            "messages": list(
                VoiceMessage.objects.order_by("legacy_id").values_list(
                    "legacy_id",
                    "name",
                    "template_text",
                    "voice",
                    "language",
                    "rate",
                    "message_type",
                    "settings",
                    "is_active",
                    "voice_age",
                    "tropo_voice",
                    "legacy_voice",
                    "created_at",
                    "updated_at",
                )
            ),
            "files": list(
                VoiceFile.objects.order_by("legacy_id").values_list(
                    "legacy_id",
                    "name",
                    "file",
                    "kind",
                    "size_bytes",
                    "description",
                    "tags",
                    "caller_number",
                    "created_at",
                    "updated_at",
                )
            ),
            "communications": list(
                Communication.objects.order_by("legacy_id").values_list(
                    "legacy_id",
                    "channel",
                    "direction",
                    "to_number",
                    "from_number",
                    "content",
                    "twilio_sid",
                    "status",
                    "cost_amount",
                    "duration_seconds",
                    "occurred_at",
                    "updated_at",
                )
            ),
        }
    connection.set_schema_to_public()
    return state


def test_imports_good_rows_and_reports_bad_ones(alpha: TenantSetup, export: Path) -> None:
    out = run_import("--tenant", "alpha", str(export))

    assert "voice_messages: 5 imported, 0 already imported, 2 failed" in out
    assert "voice_files: 1 imported, 0 already imported, 5 failed" in out
    assert "communication_log: 3 imported, 0 already imported, 3 failed" in out
    assert "Rows not imported (10):" in out
    failures = out.split("Rows not imported (10):\n")[1].splitlines()
    assert len(failures) == len(EXPECTED_FAILURES)
    for line, (table, legacy_id, reason) in zip(failures, EXPECTED_FAILURES, strict=True):
        assert line.startswith(f"  {table} #{legacy_id}: {reason}"), line
    assert "is absolute; files must be in the folder beside the export" in failures[4]
    assert "voice_messages #6 imported as 'Welcome (legacy 6)': 'Welcome' was taken" in out


def test_voice_messages_keep_mapped_and_legacy_fields(alpha: TenantSetup, export: Path) -> None:
    run_import("--tenant", "alpha", str(export))

    with tenant_context(alpha.tenant):
        rows = list(
            VoiceMessage.objects.order_by("legacy_id").values_list(
                "legacy_id",
                "name",
                "voice",
                "legacy_voice",
                "rate",
                "language",
                "message_type",
                "settings",
                "is_active",
                "voice_age",
                "tropo_voice",
            )
        )
        created = dict(VoiceMessage.objects.values_list("legacy_id", "created_at"))
    connection.set_schema_to_public()

    assert rows == [
        (
            1,
            "Welcome",
            "Polly.Joanna-Neural",
            "alice",
            "slow",
            "en-US",
            "greeting",
            {"channel": "ivr"},
            True,
            "adult",
            "Vanessa",
        ),
        (2, "Reminder", "Polly.Matthew-Neural", "man", "fast", "en-US", "reminder", {}, False, "senior", "Dave"),
        (3, "Bob line", "Polly.Joey-Neural", "bob", "slow", "en-GB", "message", {}, True, "", ""),
        (4, "Robot", DEFAULT_VOICE, "robot", "medium", "en-US", "notification", {}, True, "", "Robo"),
        (6, "Welcome (legacy 6)", "Polly.Salli-Neural", "woman", "fast", "en-US", "greeting", {}, True, "child", ""),
    ]
    assert created[1] == datetime(2019, 3, 4, 10, 20, 30, tzinfo=UTC)
    assert created[2] == datetime(2019, 3, 5, 8, 0, tzinfo=UTC)
    assert datetime.now(UTC) - created[4] < timedelta(minutes=5)  # no date in the export: the import's


def test_voice_file_is_stored_with_its_metadata(alpha: TenantSetup, export: Path) -> None:
    run_import("--tenant", "alpha", str(export))

    with tenant_context(alpha.tenant):
        voice_file = VoiceFile.objects.get()
        stored = Path(voice_file.file.path).read_bytes()
    connection.set_schema_to_public()

    assert (voice_file.legacy_id, voice_file.name, voice_file.kind, voice_file.description) == (
        10,
        "welcome_tone",
        "wav",
        "Welcome chime",
    )
    assert (voice_file.tags, voice_file.caller_number) == (["promo", "spring"], "+14155552671")
    assert voice_file.duration_seconds == pytest.approx(1.5, abs=0.01)
    assert voice_file.created_at == datetime(2019, 1, 1, tzinfo=UTC)
    assert stored == (export.parent / "audio" / "welcome.wav").read_bytes()


def test_communications_are_normalized(alpha: TenantSetup, export: Path) -> None:
    run_import("--tenant", "alpha", str(export))

    with tenant_context(alpha.tenant):
        rows = list(
            Communication.objects.order_by("legacy_id").values_list(
                "legacy_id",
                "channel",
                "direction",
                "to_number",
                "from_number",
                "content",
                "twilio_sid",
                "status",
                "cost_amount",
                "duration_seconds",
                "occurred_at",
            )
        )
    connection.set_schema_to_public()

    assert rows == [
        (
            20,
            "call",
            "outbound",
            "+14155552671",
            "+14155550100",
            "Reminder call",
            "CA123",
            "completed",
            Decimal("0.00750"),
            42,
            datetime(2019, 6, 1, 12, 0, tzinfo=UTC),
        ),
        (
            21,
            "sms",
            "outbound",
            "+14155552671",
            "72345",
            "Your code is 1234",
            None,
            "delivered",
            Decimal("0.00790"),
            None,
            datetime(2019, 6, 2, 7, 30, tzinfo=UTC),
        ),
        (
            22,
            "call",
            "inbound",
            "+14155552671",
            "",
            "",
            None,
            "no-answer",
            None,
            0,
            datetime(2019, 6, 3, 10, 0, tzinfo=UTC),
        ),
    ]


def test_running_twice_changes_nothing(alpha: TenantSetup, export: Path) -> None:
    run_import("--tenant", "alpha", str(export))
    before, media_before = snapshot(alpha), tenant_media("alpha")

    out = run_import("--tenant", "alpha", str(export))

    assert "voice_messages: 0 imported, 5 already imported, 2 failed" in out
    assert "voice_files: 0 imported, 1 already imported, 5 failed" in out
    assert "communication_log: 0 imported, 3 already imported, 3 failed" in out
    assert snapshot(alpha) == before
    assert tenant_media("alpha") == media_before


def test_failed_file_rows_leave_no_row_and_no_stored_file(alpha: TenantSetup, export: Path) -> None:
    media_before = tenant_media("alpha")

    run_import("--tenant", "alpha", str(export))

    with tenant_context(alpha.tenant):
        assert list(VoiceFile.objects.values_list("legacy_id", flat=True)) == [10]
        stored = Path(VoiceFile.objects.get().file.path)
        assert not VoiceMessage.objects.filter(legacy_id__in=[5, 7]).exists()
        assert not Communication.objects.filter(legacy_id__in=[23, 24, 25]).exists()
    connection.set_schema_to_public()
    # Row 15 got as far as storing its file before its name clashed: the file went with the row.
    assert tenant_media("alpha") - media_before == {stored}


def test_data_lands_only_in_the_named_tenant(alpha: TenantSetup, beta: TenantSetup, export: Path) -> None:
    beta_media = tenant_media("beta")

    run_import("--tenant", "alpha", str(export))

    with tenant_context(beta.tenant):
        assert not VoiceMessage.objects.exists()
        assert not VoiceFile.objects.exists()
        assert not Communication.objects.exists()
    with tenant_context(alpha.tenant):
        assert VoiceMessage.objects.count() == 5
    connection.set_schema_to_public()
    assert tenant_media("beta") == beta_media


def test_unknown_or_public_tenant_is_refused(alpha: TenantSetup, export: Path) -> None:
    with pytest.raises(CommandError, match="No tenant with the slug 'nobody'"):
        run_import("--tenant", "nobody", str(export))
    with pytest.raises(CommandError, match="public tenant"):
        run_import("--tenant", "public-platform", str(export))


def test_unreadable_export_is_refused(alpha: TenantSetup, tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("hello")
    partial = tmp_path / "partial.sqlite"
    with sqlite3.connect(partial) as db:
        db.execute("CREATE TABLE voice_messages (id INTEGER PRIMARY KEY, name TEXT)")
    db.close()
    no_columns = tmp_path / "no-columns.sqlite"
    with sqlite3.connect(no_columns) as db:
        db.executescript(LEGACY_SCHEMA.replace("twilio_sid TEXT,", ""))
    db.close()

    with pytest.raises(CommandError, match="No such file: .*missing.sqlite"):
        run_import("--tenant", "alpha", str(tmp_path / "missing.sqlite"))
    with pytest.raises(CommandError, match="Cannot read .*notes.sqlite as a SQLite database"):
        run_import("--tenant", "alpha", str(not_sqlite))
    with pytest.raises(CommandError, match="has no table voice_files, communication_log"):
        run_import("--tenant", "alpha", str(partial))
    with pytest.raises(CommandError, match="communication_log .* lacks the columns twilio_sid"):
        run_import("--tenant", "alpha", str(no_columns))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_counts_every_row_on_a_terminal(alpha: TenantSetup, export: Path) -> None:
    err = Terminal()
    call_command("import_legacy", "--tenant", "alpha", str(export), stdout=io.StringIO(), stderr=err)

    total = len(VOICE_MESSAGES) + len(VOICE_FILES) + len(COMMUNICATIONS)
    assert "Importing: 100%" in err.getvalue()
    assert f"{total}/{total}" in err.getvalue()
