"""C-MOVE as SCU (PS3.4 C.4.2): ask a node to send studies to us or to a third node.

Progress comes from the pending responses' sub-operation counts. A move is
complete only when every request ended with Success (0000); a warning
(B000: some sub-operations failed) or a failure fails the job, with the
peer's status and comment as the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from pynetdicom.presentation import build_context
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelMove,
)

from tui_pacs.config.model import RemoteNode
from tui_pacs.domain.attributes import Root
from tui_pacs.net.errors import Cancelled, OperationFailed
from tui_pacs.net.scu import dimse_guard
from tui_pacs.net.scu.association import associate, make_ae, raise_no_response
from tui_pacs.net.scu.association import context_id as _context_id
from tui_pacs.net.scu.retrieve import RetrieveItem, SubOperations, final_reason
from tui_pacs.net.scu.status import CANCEL, SUCCESS, is_pending
from tui_pacs.net.scu.store import ProgressCallback, TransferCounts

log = logging.getLogger(__name__)

MOVE_MODELS = {
    Root.PATIENT: PatientRootQueryRetrieveInformationModelMove,
    Root.STUDY: StudyRootQueryRetrieveInformationModelMove,
}


def send_c_move(calling_ae: str, node: RemoteNode, destination_ae: str, items: Sequence[RetrieveItem], *,
                root: Root = Root.STUDY, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> TransferCounts:
    """Move ``items`` from ``node`` to ``destination_ae``; raise if anything did not arrive."""
    model = MOVE_MODELS[root]
    counts = TransferCounts()
    subops = SubOperations(counts)
    ae = make_ae(calling_ae)
    with associate(ae, node, [build_context(model)]) as assoc:
        for message_id, item in enumerate(items, start=1):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"cancelled after {counts.completed} instances")
            with dimse_guard.exclusive(assoc):
                responses = assoc.send_c_move(item.identifier(), destination_ae, model, msg_id=message_id)
                cancel_sent = False
                for status, _identifier in responses:
                    if "Status" not in status:
                        raise_no_response(assoc, node, f"the C-MOVE of {item.label}")
                    code = int(status.Status)
                    subops.update(status)
                    if progress is not None:
                        progress(counts)
                    if is_pending(code):
                        if cancel is not None and cancel.is_set() and not cancel_sent:
                            assoc.send_c_cancel(message_id, _context_id(assoc, model))
                            cancel_sent = True
                        continue
                    if code == CANCEL or cancel_sent:
                        raise Cancelled(f"cancelled after {counts.completed} instances")
                    if code != SUCCESS:
                        raise OperationFailed(final_reason(node, "C-MOVE", item, code, status), status=code)
            subops.next_request()
    return counts
