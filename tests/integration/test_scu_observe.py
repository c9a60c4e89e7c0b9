"""Outgoing associations are reported as events, so the live table shows both directions."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_scu_dcmtk import items_of, node_for
from tests.integration.test_scu_helpers import small_instances
from tests.support.peers import StoreSCP
from tui_pacs.domain.events import AssociationAccepted, AssociationReleased, Event
from tui_pacs.net.scu import observe
from tui_pacs.net.scu.store import send_c_store


def test_send_reports_its_association(tmp_path: Path, storescp: StoreSCP) -> None:
    seen: list[Event] = []
    observe.add_observer(seen.append)
    try:
        counts = send_c_store("TUIPACS", node_for(storescp), items_of(small_instances(tmp_path / "w", 3)))
    finally:
        observe.remove_observer(seen.append)
    assert counts.completed == 3
    kinds = [type(e) for e in seen]
    assert kinds == [AssociationAccepted, AssociationReleased]
    accepted = seen[0]
    assert isinstance(accepted, AssociationAccepted)
    assert accepted.requestor and accepted.peer_ae == storescp.aet and accepted.port == storescp.port
    assert accepted.contexts and all(c.transfer_syntax for c in accepted.contexts)
    assert seen[1].association == accepted.association
