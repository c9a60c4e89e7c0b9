"""Bad input and load against our SCP: the server refuses cleanly and keeps serving.

Clients here are real: dcmtk tools, raw sockets writing hostile bytes, and
pynetdicom associations on loopback (never a mocked network).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu import P_DATA_TF

from tests.integration.test_scp_support import (
    AET,
    HOST,
    RunningScp,
    echo,
    make_config,
    node,
    running_scp,
    with_nodes,
)
from tests.support.tools import free_port, run_tool, sample_files
from tui_pacs.config.model import AccessPolicy, ArchiveSettings

pytestmark = pytest.mark.peer

CT = "1.2.840.10008.5.1.4.1.1.2"
SC = "1.2.840.10008.5.1.4.1.1.7"


@pytest.fixture
def scp(tmp_path: Path):
    with running_scp(tmp_path / "home") as server:
        yield server


def small_image(sop_class: str = SC, sop_uid: str | None = None, rows: int = 16) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "ROBUST"
    ds.PatientName = "Robust^Test"
    ds.Modality = "OT"
    ds.Rows = ds.Columns = rows
    ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 8, 8, 7
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = bytes(rows * rows)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def client_ae(title: str = "PYSCU") -> AE:
    ae = AE(ae_title=title)
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    ae.add_requested_context(CT, ExplicitVRLittleEndian)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    return ae


def assert_still_serves(scp: RunningScp) -> None:
    echo(scp.port)


# --- broken transfers ---------------------------------------------------------------------


def store_request_pdus(ds: Dataset, context_id: int) -> list[bytes]:
    """The P-DATA-TF PDUs of one C-STORE-RQ, encoded by pynetdicom's own message classes."""
    primitive = C_STORE()
    primitive.MessageID = 1
    primitive.AffectedSOPClassUID = ds.SOPClassUID
    primitive.AffectedSOPInstanceUID = ds.SOPInstanceUID
    primitive.Priority = 0
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=False, little_endian=True, implicit_vr=False)
    primitive.DataSet = BytesIO(buffer.getvalue())
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    pdus = []
    for p_data in message.encode_msg(context_id, 4096):
        pdu = P_DATA_TF()
        pdu.from_primitive(p_data)
        pdus.append(pdu.encode())
    return pdus


def test_connection_dropped_mid_data_set(scp: RunningScp) -> None:
    ds = small_image(rows=128)  # 16 KB of pixels: several PDUs of 4 KB
    assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    context_id = next(cx.context_id for cx in assoc.accepted_contexts if cx.abstract_syntax == SC)
    pdus = store_request_pdus(ds, context_id)
    assert len(pdus) >= 4
    raw = assoc.dul.socket.socket
    for pdu in pdus[: len(pdus) // 2]:  # the command and part of the data set
        raw.sendall(pdu)
    raw.shutdown(socket.SHUT_RDWR)  # the peer vanishes: no A-ABORT, no A-RELEASE
    assoc.kill()
    _wait_for(lambda: "association.aborted" in scp.kinds())
    _wait_for(lambda: not scp.incoming_leftovers())
    assert scp.archive.index.totals()["instance"] == 0
    assert not scp.archive.index.has_instance(str(ds.SOPInstanceUID))
    assert_still_serves(scp)


def _wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        done.wait(0.05)
    assert condition()


@pytest.mark.parametrize("payload", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not DICOM at all
    b"\x01\x00\x00\x00\x10\x00\x00\x01\x00\x00",  # A-ASSOCIATE-RQ header announcing 1 MB, then nothing
    b"\x07\x00\x00\x00\x00\x04",  # truncated A-ABORT
    b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x02\x01\x03",  # P-DATA before any association
])
def test_malformed_pdus_do_not_hurt(scp: RunningScp, payload: bytes) -> None:
    with socket.create_connection((HOST, scp.port), timeout=5) as raw:
        raw.sendall(payload)
        raw.shutdown(socket.SHUT_WR)
        raw.settimeout(10)
        try:
            while raw.recv(4096):
                pass
        except OSError:
            pass
    assert_still_serves(scp)
    assert scp.archive.index.totals()["instance"] == 0


# --- refused instances ------------------------------------------------------------------------


def test_invalid_sop_instance_uid_is_refused(scp: RunningScp) -> None:
    ds = small_image(sop_uid="1.2.3.bad/../../etc")
    assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
    status = assoc.send_c_store(ds)
    assoc.release()
    assert 0xC000 <= status.Status <= 0xCFFF
    assert scp.archive.index.totals()["instance"] == 0
    assert not scp.incoming_leftovers()
    assert not any(p.is_file() for p in scp.paths.store_dir.rglob("*.dcm"))
    assert [e.status for e in scp.of_kind("instance.refused")] == [status.Status]


def test_data_set_of_another_sop_class_is_a900(scp: RunningScp) -> None:
    ds = small_image(sop_class=SC)
    assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
    context = next(cx for cx in assoc.accepted_contexts if cx.abstract_syntax == CT)
    raw = assoc.dul.socket.socket
    # Announce CT on the CT context but send a Secondary Capture data set.
    ds_ct = small_image(sop_class=SC, sop_uid=str(ds.SOPInstanceUID))
    pdus = store_request_pdus(ds_ct, context.context_id)
    status_holder: list[int] = []

    def on_recv(event) -> None:  # type: ignore[no-untyped-def]
        cs = event.message.command_set
        if cs.CommandField == 0x8001:
            status_holder.append(int(cs.Status))

    from pynetdicom import evt
    assoc.bind(evt.EVT_DIMSE_RECV, on_recv)
    for pdu in pdus:
        raw.sendall(pdu)
    _wait_for(lambda: bool(status_holder))
    assoc.release()
    assert status_holder == [0xA900]
    assert scp.archive.index.totals()["instance"] == 0
    assert not scp.incoming_leftovers()


def test_quota_reached_is_a700(tmp_path: Path) -> None:
    config = replace(make_config(free_port()), archive=ArchiveSettings(quota_gb=1e-9))
    with running_scp(tmp_path / "home", config) as scp:
        assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
        status = assoc.send_c_store(small_image())
        assoc.release()
        assert status.Status == 0xA700
        assert scp.archive.index.totals()["instance"] == 0
        assert not scp.incoming_leftovers()


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` for the duration (root only; skip otherwise)."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_disk_is_a700(tmp_path: Path) -> None:
    """A 2 MB tmpfs as the home: less free space than the archive's safety margin."""
    with small_tmpfs(tmp_path / "small", "2m") as home, running_scp(home) as scp:
        status = _store_one(scp, small_image(rows=256))
        assert status == 0xA700
        assert scp.archive.index.totals()["instance"] == 0
        assert not scp.incoming_leftovers()
        assert_still_serves(scp)


def test_disk_fills_while_the_data_set_streams(tmp_path: Path) -> None:
    """A 24 MB tmpfs, then a 36 MB instance: the write fails half-way (ENOSPC) while
    the data set is still arriving. A700 for it; the space comes back; the same
    association then stores a small instance, and the server still answers C-ECHO."""
    with small_tmpfs(tmp_path / "small", "24m") as home, running_scp(home) as scp:
        assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
        assert assoc.is_established
        first = small_image(rows=64)
        assert int(assoc.send_c_store(first).Status) == 0x0000
        free_before = shutil.disk_usage(home).free
        big = small_image(rows=6000)  # 36 MB of pixels: more than the whole filesystem
        assert len(big.PixelData) > free_before
        status = assoc.send_c_store(big)
        assert "Status" in status, "no C-STORE response: the association was lost"
        assert int(status.Status) == 0xA700
        assert "full" in str(status.get("ErrorComment", "")) or "space" in str(status.ErrorComment)
        assert assoc.is_established
        # Nothing of the failed instance remains: not indexed, no file, no space held by an open file.
        assert not scp.archive.index.has_instance(str(big.SOPInstanceUID))
        assert not scp.incoming_leftovers()
        assert shutil.disk_usage(home).free >= free_before - (1 << 20)
        second = small_image(rows=64)
        assert int(assoc.send_c_store(second).Status) == 0x0000
        assoc.release()
        assert scp.archive.index.totals()["instance"] == 2
        assert [e.status for e in scp.of_kind("instance.refused")] == [0xA700]
        assert_still_serves(scp)


def _store_one(scp: RunningScp, ds: Dataset) -> int:
    assoc = client_ae().associate(HOST, scp.port, ae_title=AET)
    status = assoc.send_c_store(ds)
    assoc.release()
    return int(status.Status)


# --- access policy --------------------------------------------------------------------------


def test_known_only_rejects_unknown_calling_ae(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = with_nodes(make_config(free_port(), access=AccessPolicy.KNOWN), node("friend", "FRIEND", 104))
    with running_scp(tmp_path / "home", config) as scp:
        result = echo(scp.port, calling="STRANGER", check=False)
        assert result.returncode != 0
        echo(scp.port, calling="FRIEND")
        rejected = scp.of_kind("association.rejected")
        assert [e.peer_ae for e in rejected] == ["STRANGER"]
        assert rejected[0].address == HOST
    assert any("STRANGER" in r.getMessage() and HOST in r.getMessage() for r in caplog.records)


def test_known_host_checks_the_address(tmp_path: Path) -> None:
    config = with_nodes(make_config(free_port(), access=AccessPolicy.KNOWN_HOST),
                        node("here", "HERE", 104, host="localhost"), node("far", "FAR", 104, host="192.0.2.7"))
    with running_scp(tmp_path / "home", config) as scp:
        echo(scp.port, calling="HERE")
        assert echo(scp.port, calling="FAR", check=False).returncode != 0
        assert [e.peer_ae for e in scp.of_kind("association.rejected")] == ["FAR"]


def test_wrong_called_ae_is_rejected(scp: RunningScp) -> None:
    assert echo(scp.port, called="SOMEONEELSE", check=False).returncode != 0
    assert "called AE title" in scp.of_kind("association.rejected")[0].reason


# --- load -----------------------------------------------------------------------------------


def test_twenty_simultaneous_associations_storing(scp: RunningScp) -> None:
    senders, per_sender = 20, 5
    barrier = threading.Barrier(senders)
    statuses: list[int] = []
    lock = threading.Lock()
    errors: list[str] = []

    def sender(index: int) -> None:
        try:
            assoc = client_ae(f"SENDER{index:02d}").associate(HOST, scp.port, ae_title=AET)
            assert assoc.is_established
            barrier.wait(timeout=30)  # all twenty are established before anyone sends
            for _ in range(per_sender):
                status = assoc.send_c_store(small_image())
                with lock:
                    statuses.append(int(status.Status))
            assoc.release()
        except Exception as exc:  # reported below, with the others
            errors.append(f"sender {index}: {exc!r}")

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert statuses == [0] * senders * per_sender
    assert scp.archive.index.totals()["instance"] == senders * per_sender
    peak = current = 0
    for kind in scp.kinds():
        if kind == "association.accepted":
            current += 1
            peak = max(peak, current)
        elif kind in ("association.released", "association.aborted"):
            current -= 1
    assert peak == senders


def test_storescu_of_sample_set_after_abuse(scp: RunningScp) -> None:
    """A real sender still gets everything stored after the hostile tests' kind of traffic."""
    with socket.create_connection((HOST, scp.port), timeout=5) as raw:
        raw.sendall(b"\x01\x00\x00\x00\x00\x00")
    files = [p for p in sample_files("local") if "TP0001" in p.parts][:3]
    run_tool("storescu", "-nh", "-aec", AET, "-xb", HOST, str(scp.port), *map(str, files), timeout=60)
    assert scp.archive.index.totals()["instance"] == len(files)
