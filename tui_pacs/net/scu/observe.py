"""Association events for the associations we request (the SCU side).

The SCP reports its associations through its context; an SCU association is
opened deep inside a job runner, so observers register here instead
(process-wide, like pynetdicom's own settings). The workstation registers
one that forwards to its event bus, so the live association table shows
outgoing associations beside incoming ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from tui_pacs.domain.events import (
    AssociationAborted,
    AssociationAccepted,
    AssociationEvent,
    AssociationReleased,
    Event,
    NegotiatedContext,
)
from tui_pacs.net.scp.base import association_id

log = logging.getLogger(__name__)

Observer = Callable[[Event], None]
_observers: list[Observer] = []
_lock = threading.Lock()


def add_observer(observer: Observer) -> None:
    with _lock:
        _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    with _lock:
        if observer in _observers:
            _observers.remove(observer)


def _notify(event: Event) -> None:
    with _lock:
        observers = list(_observers)
    for observer in observers:
        try:
            observer(event)
        except Exception:  # an observer must never break a transfer
            log.exception("association observer failed")


def _common(assoc: Any, peer_ae: str, host: str, port: int) -> dict[str, Any]:
    return {"association": association_id(assoc), "peer_ae": peer_ae, "address": host, "port": port,
            "called_ae": peer_ae, "requestor": True}


def established(assoc: Any, peer_ae: str, host: str, port: int) -> None:
    """Report an association we requested and the peer accepted, with what it accepted."""
    if not _observers:
        return
    contexts = tuple(
        NegotiatedContext(str(cx.abstract_syntax), str(cx.transfer_syntax[0]) if cx.transfer_syntax else "",
                          bool(cx.as_scu), bool(cx.as_scp))
        for cx in assoc.accepted_contexts)
    _notify(AssociationAccepted(**_common(assoc, peer_ae, host, port), contexts=contexts))


def ended(assoc: Any, peer_ae: str, host: str, port: int, *, aborted: bool, reason: str = "") -> None:
    """Report the end of an association we requested (released by us, or aborted)."""
    if not _observers:
        return
    event: AssociationEvent
    if aborted:
        event = AssociationAborted(**_common(assoc, peer_ae, host, port), reason=reason)
    else:
        event = AssociationReleased(**_common(assoc, peer_ae, host, port))
    _notify(event)
