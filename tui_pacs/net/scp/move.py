"""Query/Retrieve MOVE as SCP (PS3.4 C.4.2): sub-operations on a new association.

The Move Destination must be a node configured in the config; any other AE
title gets A801 "Move Destination unknown" (C.4.2.1.4.1) and is logged. The
sub-association comes from the same AE, so its socket has TCP_NODELAY, and
proposes what the C-STORE SCU proposes (:func:`.contexts.plan_store_contexts`):
each SOP class with each stored encapsulated or big endian syntax in a
context of its own, plus Explicit and Implicit VR Little Endian, so that a
destination refusing the stored syntax still gets the instance, converted
(:mod:`.retrieve`). pynetdicom sends a Pending response after each
sub-operation with the remaining, completed, failed and warning counts, and
the final response with the Failed SOP Instance UID List (C.4.2.1.4.2).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pynetdicom import evt
from pynetdicom.presentation import build_context

from tui_pacs.domain.events import QueryServed
from tui_pacs.net.scp.base import ScpContext, association_id, peer_of, safe_ae
from tui_pacs.net.scp.identifiers import IdentifierError
from tui_pacs.net.scp.retrieve import Match, Outcome, reported_sub_operations, resolve
from tui_pacs.net.scu.contexts import plan_store_contexts

log = logging.getLogger(__name__)


def sub_association_contexts(matches: tuple[Match, ...]) -> list[Any]:
    """The contexts to propose to the destination: at most 128, whole SOP classes only.

    PS3.8 9.3.2.2 allows 128 contexts on one association; the C-MOVE has one
    sub-association, so classes beyond the first plan fail as sub-operations.
    """
    plans = plan_store_contexts((m.sop_class_uid, m.transfer_syntax) for m in matches)
    if len(plans) > 1:
        left_out = set().union(*(p.sop_classes for p in plans[1:]))
        log.warning("C-MOVE needs more than 128 presentation contexts; %d SOP classes left out: %s",
                    len(left_out), ", ".join(sorted(left_out)))
    return plans[0].contexts if plans else []


def handle_c_move(event: Any, ctx: ScpContext) -> Iterator[Any]:
    """EVT_C_MOVE: yield the destination, the number of sub-operations, then (status, dataset)."""
    peer = peer_of(event.assoc)
    number = association_id(event.assoc)
    ctx.count("moves")
    destination, valid = safe_ae(event.request.MoveDestination)
    node = ctx.node_for_ae(destination) if valid else None
    if node is None:
        log.warning("C-MOVE from %s (%s:%d) to unknown destination %s refused (A801)",
                    peer.ae_title, peer.address, peer.port, destination)
        ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-MOVE",
                             status=0xA801, destination=destination))
        yield None, None
        return
    try:
        request = resolve(event, ctx)
    except IdentifierError as exc:
        log.warning("C-MOVE from %s refused: %s", peer, exc.message)
        ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-MOVE",
                             status=exc.status, destination=destination))
        # pynetdicom needs a destination before it can report a failure status.
        yield node.host, node.port, {"contexts": [build_context("1.2.840.10008.1.1")]}
        yield 1
        yield exc.status, None
        return
    log.info("C-MOVE %s of %d instances from %s to %s (%s:%d)", request.level.value,
             len(request.matches), peer, destination, node.host, node.port)
    contexts = sub_association_contexts(request.matches) or [build_context("1.2.840.10008.1.1")]
    sub_association: list[Any] = []

    def on_accepted(accepted: Any) -> None:  # EVT_ACCEPTED of our association to the destination
        sub_association.append(accepted.assoc)

    yield node.host, node.port, {"contexts": contexts, "evt_handlers": [(evt.EVT_ACCEPTED, on_accepted)]}
    yield len(request.matches)

    def report(outcome: Outcome) -> None:
        ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-MOVE",
                             level=request.level.value, matches=len(request.matches), destination=destination,
                             **outcome.served()))

    yield from reported_sub_operations(
        event, request.matches, lambda: sub_association[0] if sub_association else None, report)
