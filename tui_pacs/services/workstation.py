"""The node as the workstation sees it: run embedded, or attached to a running ``serve``.

Embedded, the TUI process runs the SCP and the transfer queue (with the
event bus and control socket, so another TUI or the CLI can attach to it) and
closing the TUI stops them; jobs still running are queued again, to resume.
Attached, a ``tui-pacs serve`` on the same home runs the SCP and the transfer
queue; the TUI follows its events over the control socket, reads the same
archive and job rows, and hands every job, cancel, retry and clear to the
server (:class:`~tui_pacs.services.job_client.ServerJobs`), so leaving the TUI
leaves the server running and its transfers going.

Every method that touches SQLite or the network is blocking and meant for a
thread worker; :meth:`start` and :meth:`stop` are coroutines for the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths
from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.domain.events import AssociationEvent, Event
from tui_pacs.store.jobs import JobRow, JobStore

if TYPE_CHECKING:  # pynetdicom and pydicom load when the node starts, after the first frame
    from tui_pacs.services.job_client import ServerJobs
    from tui_pacs.services.queue import TransferQueue
    from tui_pacs.store.archive import Archive

log = logging.getLogger(__name__)

EMBEDDED, ATTACHED = "embedded", "attached"


def _import_node_modules() -> None:
    import tui_pacs.services.control
    import tui_pacs.services.job_client
    import tui_pacs.services.queue
    import tui_pacs.services.server
    import tui_pacs.store.archive  # noqa: F401


class Workstation:
    """The archive, the job rows, the transfer queue and (embedded) the SCP of one home."""

    def __init__(self, paths: Paths, config: Config, publish: Callable[[Event], None] | None = None, *,
                 run_scp: bool = True) -> None:
        self.paths = paths
        self.config = config
        self.publish = publish or (lambda event: None)
        self.run_scp = run_scp
        self.mode = EMBEDDED
        self.archive: Archive | None = None
        self.queue: TransferQueue | None = None
        """The queue this process runs (embedded); None when attached: the server runs the jobs."""
        self.server_jobs: ServerJobs | None = None
        """Attached: the running server's job commands."""
        self.server: Any = None
        self.bus: Any = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self.detail = ""
        self._observer: Callable[[Event], None] | None = None

    # -- life cycle (on the loop) -------------------------------------------------------------

    async def start(self) -> None:
        """Attach to a running ``serve`` of this home, else run the node in this process."""
        # pynetdicom and pydicom take a while to import: do it off the loop so the UI keeps drawing.
        await asyncio.to_thread(_import_node_modules)
        status = await self._running_server()
        if status is not None:
            await self._start_attached(status)
        else:
            await self._start_embedded()
        if self.server is not None and self.server.queue is not None:
            # Embedded with the SCP: its service runs the queue and reports our outgoing
            # associations on the bus we already follow.
            self.queue = self.server.queue
            return
        # Outgoing associations (our jobs', our echoes' and queries') reach the live table.
        from tui_pacs.net.scu import observe

        loop = asyncio.get_running_loop()
        attached = self.mode == ATTACHED

        def observer(event: Event) -> None:
            if attached and isinstance(event, AssociationEvent):
                # Association numbers are per process: ours would collide with the server's in
                # the live table, so our own (echo, query) are told apart by their sign.
                event = replace(event, association=-event.association)
            loop.call_soon_threadsafe(self._publish_job, event)

        self._observer = observer
        observe.add_observer(observer)
        if self.server_jobs is not None:
            return
        from tui_pacs.services.queue import TransferQueue

        self.queue = TransferQueue(self.archive, self.config, publish=self._publish_job)  # type: ignore[arg-type]
        self._tasks.append(asyncio.create_task(self.queue.serve(self._stop), name="transfer-queue"))

    async def _running_server(self) -> dict[str, Any] | None:
        from tui_pacs.services.control_client import server_status

        return await server_status(self.paths, timeout=2.0)

    async def _start_attached(self, status: dict[str, Any]) -> None:
        """Read the shared archive and follow the server's events; its SCP stays its own."""
        from tui_pacs.services.job_client import ServerJobs

        self.mode = ATTACHED
        self.archive = await asyncio.to_thread(self._open_shared_archive)
        if status.get("jobs"):
            self.server_jobs = ServerJobs(self.paths)
        else:  # a server that runs no queue: our own queue runs the jobs we submit
            log.warning("the running server runs no transfer queue; jobs run in the workstation")
        self._tasks.append(asyncio.create_task(self._follow(), name="attach"))
        self.detail = (f"{status.get('ae_title', self.config.local.ae_title)}:{status.get('port', '?')}"
                       " · attached to tui-pacs serve")
        log.info("attached to the running server on %s", self.paths.socket_file)

    async def _follow(self) -> None:
        from tui_pacs.domain.events import ServerStopped
        from tui_pacs.services.control import attach

        try:
            async for event in attach(self.paths):
                self.publish(event)
        except (TuiPacsError, OSError, ValueError) as exc:
            log.warning("lost the running server: %s", exc)
        if not self._stop.is_set():
            self.detail = f"{self.config.local.ae_title} · attached, but the server has stopped"
            self.publish(ServerStopped(ae_title=self.config.local.ae_title))

    async def _start_embedded(self) -> None:
        """Own archive, and the SCP with its bus and control socket unless told not to."""
        self.mode = EMBEDDED
        self.archive = await asyncio.to_thread(self._open_archive)
        local = self.config.local
        if not self.run_scp:
            self.detail = f"{local.ae_title} · embedded, SCP off"
            return
        from tui_pacs.services.bus import EventBus
        from tui_pacs.services.server import ServeService

        self.bus = EventBus(asyncio.get_running_loop())
        subscription = self.bus.subscribe(maxsize=10_000)
        self._tasks.append(asyncio.create_task(self._deliver(subscription), name="bus"))
        service = ServeService(self.paths, self.config, self.bus)
        try:
            await service.start()
        except TuiPacsError as exc:
            self.detail = f"{local.ae_title} · embedded, SCP not listening: {exc.message}"
            log.error("the SCP did not start: %s", exc.message)
            return
        self.server = service
        self.detail = f"{local.ae_title}@{local.bind}:{service.port} · embedded node"

    async def _deliver(self, subscription: Any) -> None:
        async for event in subscription:
            self.publish(event)

    def _publish_job(self, event: Event) -> None:
        # Through the bus when we serve one, so attached TUIs see our jobs too.
        if self.bus is not None:
            self.bus.publish(event)
        else:
            self.publish(event)

    def _open_archive(self) -> Archive:
        from tui_pacs.store.archive import Archive

        self.paths.ensure()
        return Archive.open(self.paths, self.config)

    def _open_shared_archive(self) -> Archive:
        # Not Archive.open: that sweeps the incoming folder under the server's open associations.
        from tui_pacs.store.archive import Archive

        archive = Archive(self.paths.index_file, self.paths.store_dir, self.config.archive)
        archive.index.open()
        return archive

    async def stop(self) -> None:
        """Stop what this process runs; an attached server keeps running."""
        self._stop.set()
        if self._observer is not None:
            from tui_pacs.net.scu import observe

            observe.remove_observer(self._observer)
            self._observer = None
        if self.server is not None:
            await self.server.stop(grace=5.0)
            self.server = None
        if self.bus is not None:
            self.bus.close()
        for task in self._tasks:
            if task.get_name() == "attach":
                task.cancel()
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
            raise TuiPacsError("the node is still starting; try again in a moment", title="Not ready")
        return JobStore(self.archive.index)

    def list_jobs(self, limit: int = 500) -> list[JobRow]:
        return self.jobs.list(limit=limit)

    def failures(self, job_id: int) -> list[tuple[str, str]]:
        return self.jobs.failures(job_id)

    def submit(self, kind: str, *, node: str = "", description: str = "",
               params: dict[str, Any] | None = None) -> int:
        """Queue a job: in the attached server, or in this process's queue."""
        if self.server_jobs is not None:
            return self.server_jobs.submit(kind, node=node, description=description,
                                           params=_absolute(params or {}))
        if self.queue is None:
            raise TuiPacsError("the node is still starting; try again in a moment", title="Not ready")
        return self.queue.submit(kind, node=node, description=description, params=params)

    def cancel(self, job_id: int) -> JobRow:
        """Cancel a queued job, or stop a running one (the worker running it is told at once)."""
        if self.server_jobs is not None:
            return self.server_jobs.cancel(job_id)
        if self.queue is not None:
            return self.queue.cancel(job_id)
        return self.jobs.request_cancel(job_id)

    def clear_finished(self) -> int:
        """Forget finished jobs (done, failed, cancelled): their rows leave the index."""
        if self.server_jobs is not None:
            return self.server_jobs.clear_finished()
        return self.jobs.clear_finished()

    def retry(self, job_id: int) -> JobRow:
        """Queue a failed or cancelled job again; the queue running this home's jobs picks it up."""
        if self.server_jobs is not None:
            return self.server_jobs.retry(job_id)
        if self.queue is not None:
            return self.queue.retry(job_id)
        return self.jobs.retry(job_id)


def _absolute(params: dict[str, Any]) -> dict[str, Any]:
    """Files and folders as absolute paths: the server resolves them, and its cwd is not ours."""
    fixed = dict(params)
    if fixed.get("paths"):
        fixed["paths"] = [str(Path(p).absolute()) for p in fixed["paths"]]
    if fixed.get("to"):
        fixed["to"] = str(Path(fixed["to"]).absolute())
    return fixed
