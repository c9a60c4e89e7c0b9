"""Verification SOP Class as SCP (PS3.4 Annex A): C-ECHO always succeeds once associated."""

from __future__ import annotations

import logging
from typing import Any

from tui_pacs.net.scp.base import ScpContext, peer_of

log = logging.getLogger(__name__)

VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"
SUCCESS = 0x0000


def handle_c_echo(event: Any, ctx: ScpContext) -> int:
    """EVT_C_ECHO: PS3.7 9.3.5 allows only Success (or a refused association before it)."""
    log.debug("C-ECHO from %s", peer_of(event.assoc))
    return SUCCESS
