"""Query/Retrieve MOVE as SCP (PS3.4 C.4.2): sub-operations on a new association.

The Move Destination must be a node configured in the config; any other AE
title gets A801 "Move Destination unknown" (C.4.2.1.4.1) and is logged. The
sub-association comes from the same AE, so its socket has TCP_NODELAY, and
proposes exactly the (SOP class, stored transfer syntax) pairs to send.
pynetdicom sends a Pending response after each sub-operation with the
remaining, completed, failed and warning counts, and the final response with
the Failed SOP Instance UID List (C.4.2.1.4.2).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pynetdicom.presentation import build_context

from tui_pacs.domain.events import QueryServed
from tui_pacs.net.ae import UNCOMPRESSED_SYNTAXES
from tui_pacs.net.scp.base import ScpContext, association_id, peer_of, safe_ae
from tui_pacs.net.scp.identifiers import IdentifierError
from tui_pacs.net.scp.retrieve import CANCEL, Match, reported_sub_operations, resolve

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1-255


def sub_association_contexts(matches: tuple[Match, ...]) -> list[Any]:
    """One context per SOP class with every stored syntax (uncompressed ones interchangeable)."""
    wanted: dict[str, list[str]] = {}
    for match in matches:
        syntaxes = wanted.setdefault(match.sop_class_uid, [])
        extra = list(UNCOMPRESSED_SYNTAXES) if match.transfer_syntax in UNCOMPRESSED_SYNTAXES else []
        for ts in [match.transfer_syntax, *extra]:
            if ts not in syntaxes:
                syntaxes.append(ts)
    contexts = []
    for sop_class, syntaxes in wanted.items():
        compressed = [ts for ts in syntaxes if ts not in UNCOMPRESSED_SYNTAXES]
        plain = [ts for ts in syntaxes if ts in UNCOMPRESSED_SYNTAXES]
        # A compressed syntax gets its own context so that a peer refusing it
        # still accepts the uncompressed ones for the other instances.
        for ts in compressed:
            contexts.append(build_context(sop_class, [ts]))
        if plain:
            contexts.append(build_context(sop_class, plain))
    if len(contexts) > MAX_CONTEXTS:
        log.warning("C-MOVE needs %d presentation contexts; proposing the first %d",
                    len(contexts), MAX_CONTEXTS)
    return contexts[:MAX_CONTEXTS]


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
    yield node.host, node.port, {"contexts": contexts}
    yield len(request.matches)
    yield from reported_sub_operations(event, request.matches, lambda cancelled: ctx.emit(QueryServed(
        association=number, peer_ae=peer.ae_title, service="C-MOVE", level=request.level.value,
        matches=len(request.matches), destination=destination, cancelled=cancelled,
        status=CANCEL if cancelled else 0)))
