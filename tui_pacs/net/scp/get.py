"""Query/Retrieve GET as SCP (PS3.4 C.4.3): sub-operations on the same association.

The SCU proposed the Storage SOP classes it wants with SCP/SCU Role Selection
(PS3.7 D.3.3.4) so that we act as Storage SCU on its association; pynetdicom
sends each yielded data set over the accepted context for its SOP class and
transfer syntax, and counts a sub-operation whose SOP class the SCU did not
accept as failed (C.4.3.3.1). An instance stored in a syntax the SCU did not
accept for its class goes decompressed or byte-swapped (:mod:`.retrieve`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from tui_pacs.domain.events import QueryServed
from tui_pacs.net.scp.base import ScpContext, association_id, peer_of
from tui_pacs.net.scp.identifiers import IdentifierError
from tui_pacs.net.scp.retrieve import Outcome, reported_sub_operations, resolve

log = logging.getLogger(__name__)


def handle_c_get(event: Any, ctx: ScpContext) -> Iterator[Any]:
    """EVT_C_GET: yield the number of sub-operations, then (status, dataset) pairs."""
    peer = peer_of(event.assoc)
    number = association_id(event.assoc)
    ctx.count("gets")
    try:
        request = resolve(event, ctx)
    except IdentifierError as exc:
        log.warning("C-GET from %s refused: %s", peer, exc.message)
        ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-GET",
                             status=exc.status))
        yield 1
        yield exc.status, None
        return
    log.info("C-GET %s of %d instances from %s", request.level.value, len(request.matches), peer)
    yield len(request.matches)

    def report(outcome: Outcome) -> None:
        ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-GET",
                             level=request.level.value, matches=len(request.matches), **outcome.served()))

    # The sub-operations go over this association, on the contexts it accepted with our SCU role,
    # as the files' bytes (net/scu/association.send_stored_on_accepted). Only the Patient and
    # Study Root GET models are accepted (identifiers.MODELS): never Composite Instance Retrieve
    # Without Bulk Data, whose sub-operations pynetdicom strips and whole files would not be.
    yield from reported_sub_operations(event, request.matches, lambda: event.assoc, report)
