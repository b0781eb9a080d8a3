from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from tqdm import tqdm

from tenants.commands import customer_tenant_or_error
from voice.legacy import LEGACY_TABLES, ImportReport, LegacyExportError, legacy_export_open, legacy_import


class _ProgressStream:
    """Lets tqdm write to the command's stderr without the newline OutputWrapper adds to every write."""

    def __init__(self, out: OutputWrapper) -> None:
        self._out = out

    def write(self, text: str) -> None:
        self._out.write(text, ending="")

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return self._out.isatty()


class Command(BaseCommand):
    help = (
        "Imports an export of the old desktop system (a SQLite file with voice_messages, voice_files and "
        "communication_log; voice files in the folder beside it) into a tenant. Rows already imported are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Slug of the tenant to import into.")
        parser.add_argument("path", type=Path, help="The export's .sqlite file.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = customer_tenant_or_error(options["tenant"])
        try:
            with legacy_export_open(path=options["path"]) as export:
                progress = tqdm(
                    total=export.total_rows,
                    desc="Importing",
                    unit="row",
                    file=_ProgressStream(self.stderr),
                    disable=None,  # drawn on a terminal only
                )
                with progress as bar:
                    report = legacy_import(tenant=tenant, export=export, on_row=bar.update)
        except LegacyExportError as exc:
            raise CommandError(str(exc)) from exc
        self._print_report(report, export_path=export.path, tenant_slug=tenant.slug)

    def _print_report(self, report: ImportReport, *, export_path: Path, tenant_slug: str) -> None:
        self.stdout.write(f"Imported {export_path} into tenant {tenant_slug}:")
        for table in LEGACY_TABLES:
            counts = report.counts[table]
            self.stdout.write(
                f"  {table}: {counts.imported} imported, {counts.already_imported} already imported, "
                f"{counts.failed} failed"
            )
        for note in report.notes:
            self.stdout.write(f"  note: {note.table} #{note.legacy_id} {note.note}")
        if report.failures:
            self.stdout.write(self.style.WARNING(f"Rows not imported ({len(report.failures)}):"))
            for failure in report.failures:
                self.stdout.write(f"  {failure.table} #{failure.legacy_id}: {failure.reason}")
        else:
            self.stdout.write(self.style.SUCCESS("No row failed."))
