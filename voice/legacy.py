"""Import of an export of the old desktop system: a SQLite file, with its audio files in the folder beside it.

The export holds three tables with the old column names:

    voice_messages(id, name, voice_text, voice_gender, voice_age, voice_rate, tropo_voice, voice_type,
                   voice_settings, language, is_active, created_at)
    voice_files(id, name, file_path, description, tag_list, caller_number, network_type, created_at)
    communication_log(id, network_type, direction, to_number, from_number, message_content, twilio_sid,
                      status, error_message, cost_amount, duration_seconds, created_at)

Rows are created through the same services as the API's, so they are validated the same way. Each row is
imported in its own transaction, whole or not at all, and remembers its old id in legacy_id: a row already
imported is skipped, so importing the same export twice changes nothing. A row that cannot be imported is
reported with the reason, and the import goes on.
"""

import json
import math
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path, PureWindowsPath
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files import File
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from telephony.models import Communication
from telephony.phone_numbers import normalize_e164
from tenants.models import Tenant
from voice.models import VoiceFile, VoiceMessage
from voice.services import voice_file_create, voice_message_create
from voice.voices import DEFAULT_VOICE, LEGACY_VOICE_MAP

# Tables in the order they are imported, with the columns each must have.
LEGACY_TABLES: dict[str, tuple[str, ...]] = {
    "voice_messages": (
        "id",
        "name",
        "voice_text",
        "voice_gender",
        "voice_age",
        "voice_rate",
        "tropo_voice",
        "voice_type",
        "voice_settings",
        "language",
        "is_active",
        "created_at",
    ),
    "voice_files": (
        "id",
        "name",
        "file_path",
        "description",
        "tag_list",
        "caller_number",
        "network_type",
        "created_at",
    ),
    "communication_log": (
        "id",
        "network_type",
        "direction",
        "to_number",
        "from_number",
        "message_content",
        "twilio_sid",
        "status",
        "error_message",
        "cost_amount",
        "duration_seconds",
        "created_at",
    ),
}

# Errors name the old columns, so a report can be checked against the export.
_OLD_COLUMNS: dict[str, dict[str, str]] = {
    "voice_messages": {
        "template_text": "voice_text",
        "voice": "voice_gender",
        "rate": "voice_rate",
        "message_type": "voice_type",
        "settings": "voice_settings",
        "legacy_voice": "voice_gender",
    },
    "voice_files": {"file": "file_path", "tags": "tag_list"},
    "communication_log": {"channel": "network_type", "content": "message_content", "occurred_at": "created_at"},
}

_CHANNELS = {"voice": Communication.Channel.CALL, "call": Communication.Channel.CALL, "sms": Communication.Channel.SMS}
_LANGUAGE = re.compile(r"^(?P<language>[A-Za-z]{2})[-_](?P<region>[A-Za-z]{2})$")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}
_CENT_FRACTION = Decimal("0.00001")  # Communication.cost_amount keeps five decimal places


def _max_name_length() -> int:
    max_length = VoiceMessage._meta.get_field("name").max_length
    if max_length is None:
        raise TypeError("VoiceMessage.name must have a max_length")
    return max_length


_MAX_NAME = _max_name_length()


class LegacyExportError(Exception):
    """The export as a whole cannot be read: no such file, not SQLite, or tables or columns missing."""


@dataclass
class TableCounts:
    imported: int = 0
    already_imported: int = 0
    failed: int = 0


@dataclass(frozen=True)
class RowFailure:
    table: str
    legacy_id: Any
    reason: str


@dataclass(frozen=True)
class RowNote:
    """Something worth knowing about a row that was imported, such as a new name."""

    table: str
    legacy_id: int
    note: str


@dataclass
class ImportReport:
    counts: dict[str, TableCounts] = field(default_factory=lambda: {table: TableCounts() for table in LEGACY_TABLES})
    failures: list[RowFailure] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)


class LegacyExport:
    """An open, read-only legacy export whose tables and columns have been checked."""

    def __init__(self, *, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.folder = path.parent
        self._connection = connection
        self.row_counts = {
            table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] for table in LEGACY_TABLES
        }

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    def rows(self, table: str) -> Iterator[sqlite3.Row]:
        try:
            yield from self._connection.execute(f'SELECT * FROM "{table}" ORDER BY id')
        except sqlite3.Error as exc:
            raise LegacyExportError(f"Cannot read table {table} of {self.path}: {exc}.") from exc


def _check_tables(connection: sqlite3.Connection, path: Path) -> None:
    present = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    missing_tables = [table for table in LEGACY_TABLES if table not in present]
    if missing_tables:
        raise LegacyExportError(
            f"{path} is not a legacy export: it has no table {', '.join(missing_tables)} "
            f"(expected {', '.join(LEGACY_TABLES)})."
        )
    for table, columns in LEGACY_TABLES.items():
        have = {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}
        missing_columns = [column for column in columns if column not in have]
        if missing_columns:
            raise LegacyExportError(f"Table {table} in {path} lacks the columns {', '.join(missing_columns)}.")


@contextmanager
def legacy_export_open(*, path: Path) -> Iterator[LegacyExport]:
    """The export, opened read-only and checked; raises LegacyExportError with a clear message if it cannot be."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise LegacyExportError(f"No such file: {path}.")
    if not path.is_file():
        raise LegacyExportError(f"{path} is not a file.")
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise LegacyExportError(f"Cannot open {path}: {exc}.") from exc
    with closing(connection):
        connection.row_factory = sqlite3.Row
        try:
            _check_tables(connection, path)
            export = LegacyExport(path=path, connection=connection)
        except sqlite3.Error as exc:
            raise LegacyExportError(f"Cannot read {path} as a SQLite database: {exc}.") from exc
        yield export


def legacy_import(*, tenant: Tenant, export: LegacyExport, on_row: Callable[[], object] | None = None) -> ImportReport:
    """Imports every row of the export into the tenant's schema; `on_row` is called after each row, for progress."""
    report = ImportReport()
    importers: dict[str, tuple[type[models.Model], Callable[..., str | None]]] = {
        "voice_messages": (VoiceMessage, _import_voice_message),
        "voice_files": (VoiceFile, _import_voice_file),
        "communication_log": (Communication, _import_communication),
    }
    with tenant_context(tenant):
        for table, (model, importer) in importers.items():
            counts = report.counts[table]
            for row in export.rows(table):
                legacy_id = row["id"]
                try:
                    if not isinstance(legacy_id, int):
                        raise ValidationError({"id": f"'{legacy_id}' is not a whole number."})
                    if model._default_manager.filter(legacy_id=legacy_id).exists():
                        counts.already_imported += 1
                        continue
                    note = _import_row(importer, row, folder=export.folder)
                except (ValidationError, DatabaseError, OSError, ValueError) as exc:
                    counts.failed += 1
                    report.failures.append(RowFailure(table=table, legacy_id=legacy_id, reason=_reason(exc, table)))
                else:
                    counts.imported += 1
                    if note:
                        report.notes.append(RowNote(table=table, legacy_id=legacy_id, note=note))
                finally:
                    if on_row is not None:
                        on_row()
    return report


def _import_row(importer: Callable[..., str | None], row: sqlite3.Row, *, folder: Path) -> str | None:
    # Files stored for a row are removed again unless the row's transaction commits.
    with ExitStack() as undo:
        with transaction.atomic():
            note = importer(row, folder=folder, undo=undo)
        undo.pop_all()
    return note


def _reason(exc: Exception, table: str) -> str:
    if isinstance(exc, ValidationError):
        if not hasattr(exc, "error_dict"):
            return " ".join(exc.messages)
        columns = _OLD_COLUMNS[table]
        parts = []
        for name, messages in exc.message_dict.items():
            text = " ".join(messages)
            parts.append(text if name == NON_FIELD_ERRORS else f"{columns.get(name, name)}: {text}")
        return "; ".join(parts)
    if isinstance(exc, OSError):
        if exc.filename and exc.strerror:
            return f"Cannot read {exc.filename}: {exc.strerror}."
        return f"Cannot read the file: {exc}."
    return f"{type(exc).__name__}: {exc}"


# --- values ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _voice(gender: str) -> str:
    return LEGACY_VOICE_MAP.get(gender.lower(), DEFAULT_VOICE)


def _rate(value: Any) -> str:
    text = _text(value).lower()
    if not text:
        return VoiceMessage.Rate.MEDIUM
    if text in VoiceMessage.Rate.values:
        return text
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValidationError({"voice_rate": f"'{text}' is not slow, medium, fast or a speed like 0.8 or 1.2."})
    if number < 0.95:
        return VoiceMessage.Rate.SLOW
    if number > 1.05:
        return VoiceMessage.Rate.FAST
    return VoiceMessage.Rate.MEDIUM


def _language(value: Any) -> str:
    text = _text(value)
    if not text:
        return "en-US"
    match = _LANGUAGE.match(text)
    return f"{match['language'].lower()}-{match['region'].upper()}" if match else text  # anything else fails validation


def _message_type(value: Any) -> str:
    return _text(value).lower() or VoiceMessage.Type.MESSAGE


def _settings(value: Any) -> dict[str, Any]:
    text = _text(value)
    if not text:
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError({"voice_settings": f"Not valid JSON ({exc})."}) from exc
    if not isinstance(settings, dict):
        raise ValidationError({"voice_settings": f"Must be a JSON object, not {type(settings).__name__}."})
    return settings


def _flag(value: Any, *, column: str) -> bool:
    text = _text(value).lower()
    if not text:
        return True
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError({column: f"'{text}' is not 1 or 0."})


def _moment(value: Any, *, column: str) -> datetime | None:
    """A date and time in ISO form or 'YYYY-MM-DD HH:MM:SS', taken as UTC unless it says otherwise."""
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError({column: f"'{text}' is not a date and time like 2024-05-01 14:30:00."}) from exc
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment


def _cost(value: Any) -> Decimal | None:
    text = _text(value)
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError({"cost_amount": f"'{text}' is not an amount."}) from exc
    if not amount.is_finite():
        raise ValidationError({"cost_amount": f"'{text}' is not an amount."})
    # A REAL column gives binary noise (0.30000000000000004): keep what the new field holds.
    return amount.quantize(_CENT_FRACTION, rounding=ROUND_HALF_UP)


def _whole_number(value: Any, *, column: str) -> int | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number != number.to_integral_value():
        raise ValidationError({column: f"'{text}' is not a whole number."})
    return int(number)


def _phone(value: Any, *, column: str) -> str:
    text = _text(value)
    if not text:
        raise ValidationError({column: "No phone number."})
    try:
        return normalize_e164(text)
    except ValidationError as exc:
        raise ValidationError({column: exc.messages}) from exc


def _free_name(name: str, legacy_id: int) -> str:
    """The name, or "<name> (legacy <id>)" when a live message already has it."""
    if not name or not VoiceMessage.objects.alive().filter(name=name).exists():
        return name
    suffix = f" (legacy {legacy_id})"
    return name[: _MAX_NAME - len(suffix)] + suffix


def _file_in(folder: Path, file_path: str) -> Path:
    if not file_path:
        raise ValidationError({"file_path": "No file path."})
    relative = file_path.replace("\\", "/")  # exports made on Windows
    if relative.startswith("/") or PureWindowsPath(file_path).drive:
        raise ValidationError(
            {"file_path": f"'{file_path}' is absolute; files must be in the folder beside the export."}
        )
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder):
        raise ValidationError({"file_path": f"'{file_path}' points outside the folder beside the export."})
    if not target.is_file():
        raise ValidationError({"file_path": f"No file '{file_path}' in the folder beside the export."})
    return target


# --- rows ------------------------------------------------------------------------------------------------


def _keep_created_at(model: type[models.Model], pk: int, value: Any) -> None:
    created_at = _moment(value, column="created_at")
    if created_at is not None:
        model._default_manager.filter(pk=pk).update(created_at=created_at)


def _import_voice_message(row: sqlite3.Row, *, folder: Path, undo: ExitStack) -> str | None:
    legacy_id: int = row["id"]
    gender = _text(row["voice_gender"])
    wanted = _text(row["name"])
    name = _free_name(wanted, legacy_id)
    message = voice_message_create(
        name=name,
        template_text="" if row["voice_text"] is None else str(row["voice_text"]),
        voice=_voice(gender),
        language=_language(row["language"]),
        rate=_rate(row["voice_rate"]),
        message_type=_message_type(row["voice_type"]),
        settings=_settings(row["voice_settings"]),
        is_active=_flag(row["is_active"], column="is_active"),
        voice_age=_text(row["voice_age"]),
        tropo_voice=_text(row["tropo_voice"]),
        legacy_voice=gender,
        legacy_id=legacy_id,
    )
    _keep_created_at(VoiceMessage, message.pk, row["created_at"])
    return f"imported as '{name}': '{wanted}' was taken" if name != wanted else None


def _import_voice_file(row: sqlite3.Row, *, folder: Path, undo: ExitStack) -> str | None:
    source = _file_in(folder, _text(row["file_path"]))
    created_at = _moment(row["created_at"], column="created_at")  # checked before anything is stored
    with source.open("rb") as handle:
        voice_file = voice_file_create(
            upload=File(handle, name=source.name),
            filename=source.name,
            name=_text(row["name"]),
            description=_text(row["description"]),
            tags=_text(row["tag_list"]).split(","),
            caller_number=_text(row["caller_number"]),
        )
    stored_name = voice_file.file.name
    if stored_name is None:  # voice_file_create saved the upload, which names the stored file
        raise RuntimeError(f"voice file {voice_file.pk} was saved without a stored file")
    undo.callback(voice_file.file.storage.delete, stored_name)
    updates: dict[str, Any] = {"legacy_id": row["id"]}
    if created_at is not None:
        updates["created_at"] = created_at
    VoiceFile.objects.filter(pk=voice_file.pk).update(**updates)
    return None


def _import_communication(row: sqlite3.Row, *, folder: Path, undo: ExitStack) -> str | None:
    network_type = _text(row["network_type"])
    channel = _CHANNELS.get(network_type.lower())
    if channel is None:
        raise ValidationError({"network_type": f"'{network_type}' is not voice, call or sms."})
    from_number = _text(row["from_number"])
    try:
        from_number = normalize_e164(from_number) if from_number else ""
    except ValidationError:
        pass  # short codes and sender names are kept as they were
    occurred_at = _moment(row["created_at"], column="created_at")
    if occurred_at is None:
        raise ValidationError({"created_at": "No date and time."})
    communication = Communication(
        channel=channel,
        direction=_text(row["direction"]).lower() or Communication.Direction.OUTBOUND,
        to_number=_phone(row["to_number"], column="to_number"),
        from_number=from_number,
        content="" if row["message_content"] is None else str(row["message_content"]),
        twilio_sid=_text(row["twilio_sid"]) or None,
        status=_text(row["status"]),
        error_message=_text(row["error_message"]),
        cost_amount=_cost(row["cost_amount"]),
        duration_seconds=_whole_number(row["duration_seconds"], column="duration_seconds"),
        legacy_id=row["id"],
        occurred_at=occurred_at,
    )
    communication.full_clean()
    communication.save()
    return None
