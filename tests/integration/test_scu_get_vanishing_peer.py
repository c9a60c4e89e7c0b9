"""C-GET from a peer that vanishes in the middle of a sub-operation's data set.

The peer is a real pynetdicom C-GET SCP on loopback. After a few P-DATA
PDUs of the instance it sends back, it shuts its socket without an
A-ABORT. The C-GET must fail with one readable reason, index nothing, and
leave no temporary file in the archive's incoming directory; the archive
must then take a good C-GET as before.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
)

from tests.support.tools import free_port
from tui_pacs.config.model import RemoteNode, Timeouts
from tui_pacs.net.errors import NetError
from tui_pacs.net.scp import chunked
from tui_pacs.net.scu import retrieve
from tui_pacs.net.scu.get import send_c_get
from tui_pacs.store.archive import Archive

STUDY = generate_uid()


def large_ct() -> Dataset:
    """A 1024x1024 16-bit CT (2 MB): written to a temporary file as it arrives, not held in memory."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = STUDY, generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "VANISH1", "Vanishing^Peer", "CT"
    ds.Rows = ds.Columns = 1024
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, 0
    ds.PixelData = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    return ds


class VanishingGetSCP:
    """A C-GET SCP whose connection drops after ``pdus_before_drop`` P-DATA PDUs of a sub-operation
    (None: it behaves)."""

    def __init__(self, pdus_before_drop: int | None) -> None:
        self.pdus_before_drop = pdus_before_drop
        self.sent = 0
        self.port = free_port()
        ae = AE(ae_title="VANISHER")
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        ae.add_supported_context(CTImageStorage, ExplicitVRLittleEndian, scu_role=True, scp_role=True)
        self.server = ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=[
            (evt.EVT_C_GET, self.handle_get), (evt.EVT_PDU_SENT, self.count_pdu)])

    def handle_get(self, event: Any) -> Iterator[Any]:
        yield 1
        yield 0xFF00, large_ct()

    def count_pdu(self, event: Any) -> None:
        if not isinstance(event.pdu, P_DATA_TF) or self.pdus_before_drop is None:
            return
        self.sent += 1
        if self.sent == self.pdus_before_drop:
            raw = event.assoc.dul.socket.socket
            raw.shutdown(socket.SHUT_RDWR)  # gone: no A-ABORT, no more bytes

    def stop(self) -> None:
        self.server.shutdown()


def node_for(port: int) -> RemoteNode:
    return RemoteNode("vanisher", "VANISHER", "127.0.0.1", port, timeouts=Timeouts(dimse=10, network=10, acse=5))


def test_a_peer_vanishing_mid_sub_operation_leaves_nothing_behind(archive: Archive,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []
    real_open_new = chunked.open_new

    def recorded(path: Any) -> int:  # the real call; the test only learns the name
        made.append(Path(path))
        return real_open_new(path)

    monkeypatch.setattr(chunked, "open_new", recorded)
    scp = VanishingGetSCP(pdus_before_drop=10)  # the C-STORE-RQ's command, then 144 KB of its 2 MB data set
    try:
        with pytest.raises(NetError) as failure:
            send_c_get("TUIPACS", node_for(scp.port), retrieve.studies([STUDY]), archive,
                       sop_classes=[CTImageStorage])
    finally:
        scp.stop()
    assert "\n" not in str(failure.value) and "vanisher" in str(failure.value).lower()
    assert scp.sent >= 4
    assert archive.index.totals()["instance"] == 0
    assert len(made) == 1 and made[0].parent == archive.incoming_dir  # the partial data set was on disk
    assert list(archive.incoming_dir.iterdir()) == []  # and is gone with the association
    assert not any(p.is_file() for p in archive.files.root.rglob("*.dcm"))

    good = VanishingGetSCP(pdus_before_drop=None)
    try:
        counts = send_c_get("TUIPACS", node_for(good.port), retrieve.studies([STUDY]), archive,
                            sop_classes=[CTImageStorage])
    finally:
        good.stop()
    assert counts.completed == 1 and archive.index.totals()["instance"] == 1
    assert list(archive.incoming_dir.iterdir()) == []


def test_the_scp_thread_count_comes_back(archive: Archive) -> None:
    # No association thread of ours is left behind by the vanished peer.
    before = {t.ident for t in threading.enumerate()}
    scp = VanishingGetSCP(pdus_before_drop=3)
    try:
        with pytest.raises(NetError):
            send_c_get("TUIPACS", node_for(scp.port), retrieve.studies([STUDY]), archive,
                       sop_classes=[CTImageStorage])
    finally:
        scp.stop()
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()
                and "AcceptorServer" not in t.name]
    for thread in leftover:
        thread.join(timeout=5)
    assert not [t for t in leftover if t.is_alive()]
