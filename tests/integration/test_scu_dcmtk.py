"""Our SCU against dcmtk: storescp receiving, dcmqrscp for find, move and get.

Also the reactor race (see tui_pacs/net/scu/dimse_guard.py): a few thousand
small C-STOREs with a short DIMSE timeout, where one stolen response would
fail the job, and a deterministic variant that widens pynetdicom's race
window to show the guard is what prevents the stall.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from tests.integration.test_scu_helpers import cli, small_instances, write_config
from tests.support.peers import QRSCP, StoreSCP, run_dcmqrscp, run_storescp
from tests.support.tools import free_port, sample_files
from tui_pacs.config.model import RemoteNode, Timeouts
from tui_pacs.net.errors import DimseTimeout, PeerAborted
from tui_pacs.net.scu import association
from tui_pacs.net.scu.store import StoreItem, send_c_store

pytestmark = pytest.mark.peer


def items_of(paths: list[Path]) -> list[StoreItem]:
    return [StoreItem.from_file(path) for path in paths]


def node_for(scp: StoreSCP | QRSCP, dimse: float = 5.0) -> RemoteNode:
    return RemoteNode("peer", scp.aet, "127.0.0.1", scp.port, timeouts=Timeouts(dimse=dimse, acse=5, connect=5))


def test_echo_and_send_to_storescp_via_cli(tmp_path: Path, storescp: StoreSCP) -> None:
    home = tmp_path / "home"
    write_config(home, {"scp": (storescp.aet, storescp.port)})
    echo = cli(home, "echo", "scp")
    assert echo.returncode == 0, echo.stderr
    assert "C-ECHO" in echo.stdout and " ms" in echo.stdout
    files = sample_files("local")
    sent = cli(home, "send", "scp", *map(str, files))
    assert sent.returncode == 0, sent.stderr
    assert f"{len(files)}/{len(files)}" in sent.stdout
    received = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in storescp.received()}
    assert received == {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in files}
    jobs = cli(home, "jobs", "--json")
    assert '"state": "done"' in jobs.stdout


def test_compressed_instances_are_decompressed_for_an_uncompressed_peer(tmp_path: Path) -> None:
    # "+x=" after the fixture's "+xa": storescp accepts only uncompressed syntaxes again.
    with run_storescp(tmp_path, extra_args=["+x="]) as scp:
        files = [p for p in sample_files("local")
                 if dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID.is_compressed]
        assert files, "the sample set has compressed instances"
        counts = send_c_store("TUIPACS", node_for(scp), items_of(files))
        assert counts.completed == len(files) and counts.failed == 0
        for path in scp.received():
            assert not dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID.is_compressed


def test_thousands_of_small_stores_never_stall(tmp_path: Path, storescp: StoreSCP) -> None:
    """A stolen C-STORE response would wait out the 3 s DIMSE timeout and fail the job."""
    files = small_instances(tmp_path / "bulk", 3000)
    counts = send_c_store("TUIPACS", node_for(storescp, dimse=3.0), items_of(files))
    assert (counts.completed, counts.failed) == (3000, 0)
    assert len(storescp.received()) == 3000


class _SlowWakeEvent(threading.Event):
    """The reactor dawdles after its checkpoint wait returns, so its ``_is_paused`` stays stale."""

    def wait(self, timeout: float | None = None) -> bool:
        result = super().wait(timeout)
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.02)
        return result


def _widen_race(monkeypatch: pytest.MonkeyPatch, *, guard: bool) -> None:
    """Make pynetdicom's race (dimse_guard.py) happen on the first exchange after the first.

    The reactor lingers 20 ms between its wait and clearing ``_is_paused``;
    the sender lingers 50 ms between sending a request and reading the
    response. The next send sees the stale flag, and the reactor's poll
    comes while the response is queued and the sender is not yet reading.
    """
    original = association._on_connection_open

    def on_open(event: Any) -> None:
        assoc = event.assoc
        assoc._reactor_checkpoint = _SlowWakeEvent()
        assoc._reactor_checkpoint.set()
        send_msg = assoc.dimse.send_msg

        def slow_send(*args: Any, **kwargs: Any) -> None:
            send_msg(*args, **kwargs)
            if threading.current_thread() is threading.main_thread():
                time.sleep(0.05)

        assoc.dimse.send_msg = slow_send
        if guard:
            original(event)

    monkeypatch.setattr(association, "_on_connection_open", on_open)
    if not guard:  # nowhere: neither at connection open nor around pynetdicom's own send_c_store
        monkeypatch.setattr(association.dimse_guard, "install", lambda assoc: False)


def test_widened_race_stalls_without_the_guard(tmp_path: Path, storescp: StoreSCP,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _widen_race(monkeypatch, guard=False)
    with pytest.raises(DimseTimeout):
        send_c_store("TUIPACS", node_for(storescp, dimse=1.0), items_of(small_instances(tmp_path / "w", 20)))


def test_widened_race_is_harmless_with_the_guard(tmp_path: Path, storescp: StoreSCP,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _widen_race(monkeypatch, guard=True)
    counts = send_c_store("TUIPACS", node_for(storescp, dimse=1.0), items_of(small_instances(tmp_path / "w", 30)))
    assert (counts.completed, counts.failed) == (30, 0)


def test_peer_vanishing_mid_transfer_fails_quickly_and_retry_works(tmp_path: Path) -> None:
    files = small_instances(tmp_path / "v", 400)
    home = tmp_path / "home"
    with run_storescp(tmp_path / "a") as scp:
        write_config(home, {"scp": (scp.aet, scp.port)}, dimse=30.0)
        killer = threading.Thread(target=lambda: (_wait_for_files(scp, 20), scp.process.stop()))
        killer.start()
        start = time.monotonic()
        result = cli(home, "send", "scp", str(tmp_path / "v"))
        killer.join()
    assert result.returncode == 1
    assert time.monotonic() - start < 30, "the vanished peer was noticed before the DIMSE timeout"
    assert "aborted" in result.stderr or "cannot connect" in result.stderr, result.stderr
    assert "jobs retry 1" in result.stderr
    with run_storescp(tmp_path / "b") as scp:
        write_config(home, {"scp": (scp.aet, scp.port)})
        retried = cli(home, "jobs", "retry", "1")
        assert retried.returncode == 0, retried.stderr
        assert len(scp.received()) == len(files)


def _wait_for_files(scp: StoreSCP, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(scp.received()) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_find_move_and_get_with_dcmqrscp(tmp_path: Path) -> None:
    home = tmp_path / "home"
    our_port = free_port()
    remote = sample_files("remote")
    with run_dcmqrscp(tmp_path, files=remote, move_destinations={"TUIPACS": our_port}) as qr:
        write_config(home, {"qr": (qr.aet, qr.port)}, port=our_port)
        found = cli(home, "find", "qr", "-k", "PatientID=RP1001", "-k", "StudyInstanceUID", "--json")
        assert found.returncode == 0, found.stderr
        assert found.stdout.count("StudyInstanceUID") == 2
        series = cli(home, "find", "qr", "--level", "series", "-k", "PatientID=RP1001", "-k", "Modality")
        assert series.returncode == 0 and "CT" in series.stdout and "MR" in series.stdout
        # dcmqrscp's sub-operations propose uncompressed syntaxes only, so move the CT study
        # (Explicit VR LE); the MR study is JPEG 2000 and would fail on dcmqrscp's side.
        moved = cli(home, "move", "qr", "-k", "PatientID=RP1001", "-k", "StudyDate=20220110")
        assert moved.returncode == 0, moved.stderr
        assert "5/5" in moved.stdout
        # dcmqrscp does not report SOP classes, so the common ones are proposed; RP1003 is uncompressed.
        rp1003 = cli(home, "get", "qr", "-k", "PatientID=RP1003")
        listed = cli(home, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert rp1003.returncode == 0, rp1003.stderr
    assert "RP1003" in listed.stdout and "RP1001" in listed.stdout and "RP1002" not in listed.stdout


def test_requested_associations_read_pdus_through_one_buffer_and_responses_without_pydicom(tmp_path: Path, storescp: StoreSCP) -> None:
    # pynetdicom attaches the socket only after the AE created it, where the association is tuned:
    # the buffered reader once missed it, and each PDU cost a peek, a header read and one read per
    # 4 KB (C-GET sub-operations arrive on this side, C-MOVE's pending responses too).
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage
    from pynetdicom.presentation import build_context
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    from tui_pacs.net.fastpath.p_data import PDataReader
    from tui_pacs.net.fastpath.reader import BufferedReader
    from tui_pacs.net.fastpath.responses import ResponseReader

    files = small_instances(tmp_path / "small", 3)
    contexts = [build_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian), build_context(Verification)]
    with association.associate(association.make_ae("TUIPACS"), node_for(storescp), contexts) as assoc:
        transport = assoc.dul.socket
        assert isinstance(getattr(transport, "reader", None), BufferedReader)
        assert transport.recv == transport.reader.recv
        assert assoc.send_c_echo().Status == 0
        for path in files:
            assert assoc.send_c_store(path).Status == 0
        pdata = assoc.dul._read_pdu_data
        assert isinstance(pdata, PDataReader) and pdata.pdus_read == 1 + len(files)
        reader = vars(assoc.dimse)["receive_primitive"]  # storescp's responses, read without pydicom
        assert isinstance(reader, ResponseReader) and reader.responses_read == 1 + len(files)


def test_unknown_node_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, {})
    result = cli(home, "echo", "nowhere")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "no node named 'nowhere'" in result.stderr


def test_refused_connection_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, {"gone": ("GONE", free_port())})
    result = cli(home, "echo", "gone")
    assert result.returncode == 1
    assert "cannot connect to gone" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(PeerAborted.__mro__[1]):  # NetError
        from tui_pacs.net.scu.echo import send_c_echo
        send_c_echo("TUIPACS", RemoteNode("gone", "GONE", "127.0.0.1", free_port(),
                                          timeouts=Timeouts(connect=2)))
