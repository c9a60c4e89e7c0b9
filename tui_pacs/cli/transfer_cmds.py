"""``tui-pacs send|move|get`` (wait for the job, progress on a terminal) and ``tui-pacs jobs``.

Each transfer is a job row first (so ``tui-pacs jobs`` and the TUI see it,
and a crash loses nothing), then run in the foreground by the transfer
queue with its retries. The exit status is 0 only when everything arrived.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import click

from tui_pacs.cli.context import AppContext, pass_app
from tui_pacs.cli.keys import key_option, parse_keys
from tui_pacs.cli.output import Progress, print_json, print_table


def _run_foreground(app: AppContext, kind: str, node: str, description: str, params: dict[str, Any]) -> int:
    from tui_pacs.domain.events import Event, JobProgress
    from tui_pacs.services.queue import TransferQueue
    from tui_pacs.store.archive import Archive

    app.setup_logging()
    app.paths.ensure()
    bar = Progress(f"{kind} {node}")

    def show(event: Event) -> None:
        if isinstance(event, JobProgress) and not event.is_final:
            done = event.completed + event.failed
            bar.update(done, done + (event.remaining or 0), event.message)

    with Archive.open(app.paths, app.config) as archive:
        queue = TransferQueue(archive, app.config, publish=show)
        job_id = queue.submit(kind, node=node, description=description, params=params)

        async def main() -> Any:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, lambda: queue.cancel(job_id))
            try:
                return await queue.run_job(job_id)
            finally:
                loop.remove_signal_handler(signal.SIGINT)

        try:
            job = asyncio.run(main())
        finally:
            bar.close()
        return _report(job, queue.store.failures(job_id))


def _report(job: Any, failures: list[tuple[str, str]]) -> int:
    size = f"{job.bytes / 1e6:.1f} MB" if job.bytes else ""
    figures = f"{job.completed}/{job.total} instances" + (f", {size}" if size else "")
    if job.seconds() and job.total:
        figures += f" in {job.seconds():.1f} s ({job.rate():.0f}/s)"
    if job.state == "done":
        click.echo(f"job {job.id} {job.kind} {job.node}: done, {figures}")
        return 0
    for uid, reason in failures[:10]:
        click.echo(f"  {uid}: {reason}", err=True)
    click.echo(f"error: job {job.id} {job.kind} {job.node} {job.state}: {job.error} ({figures}); "
               f"`tui-pacs jobs retry {job.id}` to try again", err=True)
    return 1


def _retrieve_params(study_uids: tuple[str, ...], keys: tuple[str, ...], level: str, root: str) -> dict[str, Any]:
    if bool(study_uids) == bool(keys):
        raise click.UsageError("give either --study UID... or -k KEYWORD=VALUE...")
    if study_uids:
        return {"study": list(study_uids), "root": root.upper()}
    return {"keys": parse_keys(keys), "level": level.upper(), "root": root.upper()}


_retrieve_options = [
    click.option("--study", "study_uids", multiple=True, help="Study Instance UID (repeatable)."),
    key_option,
    click.option("--level", type=click.Choice(["patient", "study", "series", "image"]), default="study",
                 show_default=True, help="Level at which -k keys are matched (a C-FIND picks the UIDs)."),
    click.option("--root", type=click.Choice(["patient", "study"]), default="study", show_default=True),
]


def _with_retrieve_options(func: Any) -> Any:
    for option in reversed(_retrieve_options):
        func = option(func)
    return func


@click.command("move")
@click.argument("node_name", metavar="NODE")
@click.option("--dest", "destination", default="", help="Destination AE title (default: this node).")
@_with_retrieve_options
@pass_app
def move_cmd(app: AppContext, node_name: str, destination: str, study_uids: tuple[str, ...],
             keys: tuple[str, ...], level: str, root: str) -> int:
    """C-MOVE studies from NODE to this node (or to --dest) and wait until they arrived."""
    params = _retrieve_params(study_uids, keys, level, root)
    params["destination"] = destination.strip().upper()
    target = params["destination"] or "here"
    return _run_foreground(app, "move", node_name, f"move to {target}", params)


@click.command("get")
@click.argument("node_name", metavar="NODE")
@_with_retrieve_options
@pass_app
def get_cmd(app: AppContext, node_name: str, study_uids: tuple[str, ...], keys: tuple[str, ...],
            level: str, root: str) -> int:
    """C-GET studies from NODE into the local archive and wait until they arrived."""
    return _run_foreground(app, "get", node_name, "get", _retrieve_params(study_uids, keys, level, root))


@click.command("send")
@click.argument("node_name", metavar="NODE")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--study", "study_uids", multiple=True, help="Study Instance UID in the archive (repeatable).")
@click.option("--series", "series_uids", multiple=True, help="Series Instance UID in the archive (repeatable).")
@pass_app
def send_cmd(app: AppContext, node_name: str, paths: tuple[Path, ...], study_uids: tuple[str, ...],
             series_uids: tuple[str, ...]) -> int:
    """C-STORE archive studies/series, or files and folders, to NODE."""
    if not (paths or study_uids or series_uids):
        raise click.UsageError("give --study UID..., --series UID... or PATH...")
    params = {"study": list(study_uids), "series": list(series_uids),
              "paths": [str(p.absolute()) for p in paths]}
    return _run_foreground(app, "send", node_name, "send", params)


@click.group("jobs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def jobs_group(ctx: click.Context, as_json: bool) -> None:
    """The transfer queue: list jobs; `jobs cancel ID`, `jobs retry ID`."""
    if ctx.invoked_subcommand is not None:
        return
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.jobs import JobStore

    app: AppContext = ctx.find_object(AppContext)
    app.paths.ensure()
    with Archive.open(app.paths, app.config) as archive:
        store = JobStore(archive.index)
        store.recover()
        rows = [job.to_dict() for job in store.list()]
    if as_json:
        print_json(rows)
    elif rows:
        for row in rows:
            row["progress"] = f"{row['completed']}/{row['total']}" + (f" ({row['failed']} failed)"
                                                                     if row["failed"] else "")
            row["rate"] = f"{row['rate']:.0f}/s" if row["rate"] else ""
        print_table(["id", "kind", "node", "state", "progress", "rate", "created_at", "error"], rows,
                    max_width=60)
    else:
        click.echo("no jobs")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@pass_app
def jobs_cancel(app: AppContext, job_id: int) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.jobs import JobStore

    with Archive.open(app.paths, app.config) as archive:
        job = JobStore(archive.index).request_cancel(job_id)
    click.echo(f"job {job_id}: {'cancelled' if job.state == 'cancelled' else 'asked to stop'}")


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@click.option("--no-wait", is_flag=True, help="Only queue it again (a running `serve` picks it up).")
@pass_app
def jobs_retry(app: AppContext, job_id: int, no_wait: bool) -> int:
    """Queue a failed or cancelled job again and (by default) run it now."""
    from tui_pacs.services.queue import TransferQueue
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.jobs import JobStore

    app.setup_logging()
    with Archive.open(app.paths, app.config) as archive:
        store = JobStore(archive.index)
        store.retry(job_id)
        if no_wait:
            click.echo(f"job {job_id} queued")
            return 0
        bar = Progress(f"job {job_id}")
        queue = TransferQueue(archive, app.config)

        async def main() -> Any:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, lambda: queue.cancel(job_id))
            return await queue.run_job(job_id)

        try:
            job = asyncio.run(main())
        finally:
            bar.close()
        return _report(job, store.failures(job_id))
