"""The transfer queue's commands on the control socket, and the job parameters they take.

``serve`` runs the transfer queue of its home (see :mod:`tui_pacs.services.server`);
these handlers let the CLI and an attached TUI use it. Arguments are members
of the command's JSON object; a job travels as :meth:`JobRow.to_dict`.

========================  ======================================================  ===================
command                   arguments                                               result
========================  ======================================================  ===================
``jobs.list``             ``limit``, ``states`` (optional)                        jobs, newest first
``jobs.show``             ``job_id``                                              ``{"job", "failures"}``
``send``                  ``node``; ``study``, ``series``, ``paths`` (absolute)   the queued job
``move``                  ``node``; ``study`` or ``keys`` (+ ``level``),          the queued job
                          ``root``, ``destination``
``get``                   ``node``; ``study`` or ``keys`` (+ ``level``), ``root``  the queued job
``jobs.submit``           ``kind``, ``node``, ``description``, ``params``          the queued job
``jobs.cancel``           ``job_id``                                              the job
``jobs.retry``            ``job_id``                                              the job
``jobs.clear``                                                                    rows removed
========================  ======================================================  ===================

``send``/``move``/``get`` take what the CLI commands take (``-k`` keys as an
object); ``jobs.submit`` takes a ready ``params`` object of any job kind (what
the TUI builds, see :mod:`tui_pacs.services.jobs`). Submitting returns at once:
follow the job with its ``job.progress`` events (``subscribe``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.services import jobs as job_kinds
from tui_pacs.services.control import CommandHandler, ControlContext, ControlError
from tui_pacs.store.jobs import JobRow, JobStore


class JobRequestError(TuiPacsError):
    """A job command with missing or contradictory arguments."""

    title = "Invalid job request"


# -- the parameters of each kind, shared with the CLI ----------------------------------------------


def send_params(study: Iterable[str] = (), series: Iterable[str] = (),
                paths: Iterable[str | Path] = ()) -> dict[str, Any]:
    """``send``'s params: archive studies and series, and files or folders (made absolute here)."""
    params = {"study": list(study), "series": list(series), "paths": [str(Path(p).absolute()) for p in paths]}
    if not any(params.values()):
        raise JobRequestError("give studies, series or paths to send")
    return params


def retrieve_params(study: Iterable[str] = (), keys: Mapping[str, str] | None = None, *, level: str = "study",
                    root: str = "study", destination: str | None = None) -> dict[str, Any]:
    """``move``/``get``'s params: Study Instance UIDs, or keys a C-FIND at ``level`` resolves."""
    uids, keys = list(study), dict(keys or {})
    if bool(uids) == bool(keys):
        raise JobRequestError("give either Study Instance UIDs or query keys")
    params: dict[str, Any] = {"study": uids} if uids else {"keys": keys, "level": level.upper()}
    params["root"] = root.upper()
    if destination is not None:
        params["destination"] = destination.strip().upper()
    return params


def job_from_dict(data: Mapping[str, Any]) -> JobRow:
    """A :class:`JobRow` again from :meth:`JobRow.to_dict` (a reply on the control socket)."""
    return JobRow(**{f.name: data[f.name] for f in fields(JobRow)})


# -- the handlers ----------------------------------------------------------------------------------


def _queue(ctx: ControlContext) -> Any:
    queue = ctx.extras.get("queue")
    if queue is None:
        raise ControlError("this server does not run a transfer queue")
    return queue


def _job_id(request: dict[str, Any]) -> int:
    try:
        return int(request["job_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise JobRequestError("give job_id, the number of a job") from exc


def _strings(request: dict[str, Any], name: str) -> list[str]:
    value = request.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise JobRequestError(f"{name} must be a list of strings")
    return list(value)


def _refuse_relative(paths: Iterable[object]) -> None:
    relative = [p for p in paths if not Path(str(p)).is_absolute()]
    if relative:
        # The server's working directory is not the client's.
        raise JobRequestError(f"paths must be absolute: {relative[0]}")


async def _submit(ctx: ControlContext, kind: str, node: str, description: str,
                  params: dict[str, Any]) -> dict[str, Any]:
    if kind not in job_kinds.KINDS:
        raise JobRequestError(f"unknown job kind {kind!r} (known: {', '.join(job_kinds.KINDS)})")
    _refuse_relative([*(params.get("paths") or []), *([params["to"]] if params.get("to") else [])])
    queue = _queue(ctx)
    refresh = ctx.extras.get("refresh_nodes")

    def submit() -> dict[str, Any]:
        if refresh is not None:
            refresh()  # `nodes add` may have named a node since the server started
        return dict(queue.enqueue(kind, node=node, description=description, params=params).to_dict())

    return await asyncio.to_thread(submit)


async def _send(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Queue a C-STORE of archive studies/series or files to ``node``."""
    paths = _strings(request, "paths")
    _refuse_relative(paths)
    params = send_params(_strings(request, "study"), _strings(request, "series"), paths)
    return await _submit(ctx, "send", str(request.get("node", "")), str(request.get("description") or "send"),
                         params)


def _retrieve(request: dict[str, Any], *, move: bool) -> dict[str, Any]:
    keys = request.get("keys") or {}
    if not isinstance(keys, dict):
        raise JobRequestError("keys must be an object of KEYWORD: VALUE")
    return retrieve_params(_strings(request, "study"), {str(k): str(v) for k, v in keys.items()},
                           level=str(request.get("level") or "study"), root=str(request.get("root") or "study"),
                           destination=str(request.get("destination") or "") if move else None)


async def _move(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Queue a C-MOVE from ``node`` to this node (or ``destination``)."""
    params = _retrieve(request, move=True)
    description = request.get("description") or f"move to {params['destination'] or 'here'}"
    return await _submit(ctx, "move", str(request.get("node", "")), str(description), params)


async def _get(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Queue a C-GET from ``node`` into this node's archive."""
    params = _retrieve(request, move=False)
    return await _submit(ctx, "get", str(request.get("node", "")), str(request.get("description") or "get"),
                         params)


async def _jobs_submit(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Queue a job of any kind from ready-made params (the TUI's way)."""
    params = request.get("params") or {}
    if not isinstance(params, dict):
        raise JobRequestError("params must be an object")
    return await _submit(ctx, str(request.get("kind", "")), str(request.get("node") or ""),
                         str(request.get("description") or ""), params)


async def _jobs_list(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Jobs, newest first."""
    store: JobStore = _queue(ctx).store
    limit = int(request.get("limit") or 200)
    states = _strings(request, "states") or None
    rows = await asyncio.to_thread(store.list, limit=limit, states=states)
    return [row.to_dict() for row in rows]


async def _jobs_show(request: dict[str, Any], ctx: ControlContext) -> Any:
    """One job and its failed instances with their reasons."""
    store: JobStore = _queue(ctx).store
    job_id = _job_id(request)

    def show() -> dict[str, Any]:
        failures: Iterable[tuple[str, str]] = store.failures(job_id)
        return {"job": store.get(job_id).to_dict(), "failures": [[uid, reason] for uid, reason in failures]}

    return await asyncio.to_thread(show)


async def _jobs_cancel(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Cancel a queued job, or stop a running one (its worker is told at once)."""
    job = await asyncio.to_thread(_queue(ctx).cancel, _job_id(request))
    return job.to_dict()


async def _jobs_retry(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Queue a failed or cancelled job again; the server's workers pick it up."""
    job = await asyncio.to_thread(_queue(ctx).retry, _job_id(request))
    return job.to_dict()


async def _jobs_clear(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Delete finished jobs (done, failed, cancelled); returns how many."""
    return await asyncio.to_thread(_queue(ctx).clear_finished)


JOB_COMMANDS: dict[str, CommandHandler] = {
    "jobs.list": _jobs_list, "jobs.show": _jobs_show, "jobs.submit": _jobs_submit,
    "jobs.cancel": _jobs_cancel, "jobs.retry": _jobs_retry, "jobs.clear": _jobs_clear,
    "send": _send, "move": _move, "get": _get,
}
"""The job commands; ``serve`` adds them to the control socket's dispatch table."""
