"""``serve`` as a service: the SCP on its threads, the archive, the transfer queue, the bus
and the control socket.

The SCP's handlers run on pynetdicom's association threads and report through
:meth:`EventBus.publish_threadsafe`; everything else here runs on the event
loop. Blocking start-up and shut-down steps (opening the index, waiting for
open associations to finish) run in a worker thread so the loop keeps
serving the control socket meanwhile.

The server runs the transfer queue of its home: jobs submitted on the control
socket (by the CLI or an attached TUI, see :mod:`tui_pacs.services.job_commands`)
and jobs left queued or interrupted by an earlier process run here, so they go
on after the client that asked for them has gone. Their progress events and
the associations they open (:mod:`tui_pacs.net.scu.observe`) go on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths
from tui_pacs.domain.events import Event, ServerStarted, ServerStopped
from tui_pacs.domain.uids import normalise_ae_title
from tui_pacs.net.scp.base import ScpContext
from tui_pacs.net.scp.server import DicomServer
from tui_pacs.services.bus import BusLogHandler, EventBus
from tui_pacs.services.control import COMMANDS, CommandHandler, ControlContext, ControlServer
from tui_pacs.services.job_commands import JOB_COMMANDS
from tui_pacs.services.queue import TransferQueue
from tui_pacs.store.archive import Archive

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 30.0
"""Seconds open associations get to finish after SIGTERM before they are aborted."""


def effective_config(config: Config, *, aet: str | None = None, port: int | None = None,
                     bind: str | None = None) -> Config:
    """The config with ``serve``'s command-line overrides applied."""
    local = config.local
    if aet is not None:
        local = replace(local, ae_title=normalise_ae_title(aet))
    if port is not None:
        local = replace(local, port=port)
    if bind is not None:
        local = replace(local, bind=bind)
    return replace(config, local=local)


class ServeService:
    """One running server: start, report status, run jobs, stop.

    ``commands`` add to (or replace) the control socket's commands; ``run_queue``
    false leaves the jobs to another process (its job commands then say so).
    """

    def __init__(self, paths: Paths, config: Config, bus: EventBus, *,
                 commands: Mapping[str, CommandHandler] | None = None,
                 control: bool = True, run_queue: bool = True) -> None:
        self.paths = paths
        self.config = config
        self.bus = bus
        self.run_queue = run_queue
        self.started_at = 0.0
        self.archive: Archive | None = None
        self.dicom: DicomServer | None = None
        self.scp: ScpContext | None = None
        self.queue: TransferQueue | None = None
        self._queue_stop = asyncio.Event()
        self._queue_task: asyncio.Task[None] | None = None
        self._observer: Callable[[Event], None] | None = None
        self._config_stamp = _stamp(paths)
        self._refresh_lock = threading.Lock()
        self._log_handler: BusLogHandler | None = None
        table = {**COMMANDS, **JOB_COMMANDS, **(commands or {})}
        self.control = ControlServer(paths, ControlContext(bus, self.status), table) if control else None

    async def start(self) -> None:
        """Open the archive, start listening, open the control socket."""
        loop = asyncio.get_running_loop()
        self.paths.ensure()
        if self.control is not None:
            self.control.context.ready.clear()
            await self.control.start()
            self.control.context.extras.update({"paths": self.paths, "config": self.config})
        try:
            self.archive = await loop.run_in_executor(None, Archive.open, self.paths, self.config)
            self.scp = ScpContext(self.archive, self.config, report=self.bus.publish_threadsafe,
                                  nodes_source=self.refresh_nodes)
            self.dicom = DicomServer(self.scp)
            await loop.run_in_executor(None, self.dicom.start)
        except BaseException:
            await self._close_resources()
            raise
        if self.control is not None:
            self.control.context.extras["archive"] = self.archive
        self._log_handler = BusLogHandler(self.bus)
        logging.getLogger("tui_pacs").addHandler(self._log_handler)
        if self.run_queue:
            self._start_queue()
        self.started_at = time.time()
        if self.control is not None:
            self.control.context.ready.set()
        local = self.config.local
        self.bus.publish(ServerStarted(ae_title=local.ae_title, address=local.bind, port=self.dicom.port))

    def _start_queue(self) -> None:
        """Run the home's transfer queue here; jobs of a process that died resume first."""
        assert self.archive is not None
        self.queue = TransferQueue(self.archive, self.config, publish=self.bus.publish)
        if self.control is not None:
            self.control.context.extras.update({"queue": self.queue, "refresh_nodes": self.refresh_nodes})
        # Outgoing associations of our jobs (and anything else this process opens) on the bus.
        from tui_pacs.net.scu import observe

        self._observer = self.bus.publish_threadsafe
        observe.add_observer(self._observer)
        self._queue_task = asyncio.create_task(self.queue.serve(self._queue_stop), name="transfer-queue")

    def refresh_nodes(self) -> Config:
        """Take the ``[nodes]`` of the config file if it changed since we read it (blocking).

        ``tui-pacs nodes add`` and the TUI's node form write the file while the
        server runs; a job for a node added that way must still find it, and so
        must the SCP (its access policy, its C-MOVE destinations). Only the
        nodes are taken: the local node (AE title, port, access policy) is what
        the server listens with and stays as started.
        """
        stamp = _stamp(self.paths)
        if stamp == self._config_stamp or stamp is None:
            return self.config
        from tui_pacs.config.loader import load_config

        with self._refresh_lock:  # asked from the loop and from the SCP's association threads
            if stamp == self._config_stamp:
                return self.config
            fresh = load_config(self.paths.config_file)
            self._config_stamp = stamp
            self.config = replace(self.config, nodes=fresh.nodes)
        if self.queue is not None:
            self.queue.config = self.config
        log.info("nodes reloaded from %s: %s", self.paths.config_file, ", ".join(sorted(fresh.nodes)) or "none")
        return self.config

    async def _stop_queue(self, grace: float) -> None:
        """Interrupt running jobs (they are queued again, to resume) and wait up to ``grace`` s."""
        self._queue_stop.set()
        task, self._queue_task = self._queue_task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=max(grace, 1.0))
            except TimeoutError:
                # A runner stuck in a network call: its row keeps our owner, and the next
                # start's recovery queues it again once this process has gone.
                log.warning("jobs still running after %.0f s; leaving them to be resumed", grace)
            except Exception:
                log.exception("the transfer queue failed while stopping")
        if self._observer is not None:
            from tui_pacs.net.scu import observe

            observe.remove_observer(self._observer)
            self._observer = None

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop the jobs (to resume later), stop accepting, let open associations finish
        (up to ``grace`` s), close everything."""
        loop = asyncio.get_running_loop()
        # Jobs first: a C-MOVE to this node needs our SCP until its job has stopped.
        await self._stop_queue(grace)
        if self.dicom is not None:
            await loop.run_in_executor(None, self.dicom.stop, grace)
        self.bus.publish(ServerStopped(ae_title=self.config.local.ae_title))
        await asyncio.sleep(0)  # let subscribers (the control socket) see the last event
        await self._close_resources()

    async def _close_resources(self) -> None:
        await self._stop_queue(5.0)
        if self._log_handler is not None:
            logging.getLogger("tui_pacs").removeHandler(self._log_handler)
            self._log_handler = None
        if self.control is not None:
            await self.control.close()
        if self.archive is not None:
            self.archive.close()
            self.archive = None

    @property
    def port(self) -> int:
        return self.dicom.port if self.dicom else self.config.local.port

    def status(self) -> dict[str, Any]:
        """What ``status`` on the control socket answers."""
        local = self.config.local
        result: dict[str, Any] = {
            "ae_title": local.ae_title, "bind": local.bind, "port": self.port,
            "uptime": round(time.time() - self.started_at, 1) if self.started_at else 0.0,
            "associations": self.dicom.active_associations if self.dicom else 0,
            "counters": dict(self.scp.stats) if self.scp else {},
            "subscribers": self.bus.subscriber_count,
            "jobs": self.queue is not None,
        }
        if self.archive is not None:
            try:
                result["archive"] = self.archive.index.totals()
            except Exception as exc:  # noqa: BLE001 - the status must answer even if the index is unhappy
                result["archive"] = {"error": str(exc)}
        return result


def _stamp(paths: Paths) -> tuple[int, int] | None:
    """When and how big the config file is; None when there is none."""
    with contextlib.suppress(OSError):
        info = paths.config_file.stat()
        return info.st_mtime_ns, info.st_size
    return None


async def serve(paths: Paths, config: Config, stop: asyncio.Event, *,
                on_event: Callable[[Event], None] | None = None,
                on_started: Callable[[ServeService], None] | None = None,
                commands: Mapping[str, CommandHandler] | None = None,
                grace: float = SHUTDOWN_GRACE) -> None:
    """Run the server until ``stop`` is set; ``on_event`` sees every event on the loop."""
    bus = EventBus(asyncio.get_running_loop())
    printer: asyncio.Task[None] | None = None
    subscription = bus.subscribe(maxsize=10_000) if on_event is not None else None
    if subscription is not None and on_event is not None:
        printer = asyncio.create_task(_deliver(subscription, on_event))
    service = ServeService(paths, config, bus, commands=commands)
    try:
        await service.start()
        if on_started is not None:
            on_started(service)
        await stop.wait()
        log.info("stopping: letting open associations finish")
        await service.stop(grace)
    finally:
        if subscription is not None:
            subscription.close()
        if printer is not None:
            await printer


async def _deliver(subscription: Any, on_event: Callable[[Event], None]) -> None:
    async for event in subscription:
        try:
            on_event(event)
        except Exception:
            log.exception("event printer failed")
