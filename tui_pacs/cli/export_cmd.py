"""``tui-pacs export``: studies or series to a DICOM file-set with a DICOMDIR."""

from __future__ import annotations

from pathlib import Path

import click

from tui_pacs.cli.archive_cmds import open_archive
from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.keys import key_option, parse_keys
from tui_pacs.cli.output import Progress
from tui_pacs.domain.attributes import Level
from tui_pacs.domain.media import PROFILES, media_profile
from tui_pacs.store.query import Query


@click.command("export")
@click.option("--to", "destination", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="An empty (or new) directory for the file-set.")
@click.option("--profile", default="STD-GEN-CD", show_default=True,
              type=click.Choice(sorted(PROFILES), case_sensitive=False), help="PS3.11 media profile.")
@click.option("--study", "study_uids", multiple=True, help="Study Instance UID (repeatable).")
@click.option("--series", "series_uids", multiple=True, help="Series Instance UID (repeatable).")
@click.option("--patient", "patient_ids", multiple=True, help="Patient ID (repeatable).")
@key_option
@pass_app
def export_cmd(app: AppContext, destination: Path, profile: str, study_uids: tuple[str, ...],
               series_uids: tuple[str, ...], patient_ids: tuple[str, ...], keys: tuple[str, ...]) -> int:
    """Export studies, series or patients as a DICOM file-set with a DICOMDIR."""
    from tui_pacs.store.exporter import export_fileset

    queries: list[Query] = []
    if study_uids:
        queries.append(Query(Level.STUDY, {"StudyInstanceUID": "\\".join(study_uids)}))
    if series_uids:
        queries.append(Query(Level.SERIES, {"SeriesInstanceUID": "\\".join(series_uids)}))
    for patient_id in patient_ids:
        queries.append(Query(Level.STUDY, {"PatientID": patient_id}))
    if keys:
        queries.append(Query(Level.STUDY, parse_keys(keys)))
    if not queries:
        raise click.UsageError("choose what to export: --study, --series, --patient or -k KEYWORD=VALUE")
    app.setup_logging()
    with open_archive(app) as archive:
        files, seen = [], set()
        for query in queries:
            for row in archive.index.instance_files(query):
                if row[0] not in seen:
                    seen.add(row[0])
                    files.append(row)
    if not files:
        click.echo("nothing in the archive matches", err=True)
        return 1
    bar = Progress("exporting")
    try:
        report = export_fileset(files, destination, media_profile(profile), progress=bar.update)
    finally:
        bar.close()
    for sop_uid, reason in report.skipped:
        click.echo(f"{sop_uid}: not exported: {reason}", err=True)
    click.echo(f"exported {report.exported} instances ({report.converted} converted) to {report.dicomdir}")
    return 0 if not report.skipped else 1
