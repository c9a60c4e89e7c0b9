"""Headless archive commands: import, ls, delete, prune."""

from __future__ import annotations

from pathlib import Path

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.keys import key_option, parse_keys
from tui_pacs.cli.output import Progress, print_json, print_table
from tui_pacs.domain.attributes import DEFAULT_KEYS, Level, Root
from tui_pacs.store.archive import Archive
from tui_pacs.store.query import Query

LEVELS = click.Choice(["patient", "study", "series", "instance", "image"], case_sensitive=False)


def open_archive(app: AppContext) -> Archive:
    app.paths.ensure()
    return Archive.open(app.paths, app.config)


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_app
def import_cmd(app: AppContext, paths: tuple[Path, ...], as_json: bool) -> int:
    """Import files, folders (recursively) and DICOMDIR file-sets.

    Each file that cannot be imported gets one line with its path and reason;
    the exit status is 1 if any failed.
    """
    from tui_pacs.store.importer import import_paths

    app.setup_logging()
    bar = Progress("importing")
    with open_archive(app) as archive:
        try:
            report = import_paths(archive, paths, progress=lambda p: bar.update(p.done, p.total, p.current))
        finally:
            bar.close()
    if as_json:
        print_json({"imported": report.imported, "duplicates": report.duplicates, "bytes": report.bytes,
                    "studies": sorted(report.study_uids),
                    "failures": [{"path": p, "reason": r} for p, r in report.failures]})
    else:
        for path, reason in report.failures:
            click.echo(f"{path}: {reason}", err=True)
        click.echo(f"imported {report.imported} instances ({report.bytes / 1e6:.1f} MB) in "
                   f"{len(report.study_uids)} studies; {report.duplicates} already present; "
                   f"{len(report.failures)} failed")
    return 0 if report.ok else 1


@click.command("ls")
@click.option("--level", "-l", type=LEVELS, default="study", show_default=True, help="Query level.")
@key_option
@click.option("--limit", type=int, default=None, help="At most this many rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per match).")
@pass_app
def ls_cmd(app: AppContext, level: str, keys: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """List the local archive with DICOM matching.

    \b
    Examples:
      tui-pacs ls -k PatientName='DOE*' -k StudyDate=20200101-20201231
      tui-pacs ls --level series -k StudyInstanceUID=1.2.3
    """
    query_level = Level.parse(level)
    wanted = parse_keys(keys)
    shown = list(DEFAULT_KEYS[query_level])
    for keyword in wanted:
        if keyword not in shown:
            shown.append(keyword)
    identifier = {k: wanted.get(k, "") for k in shown}
    query = Query(query_level, identifier, root=Root.PATIENT if query_level is Level.PATIENT else Root.STUDY)
    with open_archive(app) as archive:
        rows = archive.index.find(query, limit=limit)
    if as_json:
        print_json(rows)
    else:
        print_table(shown, rows)
        click.echo(f"{len(rows)} {query_level.value.lower()} match{'es' if len(rows) != 1 else ''}", err=True)


@click.command("delete")
@click.option("--patient", "patient_ids", multiple=True, help="Patient ID (repeatable).")
@click.option("--study", "study_uids", multiple=True, help="Study Instance UID (repeatable).")
@click.option("--series", "series_uids", multiple=True, help="Series Instance UID (repeatable).")
@click.option("--instance", "sop_uids", multiple=True, help="SOP Instance UID (repeatable).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def delete_cmd(app: AppContext, patient_ids: tuple[str, ...], study_uids: tuple[str, ...],
               series_uids: tuple[str, ...], sop_uids: tuple[str, ...], yes: bool) -> int:
    """Delete patients, studies, series or instances: rows, files and counts."""
    targets = [(Level.PATIENT, "PatientID", v) for v in patient_ids]
    targets += [(Level.STUDY, "StudyInstanceUID", v) for v in study_uids]
    targets += [(Level.SERIES, "SeriesInstanceUID", v) for v in series_uids]
    targets += [(Level.IMAGE, "SOPInstanceUID", v) for v in sop_uids]
    if not targets:
        raise click.UsageError("name at least one --patient, --study, --series or --instance")
    app.setup_logging()
    with open_archive(app) as archive:
        queries = [Query(level, {key: value}, root=Root.PATIENT) for level, key, value in targets]
        counts = [archive.index.count(q) for q in queries]
        for (level, key, value), count in zip(targets, counts):
            if count == 0:
                click.echo(f"no {level.value.lower()} with {key} {value} in the archive", err=True)
        if not any(counts):
            return 1
        if not yes and not click.confirm(f"delete {sum(counts)} matching record(s) and their files?"):
            return 1
        removed = 0
        for query in queries:
            paths = archive.index.delete(query)
            archive.delete_paths(paths)
            removed += len(paths)
    click.echo(f"deleted {removed} instances")
    return 0 if all(counts) else 1


@click.command("prune")
@click.option("--days", type=int, default=None, help="Keep studies received in the last N days (default: config).")
@click.option("--quota-gb", type=float, default=None, help="Stay under this many GB (default: config).")
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
@pass_app
def prune_cmd(app: AppContext, days: int | None, quota_gb: float | None, dry_run: bool) -> int:
    """Apply retention now: delete the oldest studies beyond the age limit or the quota."""
    from tui_pacs.store.retention import prune

    settings = app.config.archive
    days = days if days is not None else settings.retention_days
    quota = quota_gb if quota_gb is not None else settings.quota_gb
    if days is None and quota is None:
        click.echo("no retention configured: set [archive] retention_days or quota_gb, or pass --days/--quota-gb")
        return 0
    app.setup_logging()
    with open_archive(app) as archive:
        report = prune(archive, retention_days=days, quota_bytes=int(quota * 1e9) if quota else None,
                       dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for uid in report.deleted_studies:
        click.echo(f"{verb} study {uid}")
    click.echo(f"{verb} {len(report.deleted_studies)} studies, {report.freed_bytes / 1e6:.1f} MB")
    return 0
