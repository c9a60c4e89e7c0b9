"""C-CANCEL of C-GET and C-MOVE (PS3.4 C.4.2.3.1 / C.4.3.3.1): the SCP stops its sub-operations.

Sub-operations are slowed to one every 5 ms (the loading of each instance),
so the retrieve is still running when the cancel arrives however fast the
loopback is; the final response must be Cancel (FE00) with fewer completed
sub-operations than matches.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from tests.integration.test_scp_fastpath import SC, synthetic
from tests.integration.test_scp_support import (
    AET,
    HOST,
    RunningScp,
    make_config,
    node,
    running_scp,
    with_nodes,
)
from tests.support.peers import StoreSCP
from tests.support.tools import free_port
from tui_pacs.net.scp import retrieve
from tui_pacs.store.importer import import_paths

COUNT = 120


@pytest.fixture
def slow_scp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storescp: StoreSCP) -> Iterator[RunningScp]:
    config = with_nodes(make_config(free_port()), node("dest", storescp.aet, storescp.port))
    with running_scp(tmp_path / "home", config) as server:
        import_paths(server.archive, synthetic(tmp_path / "many", COUNT))
        load = retrieve.load

        def slow_load(match: Any) -> Any:
            time.sleep(0.005)
            return load(match)

        monkeypatch.setattr(retrieve, "load", slow_load)
        yield server


def identifier() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientID = "FAST*"
    return query


def final_status(responses: Iterator[tuple[Dataset, Any]], cancel: Any) -> tuple[int, int]:
    """Send C-CANCEL at the first pending response; return (final status, completed count)."""
    last = None
    for status, _ in responses:
        if not status:
            continue
        last = status
        if int(status.Status) == 0xFF00 and not cancel.sent:
            cancel()
    assert last is not None
    return int(last.Status), int(last.get("NumberOfCompletedSuboperations", 0))


class Canceller:
    def __init__(self, assoc: Any, msg_id: int, context_id: int) -> None:
        self.assoc, self.msg_id, self.context_id, self.sent = assoc, msg_id, context_id, False

    def __call__(self) -> None:
        self.assoc.send_c_cancel(self.msg_id, self.context_id)
        self.sent = True


def test_c_cancel_stops_a_get(slow_scp: RunningScp) -> None:
    ae = AE(ae_title="GETTER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    received: list[str] = []

    def on_store(event: Any) -> int:
        received.append(str(event.request.AffectedSOPInstanceUID))
        return 0x0000

    assoc = ae.associate(HOST, slow_scp.port, ae_title=AET, ext_neg=[build_role(SC, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert assoc.is_established
    try:
        context_id = next(c.context_id for c in assoc.accepted_contexts
                          if c.abstract_syntax == StudyRootQueryRetrieveInformationModelGet)
        responses = assoc.send_c_get(identifier(), StudyRootQueryRetrieveInformationModelGet, msg_id=11)
        status, completed = final_status(responses, Canceller(assoc, 11, context_id))
    finally:
        assoc.release()
    assert status == 0xFE00
    assert 1 <= len(received) < COUNT and completed == len(received)
    served = [e for e in slow_scp.of_kind("query.served") if e.service == "C-GET"]
    assert served and served[-1].cancelled


def test_c_cancel_stops_a_move(slow_scp: RunningScp, storescp: StoreSCP) -> None:
    ae = AE(ae_title="MOVER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    assoc = ae.associate(HOST, slow_scp.port, ae_title=AET)
    assert assoc.is_established
    try:
        context_id = assoc.accepted_contexts[0].context_id
        responses = assoc.send_c_move(identifier(), storescp.aet, StudyRootQueryRetrieveInformationModelMove,
                                      msg_id=12)
        status, _completed = final_status(responses, Canceller(assoc, 12, context_id))
    finally:
        assoc.release()
    assert status == 0xFE00
    assert 1 <= len(storescp.received()) < COUNT
    served = [e for e in slow_scp.of_kind("query.served") if e.service == "C-MOVE"]
    assert served and served[-1].cancelled
