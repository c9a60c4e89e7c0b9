"""Application Entity construction from the config: contexts, timeouts, limits, TCP_NODELAY.

Both halves of the network layer build their pynetdicom AE here, so every
association, accepted or requested (including C-MOVE sub-associations),
gets the same socket options and timeouts.

Why TCP_NODELAY: a DIMSE exchange is a small request followed by a small
response (PS3.7 9.3). With Nagle's algorithm on, the last small P-DATA
segment of each message waits for the peer's delayed ACK, about 40 ms per
C-STORE on Linux loopback; pynetdicom never sets the option itself (see
``/work/shared/peers.md``).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from pydicom.uid import (
    UID,
    AllTransferSyntaxes,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import ALL_TRANSFER_SYNTAXES, evt
from pynetdicom.ae import ApplicationEntity
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import _STORAGE_CLASSES  # the one table of storage SOP classes
from pynetdicom.transport import AddressInformation, AssociationSocket, ThreadedAssociationServer

from tui_pacs.config.model import LocalNode, Timeouts
from tui_pacs.net.fastpath import uid_cache

log = logging.getLogger(__name__)

UNCOMPRESSED_SYNTAXES: tuple[str, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
"""The syntaxes every SCU may use for any instance (PS3.5 A.1, A.2, A.3)."""

MAX_PDU_SIZE = 262_144
"""Our Maximum Length Received (PS3.8 D.1): large PDUs mean fewer reads per instance."""


def set_nodelay(sock: socket.socket | None) -> None:
    """Turn Nagle's algorithm off on a TCP socket (no-op for anything else)."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # not TCP (socketpair in tests) or already closed
        log.debug("cannot set TCP_NODELAY: %s", exc)


def on_connection_open(event: evt.Event) -> None:
    """EVT_CONN_OPEN handler: set TCP_NODELAY on the association's socket."""
    dul_socket = getattr(event.assoc.dul, "socket", None)
    set_nodelay(getattr(dul_socket, "socket", None))


NODELAY_HANDLERS: list[tuple[Any, Any]] = [(evt.EVT_CONN_OPEN, on_connection_open)]
"""Bind these on ``start_server`` and ``associate`` so every socket gets TCP_NODELAY."""


class NodelayApplicationEntity(ApplicationEntity):  # type: ignore[misc]
    """An AE whose outgoing sockets have TCP_NODELAY set before they connect.

    Setting it before ``connect()`` covers the A-ASSOCIATE-RQ itself; the
    EVT_CONN_OPEN handler covers accepted sockets of the servers it starts.
    """

    def _create_socket(self, assoc: Any, address: AddressInformation,
                       tls_args: Any) -> AssociationSocket:
        sock = super()._create_socket(assoc, address, tls_args)
        set_nodelay(sock.socket)
        return sock

    def start_server(self, address: Any, block: bool = True, ssl_context: Any = None,
                     evt_handlers: list[Any] | None = None, ae_title: str | None = None,
                     contexts: list[PresentationContext] | None = None, *,
                     poll_interval: float | None = None) -> Any:
        """As pynetdicom's, with :data:`NODELAY_HANDLERS` added to ``evt_handlers``.

        ``poll_interval`` (non-blocking servers only): how often the server thread looks for a
        shutdown, so at most how long ``shutdown()`` takes. pynetdicom's thread uses
        socketserver's 0.5 s, right for a server that runs for hours; a receiver that lives
        for one transfer (:func:`tui_pacs.net.scu.receiver.storage_receiver`) waited that long
        at its end, about half the time a 500-instance C-MOVE took. Each poll also counts
        towards pynetdicom's periodic ``gc.collect()``, so the long-running SCP keeps the default.
        """
        handlers = [*NODELAY_HANDLERS, *(evt_handlers or [])]
        if block or poll_interval is None:
            return super().start_server(address, block, ssl_context, handlers, ae_title, contexts)
        server = self.make_server(address, ae_title=ae_title, contexts=contexts, ssl_context=ssl_context,
                                  evt_handlers=handlers, server_class=ThreadedAssociationServer)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval},
                                  name=f"AcceptorServer@{address[1]}", daemon=True)
        thread.start()
        self._servers.append(server)  # as pynetdicom's start_server; server.shutdown() removes it
        return server


def apply_timeouts(ae: ApplicationEntity, timeouts: Timeouts) -> None:
    """Copy the configured timeouts onto an AE (they apply to its new associations)."""
    ae.acse_timeout = timeouts.acse
    ae.dimse_timeout = timeouts.dimse
    ae.network_timeout = timeouts.network
    ae.connection_timeout = timeouts.connect


def make_ae(local: LocalNode, *, ae_title: str | None = None, timeouts: Timeouts | None = None,
            entity: type[NodelayApplicationEntity] = NodelayApplicationEntity) -> NodelayApplicationEntity:
    """An AE named after ``local`` (or ``ae_title``) with its timeouts and association limit.

    No presentation contexts are added: the SCP adds its supported contexts
    (:func:`add_scp_contexts` in ``net/scp/server.py``), an SCU its requested ones.
    ``entity`` is the AE class: :class:`~tui_pacs.net.scu.association.ScuApplicationEntity`
    for an AE whose requested associations are tuned as our SCU's.
    """
    uid_cache.install()
    ae = entity(ae_title=ae_title or local.ae_title)
    apply_timeouts(ae, timeouts or local.timeouts)
    ae.maximum_associations = local.max_associations
    ae.maximum_pdu_size = MAX_PDU_SIZE
    # The SCP checks AE titles itself (net/scp/access.py) so that it can log the peer address.
    ae.require_called_aet = False
    ae.require_calling_aet = []
    return ae


def storage_sop_classes() -> list[str]:
    """Every Storage SOP Class UID pynetdicom knows (PS3.4 B.5), in a stable order."""
    return sorted({str(uid) for uid in _STORAGE_CLASSES.values()})


# Lossy image compressions (PS3.5 8.2): JPEG baseline/extended, JPEG-LS near-lossless,
# JPEG 2000 and HTJ2K lossy; the MPEG/HEVC video syntaxes (1.2.840.10008.1.2.4.10x) too.
_LOSSY = frozenset({
    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.4.112",
})


def _syntax_rank(uid: str) -> tuple[int, str]:
    u = UID(uid)
    if u in UNCOMPRESSED_SYNTAXES:
        return (3, str(UNCOMPRESSED_SYNTAXES.index(u)))
    if u == DeflatedExplicitVRLittleEndian:
        return (2, uid)
    if u.is_compressed:
        # Lossless before lossy so a sender offering both keeps every bit.
        return (1 if uid in _LOSSY or uid.startswith("1.2.840.10008.1.2.4.10") else 0, uid)
    return (2, uid)


def storage_transfer_syntaxes() -> list[str]:
    """Every transfer syntax pydicom and pynetdicom know, compressed first.

    pynetdicom's acceptor picks, for each proposed context, the first of *our*
    syntaxes that the requestor proposed (PS3.8 9.3.2.2). Listing compressed
    syntaxes first means a sender that offers its compressed encoding beside
    Explicit VR Little Endian sends what it has, and we store exactly that.
    """
    known = {str(u) for u in AllTransferSyntaxes} | {str(u) for u in ALL_TRANSFER_SYNTAXES}
    return sorted(known, key=_syntax_rank)


def add_storage_contexts(ae: ApplicationEntity, *, accept_roles: bool = True,
                         sop_classes: Iterable[str] | None = None,
                         syntaxes: Sequence[str] | None = None) -> None:
    """Add supported Storage contexts for every SOP class and syntax we know.

    With ``accept_roles`` a requestor's SCP/SCU Role Selection (PS3.7 D.3.3.4)
    is accepted as proposed: a C-GET SCU proposes to be the Storage SCP so
    that we can send it the sub-operations on the same association (PS3.4 C.4.3).
    """
    chosen = list(syntaxes or storage_transfer_syntaxes())
    role = True if accept_roles else None
    for uid in sop_classes or storage_sop_classes():
        ae.add_supported_context(uid, chosen, scu_role=role, scp_role=role)


class _CheapCopyContext(PresentationContext):  # type: ignore[misc]
    """A supported context that deep-copies without copying its (immutable) UIDs.

    pynetdicom deep-copies the server's supported contexts for every
    association it accepts; with every storage SOP class times every
    transfer syntax that was about 70 ms of CPU per association.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> PresentationContext:
        clone = PresentationContext.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._transfer_syntax = list(self._transfer_syntax)
        return clone


def make_contexts_cheap_to_copy(ae: ApplicationEntity) -> None:
    """Call after adding supported contexts: see :class:`_CheapCopyContext`."""
    for context in ae._supported_contexts.values():
        context.__class__ = _CheapCopyContext
