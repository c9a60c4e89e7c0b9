"""Who may associate with us: the called AE title and the access policy (PS3.8 7.1.1.4).

Checked in EVT_REQUESTED, before negotiation, so that every rejection can be
logged with the peer's address and reported as an event. A rejection is an
A-ASSOCIATE-RJ, "rejected-permanent", source "DICOM UL service-user" with
diagnostic "calling AE title not recognized" (3) or "called AE title not
recognized" (7) (PS3.8 9.3.4, Table 9-21).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

from tui_pacs.config.model import AccessPolicy, Config
from tui_pacs.domain.events import AssociationRejected, AssociationRequested
from tui_pacs.net.scp.base import Peer, ScpContext, association_id, peer_of, safe_ae

log = logging.getLogger(__name__)

REJECTED_PERMANENT = 0x01
SOURCE_SERVICE_USER = 0x01
DIAG_CALLING_AE = 0x03
DIAG_CALLED_AE = 0x07


@dataclass(frozen=True)
class Refusal:
    """Why an association request is refused, with its PS3.8 diagnostic."""

    diagnostic: int
    reason: str


def _same_host(configured: str, address: str) -> bool:
    """True when ``address`` is (one of the addresses of) the configured host."""
    if configured == address:
        return True
    try:
        if ipaddress.ip_address(configured) == ipaddress.ip_address(address):
            return True
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(configured, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return any(info[4][0] == address for info in infos)


def check_association(config: Config, ae_title: str, calling: str, called: str, *,
                      calling_valid: bool, called_valid: bool, address: str) -> Refusal | None:
    """Decide on an A-ASSOCIATE-RQ; ``None`` accepts it.

    ``calling`` and ``called`` are the AE titles from the request, already made
    safe by :func:`~tui_pacs.net.scp.base.safe_ae`.
    """
    local = config.local
    if local.check_called_ae and (not called_valid or called != ae_title):
        return Refusal(DIAG_CALLED_AE, f"called AE title {called} is not ours ({ae_title})")
    if not calling_valid:
        return Refusal(DIAG_CALLING_AE, f"calling AE title {calling} is not a valid AE title")
    if local.access is AccessPolicy.ANY:
        return None
    nodes = [n for n in config.nodes.values() if n.ae_title == calling]
    if not nodes:
        return Refusal(DIAG_CALLING_AE, f"calling AE title {calling} is not a configured node")
    if local.access is AccessPolicy.KNOWN_HOST and not any(_same_host(n.host, address) for n in nodes):
        return Refusal(DIAG_CALLING_AE, f"calling AE title {calling} is not configured for host {address}")
    return None


def handle_requested(event: Any, ctx: ScpContext) -> None:
    """EVT_REQUESTED: report the request and apply the access policy."""
    assoc = event.assoc
    primitive = assoc.requestor.primitive
    calling, calling_valid = safe_ae(getattr(primitive, "calling_ae_title", ""))
    called, called_valid = safe_ae(getattr(primitive, "called_ae_title", ""))
    peer: Peer = peer_of(assoc)
    number = association_id(assoc)
    ctx.emit(AssociationRequested(association=number, peer_ae=calling, called_ae=called,
                                  address=peer.address, port=peer.port))
    refusal = check_association(ctx.current_config(), ctx.ae_title, calling, called, calling_valid=calling_valid,
                                called_valid=called_valid, address=peer.address)
    if refusal is None:
        return
    log.warning("rejected association #%d from %s:%d (calling %s, called %s): %s",
                number, peer.address, peer.port, calling, called, refusal.reason)
    ctx.count("rejected")
    ctx.emit(AssociationRejected(association=number, peer_ae=calling, called_ae=called,
                                 address=peer.address, port=peer.port, reason=refusal.reason))
    # pynetdicom skips negotiation when EVT_REQUESTED has rejected (association.run_reactor).
    assoc.acse.send_reject(REJECTED_PERMANENT, SOURCE_SERVICE_USER, refusal.diagnostic)
    assoc.kill()
