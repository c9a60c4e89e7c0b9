"""Wake pynetdicom's DUL thread when there is work instead of polling it every millisecond.

Why
---
pynetdicom 3.0.4 runs one DUL (upper layer, PS3.8) thread per association.
Whenever it finds nothing to do it sleeps ``_run_loop_delay`` (1 ms, in
practice 1.05-1.1 ms) and looks again: at the socket (``select`` with a zero
timeout) and at the queue of primitives our thread wants sent. Each C-STORE
crosses that sleep at least twice (the request's P-DATA waits for the DUL to
wake; the peer's response waits in the socket buffer for the next look), so
a peer that answers in 100 µs still costs us 1-2 ms per instance: profiled
with py-spy, 85% of the DUL thread's samples were that sleep and 39% of the
sending thread's were spent waiting for the response.

How
---
:func:`install` must run before the association starts its DUL thread
(from ``_create_socket`` for associations we request, from ``EVT_CONN_OPEN``
for associations we accept). It

* swaps the DUL's ``to_provider_queue`` for a queue that, on every ``put``,
  writes one byte to a private socket pair, and
* replaces the thread's run loop with :func:`_run`, which does the same
  duties as pynetdicom's loop (ARTIM timer, one outgoing primitive or one
  incoming PDU, then one state-machine event) but, when idle, blocks in
  ``select`` on the association socket and the wake-up socket instead of
  sleeping. It still wakes at least every :data:`IDLE_SECONDS` to see the
  ARTIM timer and a kill request, which pynetdicom signals only by flags.

It also reads the socket through one buffer (:mod:`.reader`) instead of
pynetdicom's 4 KB pieces, a read per burst rather than several per PDU, and
hands P-DATA-TF PDUs to DIMSE without the state machine's detour
(:mod:`.p_data`).

A TLS socket can hold decrypted bytes that ``select`` does not see, so the
loop does not block while ``pending()`` reports any. Everything here uses private pynetdicom
attributes: :func:`install` checks that they exist and otherwise leaves
the association alone.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import select
import socket
import ssl
import threading
import time
from typing import Any

import pynetdicom
from pynetdicom import evt
from pynetdicom.pdu import A_ABORT_RQ

from tui_pacs.net.fastpath import p_data, reader

log = logging.getLogger(__name__)

TESTED_VERSIONS = ("3.0.4",)
IDLE_SECONDS = 0.005
"""Longest select() when idle: bounds how late an ARTIM expiry or a kill request is seen."""

_REQUIRED = ("to_provider_queue", "event_queue", "state_machine", "artim_timer", "_idle_timer",
             "_process_recv_primitive", "_is_transport_event", "_kill_thread", "_target")


class _WakingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue that pokes the DUL thread awake whenever another thread puts something on it.

    The DUL thread itself (a response answered inline, :class:`.reactor._Requests`)
    needs no poke: its loop looks at this queue before it waits.
    """

    def __init__(self, wake: socket.socket) -> None:
        super().__init__()
        self._wake = wake
        self.owner: int | None = None
        """The DUL thread's ident, once its loop runs."""
        self.send_lock = threading.RLock()
        """Held by the DUL thread while it takes a primitive off this queue and sends it, and by
        :func:`write_now`: one PDU at a time on the socket, in the order they were given."""

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        if threading.get_ident() == self.owner:
            return
        try:
            self._wake.send(b"\0")
        except OSError:  # buffer full (a wake-up is pending anyway) or the loop has ended
            pass


def write_now(dul: Any, data: bytes) -> bool:
    """Write whole PDUs (P-DATA-TF) straight to ``dul``'s socket, as the DUL would send them;
    False, with nothing written, to leave them to the DUL.

    From any thread: the DUL thread itself (a request answered inline) or
    the one that has a message to send (a C-STORE of our SCU, a C-MOVE's
    sub-operation, a pending response). Handing a message to the DUL thread
    cost a wake-up of that thread and a turn of its state machine, for
    every message of a chain where each waits for the one before (send a
    sub-operation, wait for its response, answer the C-MOVE). Written here
    only with nothing queued or half-way out before it (the DUL holds
    :attr:`_WakingQueue.send_lock` from taking a primitive off its queue
    until it is sent), in Sta6 (data transfer: P-DATA-TF goes out and the
    state stays, PS3.8 9.2 DT-1), and with nobody watching sent PDUs. The
    socket's ``send`` is pynetdicom's: a failure queues Evt17 (the
    connection closed). Over TLS only the DUL thread writes: it also reads,
    and an SSL connection must not be used by two threads at once.
    """
    queued = dul.to_provider_queue
    if not isinstance(queued, _WakingQueue):
        return False
    if threading.get_ident() != queued.owner and isinstance(getattr(dul.socket, "socket", None), ssl.SSLSocket):
        return False  # one TLS connection is not to be read and written by two threads at once
    with queued.send_lock:
        if not (queued.empty() and dul.event_queue.empty() and dul.state_machine.current_state == "Sta6"
                and not dul.assoc.get_handlers(evt.EVT_PDU_SENT)
                and not dul.assoc.get_handlers(evt.EVT_DATA_SENT)):
            return False
        dul.socket.send(data)
    return True


def install(assoc: Any, transport: Any = None) -> bool:
    """Give ``assoc``'s not yet started DUL thread the event-driven loop; False if not possible.

    ``transport`` is the association's socket when it is not yet the DUL's: a requested
    association is tuned while pynetdicom creates its socket, before it is attached. Without
    it the buffered reader (:mod:`.reader`) would be missing, and every PDU would cost a peek,
    a header read and one read per 4 KB of its body.
    """
    dul = getattr(assoc, "dul", None)
    if dul is None or any(not hasattr(dul, name) for name in _REQUIRED) or dul.is_alive() \
            or dul.ident is not None or not dul.to_provider_queue.empty():
        log.info("DUL wake-up not installed on pynetdicom %s; keeping its polling loop",
                 pynetdicom.__version__)
        return False
    if pynetdicom.__version__ not in TESTED_VERSIONS:
        log.info("DUL wake-up written for pynetdicom %s, running on %s",
                 ", ".join(TESTED_VERSIONS), pynetdicom.__version__)
    receiver, sender = socket.socketpair()
    receiver.setblocking(False)
    sender.setblocking(False)
    dul.to_provider_queue = _WakingQueue(sender)

    def target() -> None:
        try:
            _run(dul, receiver)
        finally:
            receiver.close()
            sender.close()

    dul._target = target
    reader.install(transport if transport is not None else dul.socket)
    p_data.install(dul)
    return True


def _run(dul: Any, wake: socket.socket) -> None:
    """The DUL loop: do one unit of work per turn, block in select() when there is none."""
    dul._idle_timer.start()
    if isinstance(dul.to_provider_queue, _WakingQueue):
        dul.to_provider_queue.owner = threading.get_ident()
        send_lock: Any = dul.to_provider_queue.send_lock
    else:
        send_lock = contextlib.nullcontext()
    ready = dul.assoc._dul_ready
    woke_for_socket = False
    while not dul._kill_thread:
        if not ready.is_set():
            ready.set()
        if dul.artim_timer.expired:
            dul.event_queue.put("Evt18")  # PS3.8 9.2: ARTIM timer expired
        read = False
        try:
            # An outgoing primitive first; else at most one incoming PDU, looked for only when
            # there may be one: asking the socket is a select(), and _wait's select() asks anyway.
            if not dul._process_recv_primitive() and _may_read(dul, woke_for_socket) \
                    and dul._is_transport_event():
                dul._idle_timer.restart()
                read = True
        except Exception:
            log.exception("DUL failure; aborting the association")
            abort(dul)
            return
        try:
            event = dul.event_queue.get(block=False)
        except queue.Empty:
            if woke_for_socket and not read:
                # The socket was readable yet gave nothing (a state that ignores it): do not
                # spin on it, pace like pynetdicom's loop. A P-DATA-TF handed straight to DIMSE
                # (p_data) is read without an event, and is no reason to wait.
                time.sleep(0.001)
            woke_for_socket = _wait(dul, wake)
            continue
        woke_for_socket = False
        with send_lock:  # an outgoing primitive is taken off the queue and sent (write_now)
            dul.state_machine.do_action(event)


def _may_read(dul: Any, woke_for_socket: bool) -> bool:
    """Whether this turn should look at the socket: it was just found readable, bytes wait in
    the reader, or pynetdicom's state needs the look (Sta13 closes the socket when nothing came)."""
    transport = dul.socket
    return (woke_for_socket or reader.buffered(transport) > 0 or getattr(transport, "reader", None) is None
            or dul.state_machine.current_state == "Sta13")


def _wait(dul: Any, wake: socket.socket) -> bool:
    """Block until the peer sent something, our side queued a primitive, or IDLE_SECONDS pass.

    Returns whether the association socket was readable.
    """
    if not dul.to_provider_queue.empty() or not dul.event_queue.empty():
        return False
    transport = dul.socket
    if reader.buffered(transport):
        return True
    watched: list[Any] = [wake]
    raw = getattr(transport, "socket", None)
    if raw is not None and getattr(transport, "_is_connected", False) and raw.fileno() >= 0:
        if isinstance(raw, ssl.SSLSocket) and raw.pending():
            reader.mark_readable(transport)
            return True
        watched.append(raw)
    try:
        readable, _, _ = select.select(watched, [], [], IDLE_SECONDS)
    except (OSError, ValueError):  # the socket closed under us: the next turn reports it
        time.sleep(0.001)
        return False
    if wake in readable:
        try:
            while wake.recv(4096):
                pass
        except OSError:  # BlockingIOError: drained
            pass
    if len(readable) > (wake in readable):
        reader.mark_readable(transport)
        return True
    return False


def abort(dul: Any) -> None:
    """As pynetdicom does on a reactor exception: A-ABORT straight onto the socket, then stop."""
    pdu = A_ABORT_RQ()
    pdu.source = 0x02
    pdu.reason_diagnostic = 0x00
    try:
        dul.socket.send(pdu.encode())
    except Exception:
        log.debug("could not send A-ABORT", exc_info=True)
    assoc = dul.assoc
    assoc.is_aborted = True
    assoc.is_established = False
    assoc._kill = True
    dul._kill_thread = True
