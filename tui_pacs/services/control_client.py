"""Clients of the control socket that need more than one command: from a thread, or with events.

* :func:`request_blocking`: one command from a thread worker (the TUI's), with a
  plain blocking socket, so no event loop is needed;
* :func:`server_status`: whether a server runs on this home (the CLI and the TUI
  ask before deciding to run jobs themselves);
* :class:`ControlClient`: commands and the event stream on one connection, so
  a client can submit a job and follow it to the end without missing an event.

The framing is :mod:`tui_pacs.services.control`'s: one JSON object per line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from typing import Any, Self

from tui_pacs.config.paths import Paths
from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.domain.events import Event, from_json
from tui_pacs.services.control import (
    _LINE_LIMIT,
    ControlError,
    _connect,
    _result,
    _write,
    encode_line,
    no_server,
    send_command,
)

log = logging.getLogger(__name__)


def request_blocking(paths: Paths, command: str, /, *, timeout: float = 15.0, **arguments: Any) -> Any:
    """:func:`send_command` for a thread (a TUI worker): plain blocking socket, no event loop."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(paths.socket_file))
        except OSError as exc:
            raise no_server(paths, exc) from exc
        try:
            sock.sendall(encode_line({"command": command, "id": 1, **arguments}))
            with sock.makefile("rb") as stream:
                line = stream.readline(_LINE_LIMIT)
        except OSError as exc:  # socket.timeout included
            raise ControlError(f"the server did not answer {command!r} ({exc})") from exc
    finally:
        sock.close()
    if not line:
        raise ControlError("the server closed the connection")
    return _result(json.loads(line))


async def server_status(paths: Paths, timeout: float = 3.0) -> dict[str, Any] | None:
    """The status of the server running on ``paths``'s home, or None when none answers."""
    if not paths.socket_file.exists():
        return None
    try:
        status = await asyncio.wait_for(send_command(paths, "status"), timeout=timeout)
    except (TimeoutError, TuiPacsError, OSError, ValueError) as exc:
        log.info("no running server answers on %s (%s)", paths.socket_file, exc)
        return None
    return status if isinstance(status, dict) else {}


class ControlClient:
    """One connection carrying commands and, once subscribed, the server's events.

    Replies are matched to requests by ``id``; events wait in a queue for
    :meth:`next_event`. When the server goes away, pending requests and
    :meth:`next_event` raise :class:`ControlError`.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._next_id = 0
        self._closed = False
        self._task = asyncio.create_task(self._read(), name="control-client")

    @classmethod
    async def connect(cls, paths: Paths) -> ControlClient:
        reader, writer = await _connect(paths)
        return cls(reader, writer)

    async def request(self, command: str, /, **arguments: Any) -> Any:
        """Send one command and return its result (ControlError if it failed or the link broke)."""
        if self._closed:
            raise ControlError("the server closed the connection")
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        try:
            await _write(self._writer, {"command": command, "id": self._next_id, **arguments})
        except (ConnectionError, OSError) as exc:
            self._pending.pop(self._next_id, None)
            raise ControlError(f"the server closed the connection ({exc})") from exc
        return _result(await future)

    async def subscribe(self) -> None:
        """From now on the server's events arrive here (read them with :meth:`next_event`)."""
        await self.request("subscribe")

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event; None after ``timeout`` seconds without one; ControlError once closed."""
        try:
            event = await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None
        if event is None:
            self._events.put_nowait(None)  # stay closed for later calls
            raise ControlError("the server closed the connection")
        return event

    async def _read(self) -> None:
        try:
            while line := await self._reader.readline():
                data = json.loads(line)
                if data.get("kind") == "reply":
                    future = self._pending.pop(data.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(data)
                    continue
                try:
                    self._events.put_nowait(from_json(line))
                except (ValueError, TypeError):
                    log.debug("skipping an event this version does not know: %s", data.get("kind"))
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            log.debug("control connection ended: %s", exc)
        finally:
            self._closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ControlError("the server closed the connection"))
            self._pending.clear()
            self._events.put_nowait(None)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
