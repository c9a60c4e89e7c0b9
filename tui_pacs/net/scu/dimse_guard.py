"""Keep pynetdicom's association reactor away from the responses our sends wait for.

The race (pynetdicom 3.0.4, ``association.py``)
-----------------------------------------------
Every ``Association`` runs a reactor thread (``_run_reactor``) that, once a
millisecond, does::

    self._is_paused = True
    self._reactor_checkpoint.wait()      # (1) returns at once if the event is set
    self._is_paused = False              # (2)
    context_id, msg = self.dimse.get_msg(block=False)   # (3) takes ANY queued message

and every ``send_c_*`` pauses it with::

    self._reactor_checkpoint.clear()
    while not self._is_paused:           # (4) reads a flag that may be stale
        time.sleep(0.0001)
    self.dimse.send_msg(req, ...)        # (5)
    self.dimse.get_msg(block=True)       # (6) waits up to the DIMSE timeout

When one send ends it sets the checkpoint; the reactor's ``wait()`` (1)
returns, but before the reactor runs (2) the next send already clears the
event and sees ``_is_paused`` still ``True`` from the previous pause (4): it
believes the reactor is parked and sends (5). With TCP_NODELAY and a fast
peer the response is on the DIMSE queue within microseconds, the reactor
runs (2) and (3), takes the response and logs "Received unexpected C-STORE
service message"; the send then waits out the whole DIMSE timeout (6) and
aborts. The flag handshake is a check-then-act on two unsynchronised
variables, so no sleep can close it.

The fix
-------
:func:`install` replaces, on one association only, the DIMSE provider's
``get_msg`` with a version that takes a per-association lock. Our SCU code
holds that lock, through :func:`exclusive`, for the whole of every DIMSE
exchange (from before the request is sent until the final response is read),
and the reactor thread only ever *tries* the lock: while an exchange is in
progress it gets ``(None, None)`` and the message stays queued for the
sender. Between exchanges the reactor still serves stray requests as before.

While waiting, the sender's ``get_msg(block=True)`` polls in short slices and
returns ``(None, None)`` at once when the association has been aborted or the
DUL thread has died, so a vanished peer fails the job quickly instead of after
the DIMSE timeout; pynetdicom then treats it as "no response" and aborts.

The guard is installed from the ``EVT_CONN_OPEN`` handler (before association
negotiation, so before the reactor loop starts) and never at import time.
It touches private attributes, so it checks that they exist and logs when
run with a pynetdicom version it was not written against.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pynetdicom
from pynetdicom.association import Association

log = logging.getLogger(__name__)

TESTED_VERSIONS = ("3.0.4",)
_POLL_SECONDS = 0.05
_ATTRIBUTE = "_tui_pacs_dimse_lock"
_REASON = "_tui_pacs_no_response"


def install(assoc: Association) -> bool:
    """Guard ``assoc``'s DIMSE queue; return False (and log) if pynetdicom's shape is unknown."""
    if getattr(assoc, _ATTRIBUTE, None) is not None:
        return True
    dimse = getattr(assoc, "dimse", None)
    msg_queue = getattr(dimse, "msg_queue", None)
    if dimse is None or not isinstance(msg_queue, queue.Queue) or not hasattr(dimse, "get_msg"):
        log.warning("pynetdicom %s has an unexpected DIMSE provider; the reactor race guard is off",
                    pynetdicom.__version__)
        return False
    if pynetdicom.__version__ not in TESTED_VERSIONS:
        log.info("DIMSE guard written for pynetdicom %s, running on %s",
                 ", ".join(TESTED_VERSIONS), pynetdicom.__version__)
    lock = threading.RLock()
    original = dimse.get_msg

    def get_msg(block: bool = False) -> Any:
        if threading.current_thread() is assoc:
            # The reactor: never wait, and never take a message from an exchange in progress.
            if not lock.acquire(blocking=False):
                return None, None
            try:
                return original(block=False)
            finally:
                lock.release()
        if not block:
            return original(block=False)
        return _wait_for_message(assoc, dimse.msg_queue)  # as it is now: a fast path may replace it

    dimse.get_msg = get_msg
    setattr(assoc, _ATTRIBUTE, lock)
    return True


def _wait_for_message(assoc: Association, msg_queue: queue.Queue[Any]) -> Any:
    """``get_msg(block=True)`` that gives up early when the association is gone."""
    timeout = assoc.dimse.dimse_timeout
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = _POLL_SECONDS
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                setattr(assoc, _REASON, "timeout")
                return None, None
        try:
            item = msg_queue.get(block=True, timeout=wait)
        except queue.Empty:
            item = None
        if item is not None:
            if item[1] is None:  # pynetdicom's sentinel on A-ABORT / connection closed
                setattr(assoc, _REASON, "aborted")
            return item
        if assoc.is_aborted or not assoc.dul.is_alive():
            setattr(assoc, _REASON, "aborted")
            try:  # a last message may have arrived meanwhile
                return msg_queue.get(block=False)
            except queue.Empty:
                return None, None


def no_response_reason(assoc: Association) -> str:
    """Why the last wait ended without a message: ``"aborted"`` or ``"timeout"``."""
    return str(getattr(assoc, _REASON, None) or "timeout")


@contextmanager
def exclusive(assoc: Association) -> Iterator[None]:
    """Hold ``assoc``'s DIMSE queue for one whole exchange (request to final response)."""
    lock: threading.RLock | None = getattr(assoc, _ATTRIBUTE, None)
    if lock is None:
        yield
        return
    with lock:
        yield
