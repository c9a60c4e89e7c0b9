"""The C-STORE sub-operations of a C-GET we requested, answered on the thread that read them.

Why
---
During a C-GET the peer sends each instance as a C-STORE request on our
own association (PS3.4 C.4.3.1.3). pynetdicom's DUL thread reads it and
queues it; the thread that called ``send_c_get`` takes it from the queue
between the C-GET responses and answers it (``Association._c_store_scp``,
which builds an event, a response primitive and a status data set). That
is two thread hand-offs per instance, and on the receiving end of a C-GET
of 500 instances of 132 KB the two threads together spent about 1.5 ms of
CPU per instance. An accepted association answers its C-STOREs on the DUL
thread (:mod:`.reactor`); this does the same for a requested one.

How
---
:func:`install` (before the association starts) replaces the association's
queue of complete DIMSE messages with :class:`InlineStores`. When the DUL
thread puts a C-STORE request on it, the association is established, no
earlier C-STORE is still waiting for pynetdicom (responses stay in request
order) and :func:`.reactor.fast_context` allows it, the given path answers
it there and it never reaches the queue. Everything else (the C-GET
responses, a C-STORE the path declines) is queued as before. A path that
fails aborts the association, as pynetdicom does when its reactor fails.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from pynetdicom.dimse_primitives import C_STORE

from tui_pacs.net.fastpath import dul_wakeup
from tui_pacs.net.fastpath.reactor import FastPath, fast_context

log = logging.getLogger(__name__)


class InlineStores(queue.Queue):  # type: ignore[type-arg]
    """A requested association's DIMSE message queue that answers C-STORE requests as they complete."""

    def __init__(self, assoc: Any, path: FastPath) -> None:
        super().__init__()
        self._assoc = assoc
        self._path = path
        self._lock = threading.Lock()
        self._left_to_pynetdicom = 0
        self.answered_inline = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        context_id, msg = item
        if isinstance(msg, C_STORE) and msg.is_valid_request:
            if self._answer(msg, int(context_id)):
                return
            with self._lock:
                self._left_to_pynetdicom += 1
        super().put(item, block, timeout)

    def answered_by_pynetdicom(self) -> None:
        """pynetdicom answered a C-STORE this queue left to it."""
        with self._lock:
            self._left_to_pynetdicom -= 1

    def _answer(self, msg: Any, context_id: int) -> bool:
        assoc = self._assoc
        with self._lock:
            if self._left_to_pynetdicom:
                return False
        if not assoc.is_established:
            return False
        context = fast_context(assoc, msg, context_id)
        if context is None:
            return False
        try:
            answered = self._path(assoc, msg, context)
        except Exception:  # the response may be lost: end the association, as pynetdicom would
            log.exception("answering a C-STORE sub-operation failed; aborting the association")
            dul_wakeup.abort(assoc.dul)
            return True
        if answered:
            self.answered_inline += 1
        return bool(answered)


def install(assoc: Any, path: FastPath) -> InlineStores | None:
    """Answer ``assoc``'s C-STORE requests with ``path`` on its DUL thread; None where pynetdicom
    differs from 3.0.x or the association has started."""
    dimse = getattr(assoc, "dimse", None)
    store_scp = getattr(assoc, "_c_store_scp", None)
    if dimse is None or store_scp is None or not isinstance(getattr(dimse, "msg_queue", None), queue.Queue) \
            or not dimse.msg_queue.empty() or isinstance(dimse.msg_queue, InlineStores):
        return None
    stores = InlineStores(assoc, path)
    dimse.msg_queue = stores

    def answered_by_pynetdicom(req: Any) -> None:
        try:
            store_scp(req)
        finally:
            stores.answered_by_pynetdicom()

    assoc._c_store_scp = answered_by_pynetdicom
    return stores
