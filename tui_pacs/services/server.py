"""``serve`` as a service: the SCP on its threads, the archive, the bus and the control socket.

The SCP's handlers run on pynetdicom's association threads and report through
:meth:`EventBus.publish_threadsafe`; everything else here runs on the event
loop. Blocking start-up and shut-down steps (opening the index, waiting for
open associations to finish) run in a worker thread so the loop keeps
serving the control socket meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
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
from tui_pacs.services.control import CommandHandler, ControlContext, ControlServer
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
    """One running server: start, report status, stop."""

    def __init__(self, paths: Paths, config: Config, bus: EventBus, *,
                 commands: Mapping[str, CommandHandler] | None = None,
                 control: bool = True) -> None:
        self.paths = paths
        self.config = config
        self.bus = bus
        self.started_at = 0.0
        self.archive: Archive | None = None
        self.dicom: DicomServer | None = None
        self.scp: ScpContext | None = None
        self._log_handler: BusLogHandler | None = None
        self.control = ControlServer(paths, ControlContext(bus, self.status), commands) if control else None

    async def start(self) -> None:
        """Open the archive, start listening, open the control socket."""
        loop = asyncio.get_running_loop()
        self.paths.ensure()
        if self.control is not None:
            await self.control.start()
            self.control.context.extras.update({"paths": self.paths, "config": self.config})
        try:
            self.archive = await loop.run_in_executor(None, Archive.open, self.paths, self.config)
            self.scp = ScpContext(self.archive, self.config, report=self.bus.publish_threadsafe)
            self.dicom = DicomServer(self.scp)
            await loop.run_in_executor(None, self.dicom.start)
        except BaseException:
            await self._close_resources()
            raise
        if self.control is not None:
            self.control.context.extras["archive"] = self.archive
        self._log_handler = BusLogHandler(self.bus)
        logging.getLogger("tui_pacs").addHandler(self._log_handler)
        self.started_at = time.time()
        local = self.config.local
        self.bus.publish(ServerStarted(ae_title=local.ae_title, address=local.bind, port=self.dicom.port))

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop accepting, let open associations finish (up to ``grace`` s), close everything."""
        loop = asyncio.get_running_loop()
        if self.dicom is not None:
            await loop.run_in_executor(None, self.dicom.stop, grace)
        self.bus.publish(ServerStopped(ae_title=self.config.local.ae_title))
        await asyncio.sleep(0)  # let subscribers (the control socket) see the last event
        await self._close_resources()

    async def _close_resources(self) -> None:
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
        }
        if self.archive is not None:
            try:
                result["archive"] = self.archive.index.totals()
            except Exception as exc:  # the status must answer even if the index is unhappy
                result["archive"] = {"error": str(exc)}
        return result


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
