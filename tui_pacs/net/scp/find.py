"""Query/Retrieve FIND as SCP, Patient Root and Study Root at every level (PS3.4 C.4.1).

Each match is a Pending response streamed straight from the index cursor;
``FF01`` instead of ``FF00`` tells the SCU that some optional keys it asked
for are not supported (they come back empty). A C-CANCEL-FIND-RQ ends the
stream with ``FE00`` (C.4.1.2.3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from pydicom.dataset import Dataset

from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.events import QueryServed
from tui_pacs.net.scp.base import ScpContext, association_id, peer_of
from tui_pacs.net.scp.identifiers import IdentifierError, QueryRequest, parse_identifier, root_of
from tui_pacs.store.errors import StoreError

log = logging.getLogger(__name__)

PENDING = 0xFF00
PENDING_UNSUPPORTED_KEYS = 0xFF01
CANCEL = 0xFE00
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
UNABLE_TO_PROCESS = 0xC000

FindResponse = tuple[int, Dataset | None]
T = TypeVar("T")


def handle_c_find(event: Any, ctx: ScpContext) -> Iterator[FindResponse]:
    """EVT_C_FIND: yield (status, identifier) pairs; pynetdicom sends them as C-FIND-RSPs."""
    return serve_find(ctx, event.assoc, lambda: event.identifier, str(event.context.abstract_syntax),
                      lambda: bool(event.is_cancelled), lambda request: request.response)


def serve_find(ctx: ScpContext, assoc: Any, identifier: Callable[[], Dataset], abstract_syntax: str,
               is_cancelled: Callable[[], bool],
               responder: Callable[[QueryRequest], Callable[[Mapping[str, Any]], T]],
               ) -> Iterator[tuple[int, T | None]]:
    """(status, identifier) pairs for one C-FIND; each match's identifier is built by
    ``responder(request)`` (a Dataset for pynetdicom, encoded bytes for the fast path)."""
    peer = peer_of(assoc)
    number = association_id(assoc)
    ctx.count("finds")
    level, matches, status, cancelled = "", 0, SUCCESS, False
    try:
        request = parse_identifier(identifier(), root_of(abstract_syntax))
        level = request.query.level.value
        pending = PENDING_UNSUPPORTED_KEYS if request.unsupported else PENDING
        build = responder(request)
        log.info("C-FIND %s from %s: %s", level, peer, dict(request.query.keys))
        for record in ctx.archive.index.iter_find(request.query):
            if is_cancelled():
                status, cancelled = CANCEL, True
                break
            matches += 1
            yield pending, build(record)
    except IdentifierError as exc:
        log.warning("C-FIND from %s refused: %s", peer, exc.message)
        status = exc.status
    except InvalidQuery as exc:
        log.warning("C-FIND from %s refused: %s", peer, exc.message)
        status = UNABLE_TO_PROCESS
    except StoreError as exc:
        log.error("C-FIND from %s failed: %s", peer, exc.message)
        status = OUT_OF_RESOURCES
    ctx.emit(QueryServed(association=number, peer_ae=peer.ae_title, service="C-FIND", level=level,
                         matches=matches, status=status, cancelled=cancelled))
    yield status, None
