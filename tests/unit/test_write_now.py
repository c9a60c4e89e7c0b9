"""When a thread may write PDUs straight to an association's socket (``dul_wakeup.write_now``).

The DUL here is a stand-in with the attributes ``write_now`` reads: its
queue of outgoing primitives (the real :class:`_WakingQueue`), its event
queue, its state and a socket that records what is written. The real
thing runs in every integration test that sends.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from tui_pacs.net.fastpath import dul_wakeup


class RecordingSocket:
    def __init__(self, raw: Any = None) -> None:
        self.sent: list[bytes] = []
        self.socket = raw

    def send(self, data: bytes) -> None:
        self.sent.append(data)


@pytest.fixture
def dul() -> Any:
    wake, other = socket.socketpair()
    yield SimpleNamespace(
        to_provider_queue=dul_wakeup._WakingQueue(wake), event_queue=queue.Queue(),
        state_machine=SimpleNamespace(current_state="Sta6"), socket=RecordingSocket(),
        assoc=SimpleNamespace(get_handlers=lambda event: []))
    wake.close()
    other.close()


def test_written_when_nothing_waits_before_it(dul: Any) -> None:
    assert dul_wakeup.write_now(dul, b"pdu")
    assert dul.socket.sent == [b"pdu"]


@pytest.mark.parametrize("before", ["queued primitive", "pending event", "state", "watched"])
def test_left_to_the_dul_otherwise(dul: Any, before: str) -> None:
    if before == "queued primitive":
        dul.to_provider_queue.put("an earlier P-DATA")  # it must go first
    elif before == "pending event":
        dul.event_queue.put("Evt9")  # taken off the queue, about to be sent
    elif before == "state":
        dul.state_machine.current_state = "Sta7"  # releasing: no P-DATA
    else:
        dul.assoc.get_handlers = lambda event: [print]  # someone watches sent PDUs
    assert not dul_wakeup.write_now(dul, b"pdu")
    assert dul.socket.sent == []


def test_waits_while_the_dul_sends(dul: Any) -> None:
    """The DUL holds the send lock from taking a primitive off its queue until it is sent."""
    lock = dul.to_provider_queue.send_lock
    done = threading.Event()
    with lock:
        writer = threading.Thread(target=lambda: (dul_wakeup.write_now(dul, b"later"), done.set()))
        writer.start()
        assert not done.wait(0.2)
        dul.socket.send(b"earlier")  # as the DUL would, inside do_action
    writer.join(5)
    assert dul.socket.sent == [b"earlier", b"later"]


def test_over_tls_only_the_dul_thread_writes(dul: Any) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    raw = context.wrap_socket(socket.socket(), do_handshake_on_connect=False)
    try:
        dul.socket = RecordingSocket(raw)
        assert not dul_wakeup.write_now(dul, b"from another thread")
        dul.to_provider_queue.owner = threading.get_ident()  # this test's thread is now the DUL's
        assert dul_wakeup.write_now(dul, b"from the DUL thread")
        assert dul.socket.sent == [b"from the DUL thread"]
    finally:
        raw.close()
