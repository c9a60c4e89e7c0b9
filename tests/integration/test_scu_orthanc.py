"""Our SCU against Orthanc: echo, find, move (Orthanc to our SCP), get, send; checked through REST.

Also the C-STORE status rules against a real pynetdicom Storage SCP on
loopback that answers with chosen statuses (a warning counts as stored, a
refusal fails the job with the status shown).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import SecondaryCaptureImageStorage  # type: ignore[attr-defined]

from tests.integration.test_scu_helpers import cli, small_instances, write_config
from tests.support.peers import Orthanc, run_orthanc
from tests.support.tools import free_port, sample_files
from tui_pacs.config.paths import resolve_paths

pytestmark = pytest.mark.peer

OUR_AET = "TUIPACS"


@pytest.fixture
def pacs(tmp_path: Path) -> Iterator[tuple[Orthanc, Path]]:
    """Orthanc holding the remote sample set, knowing us as a C-MOVE destination."""
    our_port = free_port()
    with run_orthanc(tmp_path, modalities={"tuipacs": (OUR_AET, "127.0.0.1", our_port)}, dicomweb=False) as server:
        for path in sample_files("remote"):
            server.rest.upload(path)
        home = tmp_path / "home"
        write_config(home, {"pacs": (server.aet, server.port)}, ae_title=OUR_AET, port=our_port)
        yield server, home


def test_echo_and_find(pacs: tuple[Orthanc, Path]) -> None:
    server, home = pacs
    assert cli(home, "echo", "pacs").returncode == 0
    found = cli(home, "find", "pacs", "-k", "PatientName=Doe*", "-k", "StudyInstanceUID", "-k", "StudyDate",
                "--json")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    expected = server.rest.find("Study", {"PatientName": "Doe*"})
    assert len(rows) == len(expected) > 0
    images = cli(home, "find", "pacs", "--root", "patient", "--level", "image", "-k", "PatientID=RP1001",
                 "-k", "StudyInstanceUID", "-k", "SeriesInstanceUID", "-k", "SOPInstanceUID")
    assert images.returncode == 0, images.stderr
    assert "8 matches" in images.stderr


def test_move_to_us_and_get(pacs: tuple[Orthanc, Path]) -> None:
    _server, home = pacs
    moved = cli(home, "move", "pacs", "-k", "PatientID=RP1001")
    assert moved.returncode == 0, moved.stderr
    assert "8/8" in moved.stdout  # CT (uncompressed) and MR (JPEG 2000) studies
    got = cli(home, "get", "pacs", "-k", "PatientID=RP1002")  # JPEG-LS DX
    assert got.returncode == 0, got.stderr
    listed = cli(home, "ls", "--level", "image", "--json")
    assert listed.returncode == 0, listed.stderr
    records = json.loads(listed.stdout)
    assert len(records) == 9
    # Sub-operation data sets streamed to temporary files; each was stored or removed.
    assert list((resolve_paths(home).store_dir / ".incoming").iterdir()) == []


@pytest.mark.parametrize("dimse_log", [False, True])
def test_get_sub_operations_are_answered_where_they_are_read(
        pacs: tuple[Orthanc, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        dimse_log: bool) -> None:
    # The C-STOREs of a C-GET are stored and answered on the DUL thread that read them; with
    # pynetdicom's DIMSE log shown, pynetdicom's own path answers them (it dumps what it sends).
    import logging

    from tui_pacs.config.model import RemoteNode, Timeouts
    from tui_pacs.net.fastpath import sub_operations
    from tui_pacs.net.scu import retrieve
    from tui_pacs.net.scu.get import send_c_get
    from tui_pacs.store.archive import Archive

    server, _home = pacs
    installed: list[sub_operations.InlineStores] = []
    real_install = sub_operations.install

    def spy(assoc: Any, path: Any) -> sub_operations.InlineStores | None:
        stores = real_install(assoc, path)
        if stores is not None:
            installed.append(stores)
        return stores

    monkeypatch.setattr(sub_operations, "install", spy)
    if dimse_log:
        caplog.set_level(logging.DEBUG, logger="pynetdicom")
    study_uids = [str(dcmread(p, stop_before_pixels=True).StudyInstanceUID) for p in sample_files("remote")
                  if str(dcmread(p, stop_before_pixels=True).PatientID) == "RP1001"]
    archive = Archive(tmp_path / "index.sqlite", tmp_path / "store")
    archive.files.ensure()
    archive.index.open()
    node = RemoteNode("pacs", server.aet, "127.0.0.1", server.port, timeouts=Timeouts(dimse=30))
    counts = send_c_get(OUR_AET, node, retrieve.studies(sorted(set(study_uids))), archive)
    assert counts.completed == len(study_uids) == 8 and counts.failed == 0
    assert archive.index.totals()["instance"] == 8
    assert len(installed) == 1
    assert installed[0].answered_inline == (0 if dimse_log else 8)
    archive.close()


def test_send_and_move_to_third_node(pacs: tuple[Orthanc, Path], tmp_path: Path) -> None:
    server, home = pacs
    files = sample_files("local")
    sent = cli(home, "send", "pacs", *map(str, files))
    assert sent.returncode == 0, sent.stderr
    assert server.rest.statistics()["CountInstances"] == len(files) + len(sample_files("remote"))
    # A C-MOVE to a destination Orthanc knows (itself under another name is not allowed: use a receiver).
    unknown = cli(home, "move", "pacs", "--dest", "NOBODY", "-k", "PatientID=RP1003")
    assert unknown.returncode == 1
    assert "0xA801" in unknown.stderr or "move destination unknown" in unknown.stderr.lower() \
        or "failed" in unknown.stderr


class _StatusSCP:
    """A real pynetdicom Storage SCP that answers each C-STORE with the next chosen status."""

    def __init__(self, statuses: list[int], transfer_syntax: str | None = None) -> None:
        self.statuses = statuses
        self.received = 0
        self.port = free_port()
        ae = AE(ae_title="REFUSER")
        if transfer_syntax is None:  # pynetdicom's list, Implicit VR first: our files are converted
            ae.add_supported_context(SecondaryCaptureImageStorage)
        else:
            ae.add_supported_context(SecondaryCaptureImageStorage, transfer_syntax)
        self.server = ae.start_server(("127.0.0.1", self.port), block=False,
                                      evt_handlers=[(evt.EVT_C_STORE, self.handle)])

    def handle(self, event: Any) -> int | Dataset:
        status = self.statuses[min(self.received, len(self.statuses) - 1)]
        self.received += 1
        if status == 0xC000:  # a failure that explains itself
            answer = Dataset()
            answer.Status, answer.ErrorComment = status, "cannot parse the pixel module"
            return answer
        return status


def send_to_refuser(scp: _StatusSCP, tmp_path: Path, count: int) -> tuple[Path, Path, Any]:
    """``tui-pacs send`` of ``count`` small instances to ``scp``: (home, folder, the CLI's result)."""
    home = tmp_path / "home"
    write_config(home, {"refuser": ("REFUSER", scp.port)})
    folder = tmp_path / "files"
    small_instances(folder, count)
    return home, folder, cli(home, "send", "refuser", str(folder))


def test_store_statuses(tmp_path: Path) -> None:
    scp = _StatusSCP([0xB000, 0xB007, 0x0000, 0xA900])
    try:
        home, folder, result = send_to_refuser(scp, tmp_path, 6)
        assert result.returncode == 1
        assert "0xA900 (data set or identifier does not match SOP class)" in result.stderr
        assert scp.received == 4  # the refusal aborted the association; not transient, so no retry
        jobs = json.loads(cli(home, "jobs", "--json").stdout)
        assert jobs[0]["state"] == "failed"
        assert jobs[0]["warnings"] == 2 and jobs[0]["completed"] == 3
        scp.statuses, scp.received = [0xC000], 0
        cannot = cli(home, "send", "refuser", str(folder))
        assert cannot.returncode == 1 and "0xC000 (unable to process)" in cannot.stderr
        assert "cannot parse the pixel module" in cannot.stderr  # the peer's Error Comment, shown
        assert scp.received == 1
        scp.statuses, scp.received = [0xA700, 0x0000], 0  # out of resources: transient, retried
        retried = cli(home, "send", "refuser", str(folder))
        assert retried.returncode == 0, retried.stderr
        assert "retry 1 of 2" in retried.stderr
    finally:
        scp.server.shutdown()


def test_a_refusal_of_bytes_sent_as_stored_shows_the_peers_comment(tmp_path: Path) -> None:
    # Explicit VR LE accepted, as the files are: they go as stored (no pydicom on the way out),
    # and the response is read without pydicom too.
    from pydicom.uid import ExplicitVRLittleEndian

    scp = _StatusSCP([0x0000, 0xC000], transfer_syntax=ExplicitVRLittleEndian)
    try:
        _, _, result = send_to_refuser(scp, tmp_path, 3)
        assert result.returncode == 1
        assert "0xC000 (unable to process): cannot parse the pixel module" in result.stderr
        assert scp.received == 2
    finally:
        scp.server.shutdown()


def test_orthanc_holds_what_we_sent(pacs: tuple[Orthanc, Path]) -> None:
    server, home = pacs
    ct = next(p for p in sample_files("local") if "CT" in p.name)
    assert cli(home, "send", "pacs", str(ct)).returncode == 0
    uid = str(dcmread(ct, stop_before_pixels=True).SOPInstanceUID)
    assert server.rest.find("Instance", {"SOPInstanceUID": uid})
