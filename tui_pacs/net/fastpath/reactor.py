"""An accepted association's reactor woken by its queues, with fast paths for common requests.

Why
---
pynetdicom 3.0.4 runs each accepted association's requests on a reactor
loop (``Association._run_reactor``) that sleeps 1 ms, then looks once at
the DIMSE queue and at the DUL's queue for an A-RELEASE-RQ. Every C-STORE
waits through that sleep (after the data set is in, before its handler
runs); profiled on small instances it was about a quarter of the
association thread's time. Its DUL thread polls the same way
(:mod:`.dul_wakeup`).

How
---
:func:`install` runs from ``EVT_CONN_OPEN`` (before the association's
threads start). It gives the DUL the event-driven loop of :mod:`.dul_wakeup`,
swaps the two queues the reactor reads (complete DIMSE messages; primitives
for the user, such as A-RELEASE-RQ) for queues that set a
:class:`threading.Event` on ``put``, and replaces the reactor loop with
:func:`_run`, which blocks on that event (at most :data:`IDLE_SECONDS`, so
kill flags are still seen) instead of sleeping. It keeps pynetdicom's duties
in its order: the pause checkpoint that ``send_*`` from other threads use,
one request per turn, then the peer's A-RELEASE (``EVT_RELEASED``), an
abort (``EVT_ABORTED``), a dead DUL and the network timeout.

Each request goes first to the fast path registered for its primitive type
(if any), which answers it itself and returns True, or returns False to let
pynetdicom's service classes serve it as before. A C-STORE is usually not
handed to the reactor at all: the DUL thread that read it answers it
(:class:`_Requests`), which saves two thread hand-offs per instance.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pynetdicom import _config, evt

from tui_pacs.net.fastpath import dimse, dul_wakeup

log = logging.getLogger(__name__)

IDLE_SECONDS = 0.05
"""Longest wait when idle: bounds how late a kill flag (abort, shutdown) is seen. Requests,
the peer's release or abort and the end of the DUL thread wake the reactor at once; with
C-STOREs answered on the DUL thread the reactor is mostly idle, and each needless wake-up
is a turn for the interpreter lock that the receiving threads wait for."""

FastPath = Callable[[Any, Any, Any], bool]
"""(association, request primitive, accepted presentation context) -> handled."""

_REQUIRED = ("_run_reactor", "_reactor_checkpoint", "_serve_request", "_accepted_cx", "_sent_release",
             "_kill", "dimse", "dul", "acse")


class _SignallingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue that sets ``signal`` whenever something is put on it."""

    def __init__(self, signal: threading.Event) -> None:
        super().__init__()
        self._signal = signal

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._signal.set()


def install(assoc: Any, fast_paths: Mapping[type, FastPath] | None = None,
            inline_paths: Mapping[type, FastPath] | None = None) -> bool:
    """Event-driven DUL and reactor for an accepted association not yet started; False if not possible.

    ``inline_paths`` are fast paths that may also answer a request on the
    DUL thread itself, as soon as it is read (see :class:`_Requests`).
    """
    if any(not hasattr(assoc, name) for name in _REQUIRED) or not hasattr(assoc.dimse, "msg_queue") \
            or not hasattr(assoc.dul, "to_user_queue") or not assoc.dimse.msg_queue.empty() \
            or not assoc.dul.to_user_queue.empty():
        log.info("association reactor left as pynetdicom's")
        return False
    if not dul_wakeup.install(assoc):
        return False
    dimse.install_fast_responses(assoc)  # the pending responses of a C-MOVE or C-GET we serve
    signal = threading.Event()
    requests = _Requests(assoc, signal, dict(inline_paths or {}))
    assoc.dimse.msg_queue = requests
    assoc.dul.to_user_queue = _SignallingQueue(signal)
    paths = dict(fast_paths or {})
    assoc._run_reactor = lambda: _run(assoc, signal, requests, paths)
    dul_target = assoc.dul._target

    def dul_then_wake() -> None:  # a DUL that ended (connection closed) ends the association
        try:
            dul_target()
        finally:
            signal.set()

    assoc.dul._target = dul_then_wake
    return True


class _Requests(_SignallingQueue):
    """The queue of complete DIMSE messages, which may answer a request at once instead.

    Why: a C-STORE handed from the DUL thread (which reads it) to the
    reactor thread (which answers it) and its response handed back cost
    two thread wake-ups and interpreter-lock hand-offs per instance; with
    small instances that was a tenth of the receiver's time per instance,
    and with several associations most of its system time (futex calls).

    How: :meth:`put` runs on the DUL thread as each message completes. If
    an inline path exists for the message's type, the association is
    established, the reactor has nothing outstanding (every message it was
    given is answered, so the order of requests and responses is kept) and
    :func:`fast_context` allows it, the path answers here; the DUL thread
    sends the response on its next turn. A path that declines (returns
    False) leaves the message to the reactor. The DUL thread does not read
    the socket meanwhile, which a peer waiting for the response does not
    notice.

    Established, because pynetdicom sends the A-ASSOCIATE-AC, then runs the
    EVT_ACCEPTED handlers, and only then marks the association established
    and starts the reactor: a sender quick enough has its first request read
    in between. Answered here then, the C-STORE was stored but its response
    never sent (the path took the association for one that had ended), and
    the sender waited out its timeout: about one association in fifty of
    storescu sending a single small instance. The reactor answers such a
    first request once it runs.
    """

    def __init__(self, assoc: Any, signal: threading.Event, inline_paths: dict[type, FastPath]) -> None:
        super().__init__(signal)
        self._assoc = assoc
        self._inline = inline_paths
        self._lock = threading.Lock()
        self._outstanding = 0
        self.failed: BaseException | None = None
        """An inline path's exception; the reactor aborts the association on seeing it."""
        self.answering = False
        """A path is answering on the DUL thread right now."""
        self.answered_inline = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if self._answer_inline(item):
            return
        with self._lock:
            self._outstanding += 1
        super().put(item, block, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next message. The reactor takes requests without blocking and reports each
        :meth:`served`; a blocking get is a handler waiting for a response to its own request
        (the C-STORE sub-operations of a C-GET we serve), which the reactor will not serve. It
        counts as served when taken: left outstanding, it kept every later C-STORE on the
        association from being answered inline."""
        item = super().get(block, timeout)
        if block:
            self.served()
        return item

    def served(self) -> None:
        """The reactor answered one message it took from this queue."""
        with self._lock:
            self._outstanding -= 1

    def _answer_inline(self, item: Any) -> bool:
        context_id, msg = item
        path = self._inline.get(type(msg))
        assoc = self._assoc
        if path is None or self._outstanding or self.failed is not None or not assoc.is_established:
            return False
        context = fast_context(assoc, msg, int(context_id))
        if context is None:
            return False
        self.answering = True
        try:
            assoc.dimse.cancel_req = {}
            if not path(assoc, msg, context):
                return False
        except Exception as exc:  # the reactor aborts, as for its own fast paths
            log.exception("serving %s failed; aborting the association", type(msg).__name__)
            self.failed = exc
            self._signal.set()
            return True
        finally:
            assoc.dul._idle_timer.restart()  # the wait for the peer's next request starts now
            self.answering = False
        self.answered_inline += 1
        return True


def _run(assoc: Any, signal: threading.Event, requests: _Requests, paths: dict[type, FastPath]) -> None:
    """pynetdicom's acceptor loop (association.py ``_run_reactor``), woken instead of polling."""
    assoc._is_paused = False
    busy = False
    while not assoc._kill:
        if not busy:
            signal.wait(IDLE_SECONDS)
            signal.clear()  # cleared before the queues are read, so no put is missed
        if requests.failed is not None:
            assoc.abort()
            return
        # Another thread's send_*() may have paused the reactor to own the DIMSE queue.
        assoc._is_paused = True
        assoc._reactor_checkpoint.wait()
        assoc._is_paused = False
        context_id, msg = assoc.dimse.get_msg(block=False)
        busy = msg is not None
        if msg is not None:
            try:
                _serve(assoc, msg, int(context_id), paths)
            finally:
                requests.served()
        if _ended(assoc, answering=requests.answering):
            return


def _ended(assoc: Any, *, answering: bool = False) -> bool:
    """pynetdicom's end-of-loop checks, in its order: peer release, abort, dead DUL, network timeout.

    While the DUL thread answers a request (``answering``) the peer is waiting for us, not
    idle: as when pynetdicom's reactor runs a handler, the network timeout is not looked at.
    """
    if assoc.is_established and assoc.acse.is_release_requested():
        assoc.acse.send_release(is_response=True)
        log.debug("association released by the peer")
        assoc.is_released = True
        assoc.is_established = False
        evt.trigger(assoc, evt.EVT_RELEASED, {})
        assoc.kill()
        return True
    if assoc.acse.is_aborted():
        assoc.dul.receive_pdu(wait=False)  # so that EVT_ACSE_RECV fires for subscribers
        assoc.is_aborted = True
        assoc.is_established = False
        evt.trigger(assoc, evt.EVT_ABORTED, {})
        assoc.kill()
        return True
    if not assoc.dul.is_alive():
        assoc.kill()
        return True
    if not answering and assoc.dul.idle_timer_expired():
        log.error("network timeout reached on association with %s", getattr(assoc.requestor, "address", "?"))
        if assoc.network_timeout_response == "A-RELEASE":
            assoc._is_paused = True
            assoc._reactor_checkpoint.wait()
            assoc.release()
            assoc._is_paused = False
        else:
            assoc.abort()
        assoc.kill()
        return True
    return False


def _serve(assoc: Any, msg: Any, context_id: int, paths: dict[type, FastPath]) -> None:
    path = paths.get(type(msg))
    context = fast_context(assoc, msg, context_id) if path is not None else None
    if path is None or context is None:
        assoc._serve_request(msg, context_id)
        return
    try:
        assoc.dimse.cancel_req = {}  # as pynetdicom: C-CANCELs received before this request do not count
        assoc._is_paused = True  # in case the handler uses a send_*() method
        handled = path(assoc, msg, context)
        assoc._is_paused = False
        assoc.dimse.cancel_req = {}
    except Exception:
        log.exception("serving %s failed; aborting the association", type(msg).__name__)
        assoc.abort()
        return
    if not handled:
        assoc._serve_request(msg, context_id)


def fast_context(assoc: Any, msg: Any, context_id: int) -> Any:
    """The accepted context of a request a fast path may answer, or None to leave it to pynetdicom.

    None when pynetdicom would do something else first: the association is
    releasing, the request is invalid or on an unknown context, SOP Class
    Extended Negotiation maps it to another service, or someone watches the
    DIMSE messages (handlers, pynetdicom's log) that a fast path would not send through it.
    """
    if assoc._sent_release or not msg.is_valid_request or _config.UNRESTRICTED_STORAGE_SERVICE:
        return None
    context = assoc._accepted_cx.get(context_id)
    if context is None:
        return None
    class_uid = getattr(msg, "AffectedSOPClassUID", None)
    if class_uid is not None and class_uid in getattr(assoc.acceptor, "accepted_common_extended", {}):
        return None
    if not dimse.dimse_unobserved(assoc):
        return None
    return context
