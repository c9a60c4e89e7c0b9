"""The control socket of a running ``serve``: events out, commands in, as JSON lines.

A local UNIX socket (``paths.socket_file``) in a directory only its owner
can enter (0700), itself mode 0600, so only the user who runs the server can
watch its traffic or command it; no network port is opened for this.

Protocol, one JSON object per line in each direction:

* client -> server: ``{"command": NAME, "id": ANY, ...arguments}``
* server -> client: ``{"kind": "reply", "id": ..., "ok": true, "result": ...}``
  or ``{"kind": "reply", "id": ..., "ok": false, "error": "..."}``
* after ``{"command": "subscribe"}`` the server also writes every event as
  :meth:`Event.to_json` (its ``kind`` tells it apart from replies).

Commands dispatch through one table, :data:`COMMANDS` (name -> async
handler). The transfer queue's commands plug in there: ``serve`` passes them
to :class:`ControlServer` (``commands={**COMMANDS, **JOB_COMMANDS}``, see
:mod:`tui_pacs.services.job_commands`); others can add theirs with
:func:`register_command`. A failed command's reply also carries the error's
``title`` so a client can show it as it would have been shown in-process.

Clients: :func:`send_command` (one command) and :func:`attach` (the event
stream) here; :mod:`tui_pacs.services.control_client` has the blocking client
for threads and :class:`ControlClient` (commands and events on one connection,
for following a job while it runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_pacs.config.paths import Paths
from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.domain.events import Event, from_json
from tui_pacs.services.bus import EventBus

log = logging.getLogger(__name__)

_LINE_LIMIT = 1 << 20


class ControlError(TuiPacsError):
    """The control socket cannot be opened, or a command failed."""

    title = "Control socket"


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class ControlContext:
    """What command handlers can reach: the bus, the server's status, anything plugged in."""

    bus: EventBus
    status: Callable[[], dict[str, Any]] = dict
    extras: dict[str, Any] = field(default_factory=dict)
    """Services the command handlers of other parts need (the job queue, the archive)."""
    ready: asyncio.Event = field(default_factory=_set_event)
    """Set once the services behind the commands are there. The socket is opened first (it is
    the one-server-per-home lock), so a command arriving while the server still opens its
    archive waits for it instead of being told the queue is missing."""


CommandHandler = Callable[[dict[str, Any], ControlContext], Awaitable[Any]]


async def _status(request: dict[str, Any], ctx: ControlContext) -> Any:
    """Server identity, counters, open associations and archive totals."""
    return ctx.status()


async def _ping(request: dict[str, Any], ctx: ControlContext) -> Any:
    return "pong"


COMMANDS: dict[str, CommandHandler] = {"status": _status, "ping": _ping}
"""The dispatch table: command name -> async handler(request, context) -> JSON-able result."""


def register_command(name: str) -> Callable[[CommandHandler], CommandHandler]:
    """Decorator adding a handler to :data:`COMMANDS` (call it from a function, not at import)."""

    def add(handler: CommandHandler) -> CommandHandler:
        COMMANDS[name] = handler
        return handler

    return add


def prepare_socket_path(path: Path) -> None:
    """Make the private directory and clear a stale socket; refuse if a server answers there."""
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    if directory.stat().st_uid != os.getuid():
        raise ControlError(f"{directory} belongs to another user")
    if path.exists() or path.is_symlink():
        if not stat.S_ISSOCK(path.lstat().st_mode):
            raise ControlError(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # left by a server that died
        else:
            raise ControlError(f"a server is already running (its socket is {path})")
        finally:
            probe.close()


class ControlServer:
    """Serves the control socket for one running ``serve``."""

    def __init__(self, paths: Paths, context: ControlContext,
                 commands: Mapping[str, CommandHandler] | None = None) -> None:
        self.path = paths.socket_file
        self.context = context
        self.commands = dict(COMMANDS if commands is None else commands)
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        prepare_socket_path(self.path)
        self._server = await asyncio.start_unix_server(self._serve_client, path=str(self.path),
                                                       limit=_LINE_LIMIT)
        os.chmod(self.path, 0o600)
        log.info("control socket at %s", self.path)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if server is not None:
            await server.wait_closed()
        with contextlib.suppress(OSError):
            self.path.unlink()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        pump: asyncio.Task[None] | None = None
        try:
            while line := await reader.readline():
                request = _parse(line)
                if request.get("command") == "subscribe" and "error" not in request:
                    if pump is None:
                        pump = asyncio.create_task(self._pump(writer))
                    await _write(writer, {"kind": "reply", "id": request.get("id"), "ok": True,
                                          "result": "subscribed"})
                    continue
                await _write(writer, await self.dispatch(request))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._clients.discard(task)

    async def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one command and build its reply; a failing handler gives ``ok: false``."""
        reply: dict[str, Any] = {"kind": "reply", "id": request.get("id")}
        if "error" in request:
            return {**reply, "ok": False, "error": request["error"]}
        name = request.get("command")
        handler = self.commands.get(str(name))
        if handler is None:
            return {**reply, "ok": False, "error": f"unknown command {name!r}",
                    "commands": sorted(self.commands)}
        try:
            if handler is not _ping:
                await self.context.ready.wait()
            return {**reply, "ok": True, "result": await handler(request, self.context)}
        except TuiPacsError as exc:
            return {**reply, "ok": False, "error": exc.message, "title": exc.title}
        except Exception as exc:
            log.exception("control command %s failed", name)
            return {**reply, "ok": False, "error": f"{type(exc).__name__}: {exc}"}

    async def _pump(self, writer: asyncio.StreamWriter) -> None:
        with self.context.bus.subscribe() as subscription:
            async for event in subscription:
                writer.write(event.to_json().encode() + b"\n")
                await writer.drain()


def _parse(line: bytes) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"error": "not a JSON line"}
    if not isinstance(value, dict):
        return {"error": "a command is a JSON object"}
    return value


def encode_line(payload: dict[str, Any]) -> bytes:
    """One message of the protocol: a JSON object on one line."""
    return json.dumps(payload, ensure_ascii=False, default=str).encode() + b"\n"


def no_server(paths: Paths, exc: OSError) -> ControlError:
    """The error of a client that finds nobody listening on the home's socket."""
    return ControlError(f"no server is running ({paths.socket_file}: {exc.strerror or exc})")


async def _write(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    writer.write(encode_line(payload))
    await writer.drain()


# --- the client side (the TUI attaches with these) ---------------------------------------


async def _connect(paths: Paths) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_unix_connection(str(paths.socket_file), limit=_LINE_LIMIT)
    except OSError as exc:
        raise no_server(paths, exc) from exc


async def send_command(paths: Paths, command: str, /, **arguments: Any) -> Any:
    """Send one command to the running server and return its result (ControlError if it failed)."""
    reader, writer = await _connect(paths)
    try:
        await _write(writer, {"command": command, "id": 1, **arguments})
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if not line:
        raise ControlError("the server closed the connection")
    return _result(json.loads(line))


def _result(reply: dict[str, Any]) -> Any:
    """A reply's result, or the server's error as a :class:`ControlError` with its title."""
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "command failed")),
                           title=str(reply.get("title") or ControlError.title))
    return reply.get("result")


async def attach(paths: Paths) -> AsyncIterator[Event]:
    """Events of the running server, as they happen, until it stops or the caller breaks.

    Usage (the TUI's live log and association monitor)::

        async for event in attach(paths):
            ...
    """
    reader, writer = await _connect(paths)
    try:
        await _write(writer, {"command": "subscribe", "id": "attach"})
        while line := await reader.readline():
            data = json.loads(line)
            if data.get("kind") == "reply":
                continue
            try:
                yield from_json(line)
            except (ValueError, TypeError):
                log.debug("skipping an event this version does not know: %s", data.get("kind"))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
