"""Opening an association to a remote node: timeouts, TCP_NODELAY, the DIMSE guard, clear errors.

Every SCU operation goes through :func:`associate`, so every outgoing socket
gets TCP_NODELAY (pynetdicom 3.0.4 never sets it; with Nagle on, each small
DIMSE message waits for the peer's delayed ACK, about 40 ms on loopback) and
every association gets :mod:`.dimse_guard` before its reactor loop starts.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext

from tui_pacs.config.model import RemoteNode
from tui_pacs.net.errors import AssociationRejected, ConnectionFailed, DimseTimeout, NetError, PeerAborted
from tui_pacs.net.scu import dimse_guard

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128
"""PS3.8 9.3.2.2: presentation context IDs are odd numbers 1-255, so at most 128."""


def set_tcp_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off: DICOM PDUs are request/response, never worth batching."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # e.g. the peer already closed; negotiation will report it
        log.debug("could not set TCP_NODELAY: %s", exc)


def _on_connection_open(event: evt.Event) -> None:
    """EVT_CONN_OPEN: runs after connect() and before A-ASSOCIATE-RQ, so before the reactor loop."""
    assoc = event.assoc
    set_tcp_nodelay(getattr(assoc.dul.socket, "socket", None))
    dimse_guard.install(assoc)


def make_ae(ae_title: str) -> AE:
    """An SCU application entity calling as ``ae_title`` (contexts are added per association)."""
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = 0  # no limit on what we receive; the peer's limit governs sends
    return ae


def _apply_timeouts(ae: AE, node: RemoteNode) -> None:
    t = node.timeouts
    ae.acse_timeout = t.acse
    ae.dimse_timeout = t.dimse
    ae.network_timeout = t.network
    ae.connection_timeout = t.connect


@contextmanager
def associate(ae: AE, node: RemoteNode, contexts: Sequence[PresentationContext], *,
              ext_neg: Sequence[Any] | None = None,
              handlers: Sequence[tuple[Any, Any]] = ()) -> Iterator[Association]:
    """An established association to ``node``; released on exit, aborted if the block fails.

    Raises :class:`ConnectionFailed`, :class:`AssociationRejected` or
    :class:`PeerAborted` with a one-line reason.
    """
    if len(contexts) > MAX_CONTEXTS:
        raise NetError(f"{len(contexts)} presentation contexts requested; an association carries at most 128")
    _apply_timeouts(ae, node)
    evt_handlers: list[Any] = [(evt.EVT_CONN_OPEN, _on_connection_open), *handlers]
    assoc = ae.associate(node.host, node.port, contexts=list(contexts), ae_title=node.ae_title,
                         ext_neg=list(ext_neg) if ext_neg else None, evt_handlers=evt_handlers)
    where = f"{node.name} ({node.ae_title}@{node.host}:{node.port})"
    if not assoc.is_established:
        _raise_not_established(assoc, where)
    log.info("association to %s established", where)
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    if assoc.is_established:
        assoc.release()


def _raise_not_established(assoc: Association, where: str) -> None:
    if assoc.is_rejected:
        rsp = assoc.acceptor.primitive
        result = getattr(rsp, "result", None)
        source = getattr(rsp, "result_source", None)
        reason = getattr(rsp, "diagnostic", None)
        text = _REJECT_REASONS.get((source, reason), f"reason {reason}")
        permanent = result == 0x01
        raise AssociationRejected(
            f"{where} rejected the association ({'permanent' if permanent else 'transient'}: {text})",
            permanent=permanent)
    if assoc.is_aborted:
        raise PeerAborted(f"{where} aborted the association during negotiation")
    raise ConnectionFailed(f"cannot connect to {where} (refused, unreachable or timed out)")


# PS3.8 Table 9-21: (result source, reason) of A-ASSOCIATE-RJ.
_REJECT_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognised",
    (1, 7): "called AE title not recognised",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}


def raise_no_response(assoc: Association, node: RemoteNode, what: str) -> None:
    """A DIMSE exchange got no answer: say whether the peer went away or was too slow."""
    if dimse_guard.no_response_reason(assoc) == "aborted":
        raise PeerAborted(f"{node.name} aborted the association or closed the connection during {what}")
    raise DimseTimeout(f"{node.name} did not answer {what} within the DIMSE timeout "
                       f"of {node.timeouts.dimse:g} s; the association was aborted")
