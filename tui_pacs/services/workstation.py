"""The node as the workstation sees it: run embedded, or attached to a running ``serve``.

Embedded, the TUI process runs the transfer queue (and the SCP, once the
server service is in the build) and closing the TUI stops them. Attached,
a ``tui-pacs serve`` on the same home runs them; the TUI reads the same
archive and job rows, and leaving it leaves the server running.

Every method that touches SQLite or the network is blocking and meant for a
thread worker; :meth:`start` and :meth:`stop` are coroutines for the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths
from tui_pacs.domain.events import Event
from tui_pacs.services.queue import TransferQueue
from tui_pacs.store.archive import Archive
from tui_pacs.store.jobs import JobRow, JobStore

log = logging.getLogger(__name__)

EMBEDDED, ATTACHED = "embedded", "attached"


class Workstation:
    """The archive, the job rows and (embedded) the transfer queue of one home."""

    def __init__(self, paths: Paths, config: Config, publish: Callable[[Event], None] | None = None) -> None:
        self.paths = paths
        self.config = config
        self.publish = publish or (lambda event: None)
        self.mode = EMBEDDED
        self.archive: Archive | None = None
        self.queue: TransferQueue | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.detail = ""

    # -- life cycle (on the loop) -------------------------------------------------------------

    async def start(self) -> None:
        """Open the archive and run the queue in this process (embedded mode)."""
        self.archive = await asyncio.to_thread(self._open_archive)
        self.queue = TransferQueue(self.archive, self.config, publish=self.publish)
        self._tasks.append(asyncio.create_task(self.queue.serve(self._stop), name="transfer-queue"))
        local = self.config.local
        self.detail = f"{local.ae_title} · embedded (transfer queue; SCP not in this build)"
        log.info("workstation started embedded on %s", self.paths.data_dir)

    def _open_archive(self) -> Archive:
        self.paths.ensure()
        return Archive.open(self.paths, self.config)

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        self._tasks.clear()
        if self.archive is not None:
            await asyncio.to_thread(self.archive.close)
            self.archive = None

    def describe(self) -> str:
        """One line for the header: which AE, embedded or attached."""
        return self.detail or f"{self.config.local.ae_title} · starting"

    # -- jobs (blocking: call from thread workers) ---------------------------------------------

    @property
    def jobs(self) -> JobStore:
        if self.archive is None:
            raise RuntimeError("the workstation is not started")
        return JobStore(self.archive.index)

    def list_jobs(self, limit: int = 500) -> list[JobRow]:
        return self.jobs.list(limit=limit)

    def failures(self, job_id: int) -> list[tuple[str, str]]:
        return self.jobs.failures(job_id)

    def submit(self, kind: str, *, node: str = "", description: str = "",
               params: dict[str, Any] | None = None) -> int:
        if self.queue is None:
            raise RuntimeError("the workstation is not started")
        return self.queue.submit(kind, node=node, description=description, params=params)

    def cancel(self, job_id: int) -> JobRow:
        if self.queue is not None:
            return self.queue.cancel(job_id)
        return self.jobs.request_cancel(job_id)

    def retry(self, job_id: int) -> JobRow:
        # The queue's dispatcher looks for due rows at least once a second.
        return self.jobs.retry(job_id)
