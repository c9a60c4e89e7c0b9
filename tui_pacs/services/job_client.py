"""The client side of the job commands: jobs run by a ``tui-pacs serve`` of the same home.

The CLI and an attached TUI hand their transfers to the server (the commands
are in :mod:`tui_pacs.services.job_commands`), so a transfer goes on after the
SSH session that started it has ended. Two faces:

* :func:`submit_and_follow` (async, the CLI): subscribe, submit, then follow
  the job's ``job.progress`` events to its end on the same connection;
* :class:`ServerJobs` (blocking, for thread workers: the attached TUI).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui_pacs.config.paths import Paths
from tui_pacs.domain.events import JobProgress
from tui_pacs.services.control_client import ControlClient, request_blocking
from tui_pacs.services.job_commands import job_from_dict
from tui_pacs.store.jobs import JobRow

log = logging.getLogger(__name__)

_QUIET_POLL = 2.0
"""Seconds without any event before we read the job's row (a merged event, a missed end)."""
_CHECK_EVERY = 5.0
"""Seconds between row reads however busy the server is (a flood can push our events out)."""


@dataclass(frozen=True)
class JobOutcome:
    """How a followed job ended: its row and failed instances, or None if we stopped watching."""

    job_id: int
    job: JobRow | None
    failures: list[tuple[str, str]]


class JobWatch:
    """Controls for a job being followed: ask the server to cancel it, or stop watching."""

    def __init__(self) -> None:
        self.cancel_requested = asyncio.Event()
        self.detached = asyncio.Event()


async def _show(client: ControlClient, job_id: int) -> tuple[JobRow, list[tuple[str, str]]]:
    shown = await client.request("jobs.show", job_id=job_id)
    return job_from_dict(shown["job"]), [(uid, reason) for uid, reason in shown["failures"]]


async def follow(client: ControlClient, job_id: int, on_progress: Callable[[JobProgress], None],
                 watch: JobWatch | None = None) -> JobOutcome:
    """Wait until job ``job_id`` is done, failed or cancelled; ``client`` must be subscribed."""
    watch = watch or JobWatch()
    cancel_sent = False
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while not watch.detached.is_set():
        if watch.cancel_requested.is_set() and not cancel_sent:
            cancel_sent = True
            await client.request("jobs.cancel", job_id=job_id)
        event = await _next_event(client, watch)
        ours = isinstance(event, JobProgress) and event.job_id == job_id
        if ours and not event.is_final:
            on_progress(event)
        if event is None or (ours and event.is_final) or loop.time() - checked > _CHECK_EVERY:
            checked = loop.time()
            job, failures = await _show(client, job_id)
            if job.is_final:
                return JobOutcome(job_id, job, failures)
    return JobOutcome(job_id, None, [])


async def _next_event(client: ControlClient, watch: JobWatch) -> Any:
    """The next event, or None after a quiet spell or when the watcher wants attention."""
    getter = asyncio.ensure_future(client.next_event(timeout=_QUIET_POLL))
    waiters = [asyncio.ensure_future(watch.cancel_requested.wait()), asyncio.ensure_future(watch.detached.wait())]
    done, _ = await asyncio.wait([getter, *waiters], return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    if getter in done:
        return getter.result()
    getter.cancel()
    return "attention"


async def submit_and_follow(paths: Paths, command: str, arguments: dict[str, Any],
                            on_submitted: Callable[[JobRow], None],
                            on_progress: Callable[[JobProgress], None],
                            watch: JobWatch | None = None, *, wait: bool = True) -> JobOutcome:
    """Send ``command`` (``send``, ``move``, ``get`` or ``jobs.retry``) and follow its job to the end.

    The subscription comes first, so not even a job that ends at once can
    slip by. With ``wait`` false only the submission is made.
    """
    client = await ControlClient.connect(paths)
    try:
        if wait:
            await client.subscribe()
        job = job_from_dict(await client.request(command, **arguments))
        on_submitted(job)
        if not wait:
            return JobOutcome(job.id, job, [])
        return await follow(client, job.id, on_progress, watch)
    finally:
        await client.close()


class ServerJobs:
    """The server's job commands from a thread (the attached TUI's workers); each call blocks."""

    def __init__(self, paths: Paths, timeout: float = 15.0) -> None:
        self.paths = paths
        self.timeout = timeout

    def _call(self, command: str, **arguments: Any) -> Any:
        return request_blocking(self.paths, command, timeout=self.timeout, **arguments)

    def submit(self, kind: str, *, node: str = "", description: str = "",
               params: dict[str, Any] | None = None) -> int:
        job = self._call("jobs.submit", kind=kind, node=node, description=description, params=params or {})
        return int(job["id"])

    def cancel(self, job_id: int) -> JobRow:
        return job_from_dict(self._call("jobs.cancel", job_id=job_id))

    def retry(self, job_id: int) -> JobRow:
        return job_from_dict(self._call("jobs.retry", job_id=job_id))

    def clear_finished(self) -> int:
        return int(self._call("jobs.clear"))

    def list_jobs(self, limit: int = 500) -> list[JobRow]:
        return [job_from_dict(row) for row in self._call("jobs.list", limit=limit)]

    def failures(self, job_id: int) -> list[tuple[str, str]]:
        return [(uid, reason) for uid, reason in self._call("jobs.show", job_id=job_id)["failures"]]
