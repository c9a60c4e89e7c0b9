"""Opening an association to a remote node: timeouts, TCP_NODELAY, the DIMSE guard, clear errors.

Every SCU operation goes through :func:`associate`, so every outgoing socket
gets TCP_NODELAY (through :class:`tui_pacs.net.ae.NodelayApplicationEntity`;
pynetdicom 3.0.4 never sets it) and every association gets
:mod:`.dimse_guard` before its reactor loop starts. Their DUL threads are
woken by work (:mod:`tui_pacs.net.fastpath.dul_wakeup`) instead of polling every millisecond, and
pynetdicom's per-PDU log formatting is unbound unless its log is wanted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, NoReturn

from pydicom.dataset import Dataset
from pynetdicom import _config, _handlers, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import AddressInformation, AssociationSocket

from tui_pacs.config.model import LocalNode, RemoteNode
from tui_pacs.net.ae import NodelayApplicationEntity, apply_timeouts, set_nodelay
from tui_pacs.net.ae import make_ae as make_local_ae
from tui_pacs.net.conversion import context_for
from tui_pacs.net.errors import (
    AssociationRejected,
    ConnectionFailed,
    DimseTimeout,
    NetError,
    NoPresentationContext,
    PeerAborted,
)
from tui_pacs.net.fastpath import dul_wakeup, responses
from tui_pacs.net.scu import dimse_guard, observe, part10, store_request

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128
"""PS3.8 9.3.2.2: presentation context IDs are odd numbers 1-255, so at most 128."""


def _on_connection_open(event: evt.Event) -> None:
    """EVT_CONN_OPEN: runs after connect() and before A-ASSOCIATE-RQ, so before the reactor loop."""
    assoc = event.assoc
    assoc._tui_pacs_connected = True  # type: ignore[attr-defined]  # tells a refused connection from a refused association
    set_nodelay(getattr(assoc.dul.socket, "socket", None))  # already set before connect; harmless
    dimse_guard.install(assoc)


# pynetdicom binds these to every association while ``_config.LOG_HANDLER_LEVEL`` is
# "standard": each formats a multi-line dump of every PDU and DIMSE message, whether or
# not a logger will show it.
_LOG_HANDLERS = (
    (evt.EVT_DIMSE_RECV, _handlers.standard_dimse_recv_handler),
    (evt.EVT_DIMSE_SENT, _handlers.standard_dimse_sent_handler),
    (evt.EVT_PDU_RECV, _handlers.standard_pdu_recv_handler),
    (evt.EVT_PDU_SENT, _handlers.standard_pdu_sent_handler),
)


def quiet_pynetdicom(assoc: Association) -> None:
    """Unbind pynetdicom's per-PDU/per-message log handlers from one association unless
    the ``pynetdicom`` logger shows INFO (its handlers log at INFO and DEBUG).

    Also, process-wide and only for logging, stop pynetdicom formatting every C-FIND match
    and request identifier it would log at INFO (``_config.LOG_RESPONSE_IDENTIFIERS``):
    it builds the text whether or not a logger shows it, and that was about 60 % of our
    CPU reading 2,000 matches.
    """
    if logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        return
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_REQUEST_IDENTIFIERS = False
    for event, handler in _LOG_HANDLERS:
        assoc.unbind(event, handler)


def tune_association(assoc: Association, transport: AssociationSocket) -> None:
    """Before an association's threads start: event-driven DUL reading ``transport`` (its socket,
    not yet attached) through one buffer, responses read without pydicom, no per-PDU log
    formatting, and the DIMSE guard held by pynetdicom's own ``send_c_store`` too (the C-STORE
    sub-operations of a C-MOVE we serve go through it: :func:`guard_pynetdicom_stores`)."""
    quiet_pynetdicom(assoc)
    dul_wakeup.install(assoc, transport)
    responses.install(assoc)
    guard_pynetdicom_stores(assoc)


def guard_pynetdicom_stores(assoc: Association) -> None:
    """Make ``assoc.send_c_store`` hold the DIMSE guard for its whole exchange.

    pynetdicom's Move SCP sends each sub-operation with ``send_c_store`` on an
    association it opens from our AE; it pauses the reactor with the flag
    handshake :mod:`.dimse_guard` describes, whose race steals a response now
    and then. Holding the guard (re-entrant: our own callers may hold it
    already) keeps the reactor off the queue whatever the flag says.
    """
    if dimse_guard.install(assoc):
        _send_stored_bytes(assoc, lambda: dimse_guard.exclusive(assoc))


def send_stored_on_accepted(assoc: Association) -> None:
    """Make an accepted association's ``send_c_store`` take a :class:`part10.StoredReference`.

    The C-STORE sub-operations of a C-GET we serve go over the association
    that asked for them (:mod:`tui_pacs.net.scp.get`): pynetdicom's Get SCP
    calls its ``send_c_store`` on the reactor thread, the one thread that
    reads that association's messages while the C-GET is served, so no guard
    is needed. Read and encoded through pydicom, each instance cost the
    served C-GET a quarter of Orthanc's rate.
    """
    _send_stored_bytes(assoc, nullcontext)


def _send_stored_bytes(assoc: Association, hold: Callable[[], AbstractContextManager[Any]]) -> None:
    """Wrap ``assoc.send_c_store``: a :class:`part10.StoredReference` goes as the file's data set
    bytes when it can, else decoded; each exchange within ``hold()``."""
    send_c_store = assoc.send_c_store

    def sending(dataset: Any, msg_id: int = 1, priority: int = 2, originator_aet: str | None = None,
                originator_id: int | None = None) -> Any:
        with hold():
            if isinstance(dataset, part10.StoredReference):
                sent = _send_as_stored(assoc, dataset, msg_id, priority, originator_aet, originator_id)
                if sent is not None:
                    return sent
                try:
                    dataset = dataset.load()
                except Exception as exc:  # pynetdicom counts the sub-operation failed; say which and why
                    log.error("cannot read stored instance %s: %s", dataset.SOPInstanceUID, exc)
                    raise
            return send_c_store(dataset, msg_id=msg_id, priority=priority, originator_aet=originator_aet,
                                originator_id=originator_id)

    sending.sends_stored_bytes = True  # type: ignore[attr-defined]  # see sends_stored_bytes()
    assoc.send_c_store = sending  # type: ignore[method-assign]


def sends_stored_bytes(assoc: Association) -> bool:
    """Whether ``assoc.send_c_store`` takes a :class:`part10.StoredReference` (see above)."""
    return bool(getattr(getattr(assoc, "send_c_store", None), "sends_stored_bytes", False))


def _send_as_stored(assoc: Association, reference: part10.StoredReference, message_id: int, priority: int,
                    originator_aet: str | None, originator_id: int | None) -> Dataset | None:
    """One C-STORE of a file's data set bytes as stored (guard held); pynetdicom's status data
    set. None, with nothing sent, when the bytes cannot go as they are (no context in the stored
    syntax, a deflated or unusual file): the caller sends it decoded."""
    try:
        context, decompress = context_for(assoc, str(reference.SOPClassUID), reference.stored_syntax)
    except NoPresentationContext:  # pynetdicom's path reports it, as it always did
        return None
    syntax = str(context.transfer_syntax[0])
    if decompress or syntax != reference.stored_syntax or context.context_id is None:
        return None
    try:
        stored = part10.read_stored(reference.stored_path, syntax)
    except OSError:
        return None
    if stored is None:
        return None
    rsp = store_request.exchange(assoc, int(context.context_id), stored.data_set, message_id=message_id,
                                 sop_class_uid=str(reference.SOPClassUID),
                                 sop_instance_uid=str(reference.SOPInstanceUID), priority=priority,
                                 originator_aet=originator_aet, originator_id=originator_id)
    return Dataset() if rsp is None else assoc._check_received_status(rsp)


class ScuApplicationEntity(NodelayApplicationEntity):
    """The SCU's AE: TCP_NODELAY (from the base class) and :func:`tune_association`
    on every association it requests, before the association's threads start."""

    def _create_socket(self, assoc: Association, address: AddressInformation,
                       tls_args: Any) -> AssociationSocket:
        sock = super()._create_socket(assoc, address, tls_args)
        tune_association(assoc, sock)
        return sock


def make_ae(calling_ae: str) -> NodelayApplicationEntity:
    """An SCU AE calling as ``calling_ae``, built by :mod:`tui_pacs.net.ae` (TCP_NODELAY before connect)."""
    return make_local_ae(LocalNode(ae_title=calling_ae), entity=ScuApplicationEntity)


@contextmanager
def associate(ae: NodelayApplicationEntity, node: RemoteNode, contexts: Sequence[PresentationContext], *,
              ext_neg: Sequence[Any] | None = None,
              handlers: Sequence[tuple[Any, Any]] = ()) -> Iterator[Association]:
    """An established association to ``node``; released on exit, aborted if the block fails.

    Raises :class:`ConnectionFailed`, :class:`AssociationRejected` or
    :class:`PeerAborted` with a one-line reason.
    """
    if len(contexts) > MAX_CONTEXTS:
        raise NetError(f"{len(contexts)} presentation contexts requested; an association carries at most 128")
    apply_timeouts(ae, node.timeouts)  # per node (DBx: timeouts are configured per remote AE)
    evt_handlers: list[Any] = [(evt.EVT_CONN_OPEN, _on_connection_open), *handlers]
    assoc = ae.associate(node.host, node.port, contexts=list(contexts), ae_title=node.ae_title,
                         ext_neg=list(ext_neg) if ext_neg else None, evt_handlers=evt_handlers)
    where = f"{node.name} ({node.ae_title}@{node.host}:{node.port})"
    if not assoc.is_established:
        _raise_not_established(assoc, where)
    log.info("association to %s established", where)
    observe.established(assoc, node.ae_title, node.host, node.port)
    try:
        yield assoc
    except BaseException as exc:
        if assoc.is_established:
            assoc.abort()
        observe.ended(assoc, node.ae_title, node.host, node.port, aborted=True, reason=str(exc)[:200])
        raise
    aborted = bool(assoc.is_aborted)
    if assoc.is_established:
        assoc.release()
    observe.ended(assoc, node.ae_title, node.host, node.port, aborted=aborted)


def _raise_not_established(assoc: Association, where: str) -> NoReturn:
    if assoc.is_rejected:
        rsp = assoc.acceptor.primitive
        result = getattr(rsp, "result", None)
        source = getattr(rsp, "result_source", None)
        reason = getattr(rsp, "diagnostic", None)
        text = _REJECT_REASONS.get((int(source or 0), int(reason or 0)), f"reason {reason}")
        permanent = result == 0x01
        raise AssociationRejected(
            f"{where} rejected the association ({'permanent' if permanent else 'transient'}: {text})",
            permanent=permanent)
    if assoc.is_aborted and getattr(assoc, "_tui_pacs_connected", False):
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


def raise_no_response(assoc: Association, node: RemoteNode, what: str) -> NoReturn:
    """A DIMSE exchange got no answer: say whether the peer went away or was too slow."""
    if dimse_guard.no_response_reason(assoc) == "aborted":
        raise PeerAborted(f"{node.name} aborted the association or closed the connection during {what}")
    raise DimseTimeout(f"{node.name} did not answer {what} within the DIMSE timeout "
                       f"of {node.timeouts.dimse:g} s; the association was aborted")


def context_id(assoc: Association, abstract_syntax: str) -> int:
    """The ID of the accepted context for ``abstract_syntax`` (C-CANCEL goes on the request's context)."""
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == abstract_syntax and cx.context_id is not None:
            return int(cx.context_id)
    raise NetError(f"no accepted presentation context for {abstract_syntax}")
