"""The C-MOVE receiver and C-GET store path when chunked receive is on in the same process.

An SCP running beside the SCU (the workstation's embedded node, the demo
PACS) switches pynetdicom to chunked receive process-wide; the receiver must
then take the data set from the temporary file instead of from memory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from pydicom import dcmread

from tests.integration.test_scu_helpers import small_instances
from tests.support.tools import dcmtk_env, free_port, require_tool
from tui_pacs.config.model import LocalNode
from tui_pacs.config.paths import resolve_paths
from tui_pacs.domain.attributes import Level
from tui_pacs.net.scp.chunked import (
    install_chunked_receive,
    installed_dir,
    uninstall_chunked_receive,
)
from tui_pacs.net.scu.ingest import ReceivedCounts
from tui_pacs.net.scu.receiver import storage_receiver
from tui_pacs.store.archive import Archive
from tui_pacs.store.query import Query


@contextlib.contextmanager
def chunked_receive_restored() -> Iterator[None]:
    """Put back whichever chunked receive was installed before (the setting is process-wide)."""
    previous = installed_dir()
    try:
        yield
    finally:
        if previous is not None:
            install_chunked_receive(previous)
        else:
            uninstall_chunked_receive()


def storescu_into(port: int, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """storescu ``files`` into the receiver listening on ``port``."""
    return subprocess.run([require_tool("storescu"), "-aec", "RECEIVER", "127.0.0.1", str(port), *map(str, files)],
                          check=False, capture_output=True, text=True, env=dcmtk_env(), timeout=60)


def store_into_receiver(archive: Archive, files: list[Path]) -> ReceivedCounts:
    """storescu ``files`` into a temporary storage receiver on ``archive``; what it counted."""
    port = free_port()
    with storage_receiver(LocalNode(ae_title="RECEIVER", bind="127.0.0.1", port=port), archive) as counts:
        result = storescu_into(port, files)
        assert result.returncode == 0, result.stderr
    return counts


def test_receiver_stores_when_chunked_receive_is_installed(tmp_path: Path) -> None:
    other = resolve_paths(tmp_path / "other")
    other.ensure()
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    files = small_instances(tmp_path / "send", 5)
    with chunked_receive_restored():
        with Archive.open(other) as other_archive:
            install_chunked_receive(other_archive.incoming_dir)  # as an SCP on another archive would
        with Archive.open(paths) as archive:
            counts = store_into_receiver(archive, files)
            assert (counts.stored, counts.refused) == (5, 0)
            rows = archive.index.find(Query(Level.IMAGE, {"_path": ""}))
            assert len(rows) == 5
            for row in rows:
                stored = dcmread(archive.files.root / row["_path"])
                assert stored.SOPInstanceUID == row["SOPInstanceUID"]
        assert os.listdir(other.store_dir / ".incoming") == []


def test_receiver_answers_its_c_stores_on_the_reading_thread(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As in the SCP: each C-STORE of a move is stored and answered on the DUL thread that read
    it (reactor._Requests), not handed to the reactor thread (retrieve from Orthanc 119 -> 190/s)."""
    from tui_pacs.net.fastpath import reactor
    from tui_pacs.net.scu import receiver

    installed: list[object] = []
    original = reactor.install

    def watched(assoc, *args, **kwargs):  # type: ignore[no-untyped-def]
        installed.append(assoc)
        return original(assoc, *args, **kwargs)

    monkeypatch.setattr(receiver.reactor, "install", watched)
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    files = small_instances(tmp_path / "send", 6)
    with chunked_receive_restored(), Archive.open(paths) as archive:
        assert store_into_receiver(archive, files).stored == 6
    assert len(installed) == 1
    assert installed[0].dimse.msg_queue.answered_inline == 6  # type: ignore[attr-defined]


def test_a_sender_vanishing_mid_instance_leaves_no_partial_file(tmp_path: Path) -> None:
    """The move's sender (here pynetdicom, on loopback) shuts its socket part-way through a 2 MB
    data set, without an A-ABORT: nothing is indexed, the partial file in the incoming directory
    goes with the association, and the receiver takes the next sender's instance."""
    import socket
    import threading

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
    from pynetdicom import AE, evt
    from pynetdicom.pdu import P_DATA_TF

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.Modality = "VANISH2", "CT"
    ds.Rows = ds.Columns = 1024
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, 0
    ds.PixelData = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    sent = [0]

    def cut(event: object) -> None:  # after the command and 3 of the data set's 256 KB PDUs
        if isinstance(event.pdu, P_DATA_TF):  # type: ignore[attr-defined]
            sent[0] += 1
            if sent[0] == 4:
                event.assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]

    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    port = free_port()
    with chunked_receive_restored(), Archive.open(paths) as archive:
        with storage_receiver(LocalNode(ae_title="RECEIVER", bind="127.0.0.1", port=port), archive) as counts:
            sender = AE(ae_title="VANISHER")
            sender.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
            assoc = sender.associate("127.0.0.1", port, ae_title="RECEIVER", evt_handlers=[(evt.EVT_PDU_SENT, cut)])
            assert assoc.is_established
            thread = threading.Thread(target=lambda: assoc.send_c_store(ds), daemon=True)
            thread.start()
            thread.join(timeout=20)
            assoc.abort()
            incoming = archive.incoming_dir
            for _ in range(100):  # the receiver's DUL thread sees the closed connection
                if not list(incoming.iterdir()):
                    break
                threading.Event().wait(0.05)
            assert list(incoming.iterdir()) == []
            assert archive.index.totals()["instance"] == 0 and counts.stored == 0
            # The receiver still serves: the next sender's instance arrives.
            result = storescu_into(port, small_instances(tmp_path / "next", 1))
            assert result.returncode == 0, result.stderr
        assert archive.index.totals()["instance"] == 1
    assert sent[0] >= 4

