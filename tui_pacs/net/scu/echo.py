"""C-ECHO (Verification SOP Class, PS3.4 Annex A): is the node there and talking DICOM?"""

from __future__ import annotations

import logging
import time

from pynetdicom.presentation import build_context
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from tui_pacs.config.model import RemoteNode
from tui_pacs.net.errors import OperationFailed
from tui_pacs.net.scu import dimse_guard
from tui_pacs.net.scu.association import associate, make_ae, raise_no_response
from tui_pacs.net.scu.status import SUCCESS, describe

log = logging.getLogger(__name__)


def send_c_echo(calling_ae: str, node: RemoteNode) -> float:
    """Echo ``node``; return the round trip of the C-ECHO itself, in seconds.

    The time excludes association set-up, which ``tui-pacs echo`` reports
    separately in its log.
    """
    ae = make_ae(calling_ae)
    with associate(ae, node, [build_context(Verification)]) as assoc:
        start = time.perf_counter()
        with dimse_guard.exclusive(assoc):
            status = assoc.send_c_echo()
        elapsed = time.perf_counter() - start
        if "Status" not in status:
            raise_no_response(assoc, node, "the C-ECHO")
        if status.Status != SUCCESS:
            raise OperationFailed(f"{node.name} answered the C-ECHO with {describe(status.Status)}",
                                  status=status.Status)
    return elapsed
