"""A temporary Storage SCP for ``tui-pacs move`` to ourselves when no ``serve`` is listening.

C-MOVE sends the instances on a separate association from the peer to the
move destination (PS3.4 C.4.2.1.4), so something of ours must listen on the
local AE's port while the move runs. This is a minimal Storage SCP (plus
Verification) that stores through :func:`.ingest.store_received`; the
full SCP with access control and events is ``tui-pacs serve``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynetdicom import evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from tui_pacs.config.model import LocalNode
from tui_pacs.net.ae import add_storage_contexts, make_ae
from tui_pacs.net.errors import NetError
from tui_pacs.net.fastpath import reactor, store_reader
from tui_pacs.net.scp.base import answers_fast
from tui_pacs.net.scp.chunked import install_chunked_receive
from tui_pacs.net.scp.fast import INLINE_PATHS, fast_c_store
from tui_pacs.net.scu.association import quiet_pynetdicom
from tui_pacs.net.scu.ingest import ReceivedCounts, store_received
from tui_pacs.store.archive import Archive

log = logging.getLogger(__name__)

SHUTDOWN_POLL_SECONDS = 0.02
"""How soon the receiver stops once the transfer is over (see ``NodelayApplicationEntity.start_server``)."""


@contextmanager
def storage_receiver(local: LocalNode, archive: Archive, *, port: int | None = None,
                     bind: str | None = None) -> Iterator[ReceivedCounts]:
    """Listen as ``local`` until the block ends; yields the live counts of what arrived."""
    counts = ReceivedCounts()
    install_chunked_receive(archive.incoming_dir)  # data sets stream to disk, as in the SCP
    ae = make_ae(local)
    add_storage_contexts(ae, accept_roles=False)
    ae.add_supported_context(Verification)

    @answers_fast
    def handle_store(event: Any) -> int:
        return store_received(archive, event, event.assoc.requestor.ae_title, counts)

    def handle_open(event: Any) -> None:
        # An accepted association's EVT_CONN_OPEN fires before its threads start: no per-PDU
        # log formatting, DUL and reactor woken by work instead of 1 ms polling, and C-STOREs
        # read and answered without pydicom, on the DUL thread, as the SCP does (net/fastpath,
        # net/scp/fast.py).
        quiet_pynetdicom(event.assoc)
        if reactor.install(event.assoc, {C_STORE: fast_c_store}, INLINE_PATHS):
            store_reader.install(event.assoc)

    def handle_close(event: Any) -> None:  # a sender that vanished mid-instance: its partial file goes now
        store_reader.discard_partial(event.assoc)

    address = (bind or local.bind, port or local.port)
    handlers = [(evt.EVT_CONN_OPEN, handle_open), (evt.EVT_C_STORE, handle_store),
                (evt.EVT_CONN_CLOSE, handle_close)]
    try:
        server = ae.start_server(address, block=False, evt_handlers=handlers, poll_interval=SHUTDOWN_POLL_SECONDS)
    except OSError as exc:
        raise NetError(f"cannot listen on {address[0]}:{address[1]} to receive the move ({exc}); "
                       "is another program using the port?") from exc
    log.info("temporary storage SCP %s listening on %s:%d", local.ae_title, *address)
    try:
        yield counts
    finally:
        server.shutdown()
