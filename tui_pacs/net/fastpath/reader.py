"""An association's socket read through one buffer: a system call per burst, not four per PDU.

Why
---
pynetdicom 3.0.4 reads each PDU with a readiness ``select``, a 6-byte read
for the header and a read for the body, and our P-DATA path
(:mod:`.p_data`) peeks at the header first: four system calls per PDU, two
PDUs per small C-STORE. Each call releases and retakes the interpreter
lock, and with several associations at once each of those is a thread
switch (measured: about 90 context switches per stored instance with four
senders, a quarter of both cores idle).

How
---
:func:`install` gives one ``AssociationSocket`` a :class:`BufferedReader`
(over TLS too: it reads decrypted bytes, and ``ready`` still asks the
``SSLSocket`` for what it holds):

* ``recv(n)`` keeps pynetdicom's contract (``n`` bytes, fewer only if the
  peer closed, socket errors propagate) but reads whatever has arrived, up
  to :data:`READ_AHEAD` bytes, and serves the next calls from it; a read
  larger than that goes straight into a buffer of its own, as before;
* ``peek(n)`` looks at the next bytes without consuming them;
* the socket's ``ready`` is true while bytes wait in the buffer, where a
  ``select`` on the socket would say there is nothing to read.
"""

from __future__ import annotations

import functools
from typing import Any

READ_AHEAD = 1 << 16
"""Most bytes one read asks for; also the largest read served through the buffer."""


class BufferedReader:
    """Bytes read from ``transport.socket`` and not yet handed out."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._data = bytearray()
        self._start = 0

    def available(self) -> int:
        return len(self._data) - self._start

    def peek(self, size: int) -> bytes:
        """Up to ``size`` next bytes, left in place; blocks only until that many arrived or the peer closed."""
        while self.available() < size and self._fill(size - self.available()):
            pass
        return bytes(self._data[self._start:self._start + size])

    def recv(self, size: int) -> bytearray:
        """``size`` bytes, or what came before the peer closed (pynetdicom's ``recv`` contract)."""
        if size > READ_AHEAD and self.available() < size:
            return self._recv_large(size)
        while self.available() < size and self._fill(size - self.available()):
            pass
        end = min(self._start + size, len(self._data))
        out = self._data[self._start:end]
        self._start = end
        if self._start == len(self._data):
            self._data.clear()
            self._start = 0
        return out

    def _fill(self, wanted: int) -> int:
        """One read of what has arrived (blocking until something has); 0 when the peer closed."""
        chunk = self._transport.socket.recv(max(wanted, READ_AHEAD))
        if chunk:
            if self._start:
                del self._data[:self._start]
                self._start = 0
            self._data += chunk
        return len(chunk)

    def _recv_large(self, size: int) -> bytearray:
        """A large PDU: what is buffered, then the rest read straight into place."""
        out = bytearray(size)
        got = self.available()
        out[:got] = self._data[self._start:]
        self._data.clear()
        self._start = 0
        sock = self._transport.socket
        view = memoryview(out)
        try:
            while got < size:
                n = sock.recv_into(view[got:], size - got)
                if not n:  # closed: what we have so far, as pynetdicom
                    return out[:got]
                got += n
        finally:
            view.release()
        return out


@functools.cache
def _ready_while_buffered(cls: type) -> type:
    """``cls`` whose ``ready`` also counts the bytes waiting in the reader."""

    class Buffered(cls):  # type: ignore[misc,valid-type]
        @property
        def ready(self) -> bool:
            reader = self.__dict__.get("reader")
            if reader is not None and reader.available():
                return True
            if self.__dict__.pop("known_readable", False):  # a select() just said so (mark_readable)
                return True
            return bool(cls.ready.fget(self))  # type: ignore[attr-defined]

    Buffered.__name__ = Buffered.__qualname__ = f"Buffered{cls.__name__}"
    return Buffered


def install(transport: Any) -> BufferedReader | None:
    """Read ``transport`` (an AssociationSocket) through a buffer; None where it is not done."""
    if transport is None or "recv" in vars(transport) \
            or not isinstance(getattr(type(transport), "ready", None), property):
        return None
    reader = BufferedReader(transport)
    transport.reader = reader
    transport.recv = reader.recv
    transport.peek = reader.peek
    transport.__class__ = _ready_while_buffered(type(transport))  # type: ignore[arg-type]
    return reader


def mark_readable(transport: Any) -> None:
    """Tell ``transport``'s next ``ready`` that the socket is readable (a select() just said so),
    instead of it asking select() again: each asking releases the interpreter lock."""
    if isinstance(getattr(transport, "reader", None), BufferedReader):
        transport.known_readable = True


def buffered(transport: Any) -> int:
    """Bytes waiting in ``transport``'s reader (0 without one)."""
    reader = getattr(transport, "reader", None)
    return reader.available() if isinstance(reader, BufferedReader) else 0
