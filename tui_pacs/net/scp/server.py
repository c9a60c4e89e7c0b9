"""The DICOM server: one AE with every SCP service, bound to the archive.

Services (as an SCP): Verification, every Storage SOP class pynetdicom knows,
and Patient Root and Study Root FIND, MOVE and GET. Association life-cycle
events (PS3.8 7.1-7.4) go to the event callback with the peer's AE, address
and negotiated contexts. The server thread only accepts; each association
runs on its own thread, so many senders are served at once.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pynetdicom import _config, evt
from pynetdicom.transport import ThreadedAssociationServer

from tui_pacs.domain.events import (
    AssociationAborted,
    AssociationAccepted,
    AssociationRejected,
    AssociationReleased,
    NegotiatedContext,
)
from tui_pacs.net.ae import (
    UNCOMPRESSED_SYNTAXES,
    NodelayApplicationEntity,
    add_storage_contexts,
    make_ae,
    make_contexts_cheap_to_copy,
)
from tui_pacs.net.errors import NetError
from tui_pacs.net.fastpath import reactor, responses, store_reader
from tui_pacs.net.scp.access import handle_requested
from tui_pacs.net.scp.base import ScpContext, association_id, peer_of
from tui_pacs.net.scp.chunked import install_chunked_receive
from tui_pacs.net.scp.fast import FAST_PATHS, INLINE_PATHS
from tui_pacs.net.scp.find import handle_c_find
from tui_pacs.net.scp.get import handle_c_get
from tui_pacs.net.scp.identifiers import MODELS
from tui_pacs.net.scp.move import handle_c_move
from tui_pacs.net.scp.storage import handle_c_store
from tui_pacs.net.scp.verification import VERIFICATION_SOP_CLASS, handle_c_echo
from tui_pacs.net.scu.association import ScuApplicationEntity, send_stored_on_accepted

log = logging.getLogger(__name__)


def add_scp_contexts(ae: NodelayApplicationEntity) -> None:
    """Verification, all Storage SOP classes, and the six Q/R SOP classes (C.6.1, C.6.2)."""
    ae.add_supported_context(VERIFICATION_SOP_CLASS, list(UNCOMPRESSED_SYNTAXES))
    add_storage_contexts(ae)
    for uid in MODELS:
        ae.add_supported_context(uid, list(UNCOMPRESSED_SYNTAXES))
    make_contexts_cheap_to_copy(ae)


def negotiated_contexts(assoc: Any) -> tuple[NegotiatedContext, ...]:
    """The accepted presentation contexts of an association, for events."""
    result = []
    for cx in getattr(assoc, "accepted_contexts", []):
        result.append(NegotiatedContext(str(cx.abstract_syntax), str(cx.transfer_syntax[0]),
                                        bool(cx.as_scu), bool(cx.as_scp)))
    return tuple(result)


def quiet_pynetdicom() -> None:
    """Unbind pynetdicom's per-PDU and per-message logging handlers unless its log is wanted.

    With ``LOG_HANDLER_LEVEL = "standard"`` pynetdicom formats a multi-line
    dump of every PDU and DIMSE message, whether or not a logger shows it;
    on small instances that was a large share of the SCP's CPU time. The
    setting is process-wide and only changes logging.
    """
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        _config.LOG_HANDLER_LEVEL = "none"


class DicomServer:
    """Runs the SCP on a background thread; ``stop`` lets open associations finish."""

    def __init__(self, ctx: ScpContext, *, bind: str | None = None, port: int | None = None) -> None:
        local = ctx.config.local
        self.ctx = ctx
        self.bind = bind if bind is not None else local.bind
        self.requested_port = port if port is not None else local.port
        # The associations it opens (a C-MOVE's sub-operations, sent by pynetdicom) get what
        # our SCU's get: an event-driven DUL, responses without pydicom, the DIMSE guard.
        self.ae = make_ae(local, ae_title=ctx.ae_title, entity=ScuApplicationEntity)
        add_scp_contexts(self.ae)
        self._server: ThreadedAssociationServer | None = None
        self.fast = True
        """Serve associations through :mod:`tui_pacs.net.fastpath` (False: pynetdicom's own loops)."""

    @property
    def port(self) -> int:
        """The port actually listened on (useful when 0 asked for a free one)."""
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    def handlers(self) -> list[tuple[Any, ...]]:
        ctx = self.ctx
        return [
            (evt.EVT_CONN_OPEN, self._on_connection_open),
            (evt.EVT_REQUESTED, handle_requested, [ctx]),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_RELEASED, self._on_released),
            (evt.EVT_ABORTED, self._on_aborted),
            (evt.EVT_CONN_CLOSE, self._on_closed),
            (evt.EVT_C_ECHO, handle_c_echo, [ctx]),
            (evt.EVT_C_STORE, handle_c_store, [ctx]),
            (evt.EVT_C_FIND, handle_c_find, [ctx]),
            (evt.EVT_C_MOVE, handle_c_move, [ctx]),
            (evt.EVT_C_GET, handle_c_get, [ctx]),
        ]

    def start(self) -> None:
        """Listen and serve in background threads (returns at once)."""
        install_chunked_receive(self.ctx.archive.incoming_dir)
        quiet_pynetdicom()
        try:
            self._server = self.ae.start_server((self.bind, self.requested_port), block=False,
                                                evt_handlers=self.handlers())
        except OSError as exc:
            raise NetError(f"cannot listen on {self.bind}:{self.requested_port}: {exc.strerror or exc}",
                           title="Cannot start the server") from exc
        log.info("%s listening on %s:%d", self.ctx.ae_title, self.bind, self.port)

    @property
    def active_associations(self) -> int:
        return len(self._server.active_associations) if self._server else 0

    def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let open associations finish for ``grace`` seconds, abort the rest."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # stops accepting and closes the listening socket
        deadline = time.monotonic() + grace
        # Established associations may finish their work; half-open ones have none to finish.
        while time.monotonic() < deadline and any(a.is_established for a in server.active_associations):
            time.sleep(0.05)
        for assoc in server.active_associations:
            if assoc.is_established:
                log.warning("aborting association #%d with %s at shutdown", association_id(assoc),
                            peer_of(assoc))
            assoc.abort()
        log.info("%s stopped", self.ctx.ae_title)

    # -- life-cycle events ---------------------------------------------------------------

    def _on_connection_open(self, event: Any) -> None:
        # Before the association's threads start: event-driven DUL and reactor, C-STORE
        # requests read without pydicom, and the fast C-STORE/C-FIND paths (net/fastpath,
        # net/scp/fast.py). A C-GET's sub-operations go out as the files' bytes and their
        # C-STORE-RSPs are read without pydicom, as on the associations we request.
        if self.fast and reactor.install(event.assoc, FAST_PATHS, INLINE_PATHS):
            responses.install(event.assoc)
            store_reader.install(event.assoc)
            send_stored_on_accepted(event.assoc)

    def _common(self, assoc: Any) -> dict[str, Any]:
        peer = peer_of(assoc)
        return {"association": association_id(assoc), "peer_ae": peer.ae_title,
                "address": peer.address, "port": peer.port, "called_ae": self.ctx.ae_title}

    def _on_accepted(self, event: Any) -> None:
        common = self._common(event.assoc)
        contexts = negotiated_contexts(event.assoc)
        self.ctx.count("accepted")
        log.info("association #%d accepted from %s@%s:%d (%d contexts)", common["association"],
                 common["peer_ae"], common["address"], common["port"], len(contexts))
        self.ctx.emit(AssociationAccepted(**common, contexts=contexts))

    def _on_rejected(self, event: Any) -> None:
        # pynetdicom's own rejections (too many associations); ours are reported in access.py.
        common = self._common(event.assoc)
        log.warning("association #%d from %s:%d rejected: local limit of associations reached",
                    common["association"], common["address"], common["port"])
        self.ctx.count("rejected")
        self.ctx.emit(AssociationRejected(**common, reason="local limit exceeded"))

    def _on_released(self, event: Any) -> None:
        common = self._common(event.assoc)
        log.info("association #%d with %s released", common["association"], common["peer_ae"])
        self.ctx.emit(AssociationReleased(**common))

    def _on_aborted(self, event: Any) -> None:
        store_reader.discard_partial(event.assoc)
        common = self._common(event.assoc)
        log.warning("association #%d with %s@%s:%d aborted", common["association"], common["peer_ae"],
                    common["address"], common["port"])
        self.ctx.emit(AssociationAborted(**common, reason="aborted"))

    def _on_closed(self, event: Any) -> None:
        store_reader.discard_partial(event.assoc)
