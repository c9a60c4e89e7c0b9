"""C-STORE and C-FIND answered without pynetdicom's service classes (see :mod:`tui_pacs.net.fastpath`).

Same handlers, same statuses and events as through pynetdicom
(:func:`.storage.handle_c_store`, :func:`.find.serve_find`); what differs
is the way out: each response's command set is written as bytes
(:mod:`tui_pacs.net.fastpath.dimse`) and each C-FIND match's identifier is
encoded from pre-encoded parts (:meth:`.identifiers.QueryRequest.encoder`)
instead of through pydicom data sets, which was most of the SCP's CPU per
response. A path answers only if the handler bound to the event is ours;
otherwise (and for a transfer syntax other than Implicit/Explicit VR
Little Endian) pynetdicom serves the request as before.
"""

from __future__ import annotations

import logging
import time
from typing import Any, NamedTuple

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.dimse_primitives import C_FIND, C_STORE
from pynetdicom.dsutils import decode

from tui_pacs.net.fastpath import dimse
from tui_pacs.net.fastpath.reactor import FastPath
from tui_pacs.net.scp.chunked import release_received_file
from tui_pacs.net.scp.find import handle_c_find, serve_find

log = logging.getLogger(__name__)

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
MAX_QUEUED = 64
"""P-DATA primitives a C-FIND may have waiting for the DUL before it waits: bounds memory
and lets a C-CANCEL stop the stream early (PS3.4 C.4.1.2.3)."""


class _Event(NamedTuple):
    """The parts of a pynetdicom Event our C-STORE handler reads."""

    assoc: Any
    request: Any
    context: Any


def _bound(assoc: Any, event: Any, ours: Any) -> tuple[Any, ...] | None:
    """The arguments bound with our handler ``ours`` for ``event``; None if another handler is bound."""
    handler, args = assoc.get_handlers(event)
    if handler is not ours:
        return None
    return tuple(args or ())


def fast_c_store(assoc: Any, req: Any, context: Any) -> bool:
    """Store through the bound handler, if it is marked with :func:`.base.answers_fast`
    (:func:`.storage.handle_c_store`, the move receiver's), and send the C-STORE-RSP as bytes."""
    handler, args = assoc.get_handlers(evt.EVT_C_STORE)
    if not getattr(handler, "answers_fast", False):
        return False
    try:
        result = handler(_Event(assoc, req, context.as_tuple), *(args or ()))
    finally:
        release_received_file(req)  # as pynetdicom: the temporary file goes (ours was renamed into place)
    if not assoc.is_established:
        return True
    if isinstance(result, Dataset):
        status, comment = int(result.Status), str(result.get("ErrorComment", "") or "")
    else:
        status, comment = int(result), ""
    command = dimse.response_command(dimse.C_STORE_RSP, req.MessageID, req.AffectedSOPClassUID, status,
                                     sop_instance_uid=req.AffectedSOPInstanceUID, error_comment=comment)
    dimse.send(assoc, int(context.context_id), command)
    return True


def fast_c_find(assoc: Any, req: Any, context: Any) -> bool:
    """Serve a C-FIND through :func:`serve_find`, each response sent as bytes."""
    args = _bound(assoc, evt.EVT_C_FIND, handle_c_find)
    syntax = str(context.transfer_syntax[0])
    if args is None or syntax not in (IMPLICIT_LE, EXPLICIT_LE) or req.Identifier is None:
        return False
    implicit = syntax == IMPLICIT_LE
    try:
        identifier = decode(req.Identifier, implicit, True, False)
        list(identifier)  # force decoding of every element here, where a failure can still fall back
    except Exception:  # noqa: BLE001 - pynetdicom's path reports it as the standard says
        req.Identifier.seek(0)
        return False
    message_id = int(req.MessageID)

    def is_cancelled() -> bool:  # the DUL thread files a C-CANCEL-RQ under the ID it cancels
        return assoc.dimse.cancel_req.pop(message_id, None) is not None

    context_id = int(context.context_id)
    queued = assoc.dul.to_provider_queue
    for status, body in serve_find(args[0], assoc, lambda: identifier, str(context.abstract_syntax),
                                   is_cancelled, lambda request: request.encoder(implicit_vr=implicit)):
        if not assoc.is_established:
            return True
        command = dimse.response_command(dimse.C_FIND_RSP, message_id, req.AffectedSOPClassUID, status,
                                         has_data_set=body is not None)
        dimse.send(assoc, context_id, command, body)
        while queued.qsize() > MAX_QUEUED and assoc.is_established:
            time.sleep(0.0005)
    return True


FAST_PATHS: dict[type, FastPath] = {C_STORE: fast_c_store, C_FIND: fast_c_find}
INLINE_PATHS: dict[type, FastPath] = {C_STORE: fast_c_store}
"""Fast paths that may answer on the DUL thread (:class:`.reactor._Requests`): only those that
never wait for the DUL to send (a C-FIND's stream does, to bound its queue)."""
