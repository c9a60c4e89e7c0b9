"""An association's socket read through one buffer (net/fastpath/reader).

A real pynetdicom ``AssociationSocket`` over one end of a real socket pair;
the test writes PDUs into the other end. The wrapped socket is given a
counting stand-in for ``recv`` (it delegates to the real socket), so the
number of reads is measured, not assumed.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket

from tui_pacs.net.fastpath import reader


class CountingSocket:
    """A socket whose reads are counted; everything else is the real socket's."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.reads = 0

    def recv(self, size: int, *flags: int) -> bytes:
        self.reads += 1
        return self._sock.recv(size, *flags)

    def recv_into(self, buffer: Any, size: int = 0) -> int:
        self.reads += 1
        return self._sock.recv_into(buffer, size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@pytest.fixture
def pair() -> Iterator[tuple[AssociationSocket, CountingSocket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    transport = AssociationSocket(Association(AE(ae_title="TEST"), "acceptor"), client_socket=ours)
    counting = CountingSocket(ours)
    transport.socket = counting  # type: ignore[assignment]
    assert reader.install(transport) is not None
    yield transport, counting, theirs
    ours.close()
    theirs.close()


def pdu(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBL", kind, 0, len(body)) + body


def test_pdus_sent_together_are_read_in_one_call(pair: tuple[AssociationSocket, CountingSocket, socket.socket]) -> None:
    transport, counting, theirs = pair
    first, second = pdu(0x04, b"command" * 10), pdu(0x04, b"data set" * 500)
    theirs.sendall(first + second)
    assert transport.ready
    assert transport.peek(6) == first[:6]  # type: ignore[attr-defined]
    assert transport.recv(6) == first[:6]
    assert transport.recv(len(first) - 6) == first[6:]
    assert transport.ready  # the second PDU waits in the buffer, not in the socket
    assert transport.recv(6) + transport.recv(len(second) - 6) == second
    assert counting.reads == 1
    assert not transport.ready


def test_a_large_pdu_is_read_straight_into_place(pair: tuple[AssociationSocket, CountingSocket, socket.socket]) -> None:
    transport, _, theirs = pair
    body = bytes(range(256)) * (3 * reader.READ_AHEAD // 256)
    large, after = pdu(0x04, body), pdu(0x05, b"\x00" * 4)
    sender = threading.Thread(target=theirs.sendall, args=(large + after,))
    sender.start()
    assert transport.recv(6) == large[:6]
    assert transport.recv(len(body)) == body
    assert transport.recv(len(after)) == after
    sender.join(5)


def test_a_peer_that_closes_mid_pdu_gives_what_it_sent(
        pair: tuple[AssociationSocket, CountingSocket, socket.socket]) -> None:
    transport, _, theirs = pair
    whole = pdu(0x04, b"x" * 100)
    theirs.sendall(whole[:50])
    theirs.close()
    assert transport.peek(6) == whole[:6]  # type: ignore[attr-defined]
    assert transport.recv(len(whole)) == whole[:50]  # as pynetdicom's recv: fewer bytes, no error
    assert transport.recv(6) == b""


def test_only_an_association_socket_gets_a_reader() -> None:
    assert reader.install(None) is None

    class NotASocket:
        ready = False

    assert reader.install(NotASocket()) is None


def test_a_socket_found_readable_is_not_asked_again(
        pair: tuple[AssociationSocket, CountingSocket, socket.socket], monkeypatch: pytest.MonkeyPatch) -> None:
    """After the DUL loop's select() found the socket readable (dul_wakeup._wait), the next
    ``ready`` answers from that, once, without a select() of its own."""
    transport, _, theirs = pair
    selects: list[object] = []
    real_select = select.select

    def counting_select(*args: Any) -> Any:
        selects.append(args)
        return real_select(*args)

    monkeypatch.setattr("pynetdicom.transport.select.select", counting_select)
    theirs.sendall(pdu(0x05, b"\x00" * 4))
    reader.mark_readable(transport)
    assert transport.ready and selects == []  # the mark, not a select
    assert transport.ready and len(selects) == 1  # the mark is used once; then the socket is asked
    transport.recv(10)
    assert not transport.ready and len(selects) == 2
