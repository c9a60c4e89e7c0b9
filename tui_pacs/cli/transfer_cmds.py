"""``tui-pacs send|move|get`` (wait for the job, progress on a terminal) and ``tui-pacs jobs``.

Each transfer is a job row first (so ``tui-pacs jobs`` and the TUI see it,
and a crash loses nothing). When a ``tui-pacs serve`` runs on the same home,
the job is handed to it over the control socket and this command follows its
events: the transfer goes on in the server if this process ends (an SSH
session closing), and ``jobs cancel``/``jobs retry`` reach the server's
workers. Without a server the job runs here, in the foreground, with the
queue's retries. Either way the exit status is 0 only when everything arrived.
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


def _server_runs_jobs(app: AppContext) -> bool:
    """Whether a ``tui-pacs serve`` (or an embedded workstation) runs this home's jobs."""
    if not app.paths.socket_file.exists():
        return False
    from tui_pacs.services.control_client import server_status

    status = asyncio.run(server_status(app.paths))
    return bool(status and status.get("jobs"))


def _on_server(app: AppContext, command: str, arguments: dict[str, Any], label: str, *, wait: bool) -> int:
    """Hand a job to the running server and (unless ``wait`` is false) follow it to its end."""
    from tui_pacs.domain.events import JobProgress
    from tui_pacs.services.control import ControlError
    from tui_pacs.services.job_client import JobOutcome, JobWatch, submit_and_follow
    from tui_pacs.store.jobs import JobRow

    app.setup_logging(to_file=False)
    bar = Progress(label)
    submitted: list[int] = []

    def on_submitted(job: JobRow) -> None:
        submitted.append(job.id)
        if wait:
            click.echo(f"job {job.id} {job.kind} {job.node}: handed to the running server "
                       "(Ctrl-C cancels it; if this command is killed, it goes on there)", err=True)
        else:
            click.echo(f"job {job.id} {job.kind} {job.node}: {job.state} in the running server")

    def on_progress(event: JobProgress) -> None:
        done = event.completed + event.failed
        bar.update(done, done + (event.remaining or 0), event.message)

    async def main() -> JobOutcome:
        watch = JobWatch()
        loop = asyncio.get_running_loop()

        def interrupt() -> None:
            if watch.cancel_requested.is_set():
                watch.detached.set()
            else:
                watch.cancel_requested.set()
                bar.close()
                click.echo("cancelling the job in the server (Ctrl-C again stops waiting)", err=True)

        loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            return await submit_and_follow(app.paths, command, arguments, on_submitted, on_progress, watch,
                                           wait=wait)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        outcome = asyncio.run(main())
    except ControlError as exc:
        if not submitted:
            raise
        raise ControlError(f"{exc.message}; job {submitted[0]} stays queued and resumes when "
                           "`tui-pacs serve` runs again (`tui-pacs jobs` shows it)", title=exc.title) from exc
    finally:
        bar.close()
    if not wait:
        return 0
    if outcome.job is None:
        click.echo(f"stopped waiting; job {outcome.job_id} goes on in the server (`tui-pacs jobs`)", err=True)
        return 130
    return _report(outcome.job, outcome.failures)


def _transfer(app: AppContext, kind: str, node: str, arguments: dict[str, Any], params: dict[str, Any],
              description: str, *, wait: bool) -> int:
    """Run one send/move/get: in the running server if there is one, else here."""
    if _server_runs_jobs(app):
        return _on_server(app, kind, {"node": node, "description": description, **arguments}, f"{kind} {node}",
                          wait=wait)
    if not wait:
        from tui_pacs.services.queue import TransferQueue
        from tui_pacs.store.archive import Archive

        app.paths.ensure()
        with Archive.open(app.paths, app.config) as archive:
            job_id = TransferQueue(archive, app.config).submit(kind, node=node, description=description,
                                                               params=params)
        click.echo(f"job {job_id} {kind} {node}: queued; no server is running, "
                   "`tui-pacs serve` (or the workstation) runs it when it starts")
        return 0
    return _run_foreground(app, kind, node, description, params)


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


def _retrieve_arguments(study_uids: tuple[str, ...], keys: tuple[str, ...], level: str,
                        root: str) -> dict[str, Any]:
    """What ``move``/``get`` send to the server (the same as their options)."""
    if bool(study_uids) == bool(keys):
        raise click.UsageError("give either --study UID... or -k KEYWORD=VALUE...")
    return {"study": list(study_uids), "keys": parse_keys(keys), "level": level, "root": root}


_no_wait_option = click.option(
    "--no-wait", is_flag=True,
    help="Only queue the job and print its id (the running server, or the next one to start, runs it).")


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
@_no_wait_option
@pass_app
def move_cmd(app: AppContext, node_name: str, destination: str, study_uids: tuple[str, ...],
             keys: tuple[str, ...], level: str, root: str, no_wait: bool) -> int:
    """C-MOVE studies from NODE to this node (or to --dest) and wait until they arrived."""
    from tui_pacs.services.job_commands import retrieve_params

    arguments = {**_retrieve_arguments(study_uids, keys, level, root), "destination": destination}
    params = retrieve_params(arguments["study"], arguments["keys"], level=level, root=root,
                             destination=destination)
    description = f"move to {params['destination'] or 'here'}"
    return _transfer(app, "move", node_name, arguments, params, description, wait=not no_wait)


@click.command("get")
@click.argument("node_name", metavar="NODE")
@_with_retrieve_options
@_no_wait_option
@pass_app
def get_cmd(app: AppContext, node_name: str, study_uids: tuple[str, ...], keys: tuple[str, ...],
            level: str, root: str, no_wait: bool) -> int:
    """C-GET studies from NODE into the local archive and wait until they arrived."""
    from tui_pacs.services.job_commands import retrieve_params

    arguments = _retrieve_arguments(study_uids, keys, level, root)
    params = retrieve_params(arguments["study"], arguments["keys"], level=level, root=root)
    return _transfer(app, "get", node_name, arguments, params, "get", wait=not no_wait)


@click.command("send")
@click.argument("node_name", metavar="NODE")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--study", "study_uids", multiple=True, help="Study Instance UID in the archive (repeatable).")
@click.option("--series", "series_uids", multiple=True, help="Series Instance UID in the archive (repeatable).")
@_no_wait_option
@pass_app
def send_cmd(app: AppContext, node_name: str, paths: tuple[Path, ...], study_uids: tuple[str, ...],
             series_uids: tuple[str, ...], no_wait: bool) -> int:
    """C-STORE archive studies/series, or files and folders, to NODE."""
    from tui_pacs.services.job_commands import send_params

    if not (paths or study_uids or series_uids):
        raise click.UsageError("give --study UID..., --series UID... or PATH...")
    params = send_params(study_uids, series_uids, paths)  # paths made absolute: the server has its own cwd
    return _transfer(app, "send", node_name, params, params, "send", wait=not no_wait)


@click.group("jobs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def jobs_group(ctx: click.Context, as_json: bool) -> None:
    """The transfer queue: list jobs; `jobs show ID`, `jobs cancel ID`, `jobs retry ID`, `jobs clear`.

    With a `tui-pacs serve` running on this home, these go to it.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    if _server_runs_jobs(app):
        rows = _ask_server(app, "jobs.list")
    else:
        from tui_pacs.store.jobs import JobStore

        with _archive(app) as archive:
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


def _ask_server(app: AppContext, command: str, **arguments: Any) -> Any:
    from tui_pacs.services.control import send_command

    return asyncio.run(send_command(app.paths, command, **arguments))


def _archive(app: AppContext) -> Any:
    from tui_pacs.store.archive import Archive

    app.paths.ensure()
    return Archive.open(app.paths, app.config)


@jobs_group.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def jobs_show(app: AppContext, job_id: int, as_json: bool) -> None:
    """One job in full, with its failed instances and their reasons."""
    if _server_runs_jobs(app):
        shown = _ask_server(app, "jobs.show", job_id=job_id)
        job, failures = shown["job"], [tuple(f) for f in shown["failures"]]
    else:
        from tui_pacs.store.jobs import JobStore

        with _archive(app) as archive:
            store = JobStore(archive.index)
            job, failures = store.get(job_id).to_dict(), store.failures(job_id)
    if as_json:
        print_json({"job": job, "failures": [list(f) for f in failures]})
        return
    for key in ("id", "kind", "node", "state", "description", "params", "total", "completed", "failed",
                "warnings", "bytes", "attempts", "max_attempts", "created_at", "started_at", "finished_at",
                "rate", "error"):
        click.echo(f"{key:13} {job[key]}")
    for uid, reason in failures:
        click.echo(f"  {uid}: {reason}")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@pass_app
def jobs_cancel(app: AppContext, job_id: int) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    if _server_runs_jobs(app):
        state = _ask_server(app, "jobs.cancel", job_id=job_id)["state"]
        click.echo(f"job {job_id}: " + ("cancelled" if state == "cancelled"
                                        else "the server's worker is stopping it"))
        return
    from tui_pacs.store.jobs import JobStore

    with _archive(app) as archive:
        job = JobStore(archive.index).request_cancel(job_id)
    click.echo(f"job {job_id}: {'cancelled' if job.state == 'cancelled' else 'asked to stop'}")


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@click.option("--no-wait", is_flag=True, help="Only queue it again (a running `serve` picks it up).")
@pass_app
def jobs_retry(app: AppContext, job_id: int, no_wait: bool) -> int:
    """Queue a failed or cancelled job again and (by default) wait for it to run."""
    if _server_runs_jobs(app):
        return _on_server(app, "jobs.retry", {"job_id": job_id}, f"job {job_id}", wait=not no_wait)
    from tui_pacs.services.queue import TransferQueue
    from tui_pacs.store.jobs import JobStore

    app.setup_logging()
    with _archive(app) as archive:
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


@jobs_group.command("clear")
@pass_app
def jobs_clear(app: AppContext) -> None:
    """Delete finished jobs (done, failed, cancelled) and their failure lists."""
    if _server_runs_jobs(app):
        removed = _ask_server(app, "jobs.clear")
    else:
        from tui_pacs.store.jobs import JobStore

        with _archive(app) as archive:
            removed = JobStore(archive.index).clear_finished()
    click.echo(f"cleared {removed} finished job(s)")
