"""The peer fixtures work: each peer starts, answers dcmtk clients, and stops.

Only dcmtk tools talk to the peers here, so a failure points at the test
infrastructure, not at tui-pacs code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.peers import QRSCP, Orthanc, StoreSCP, run_dcmqrscp, run_orthanc, run_storescp
from tests.support.process import PeerStartError, port_accepts
from tests.support.tools import run_tool, sample_files

pytestmark = pytest.mark.peer

CT_FILE = sample_files("remote")[0]  # Explicit VR LE CT, Doe^Jane
STUDY_UID = "1.2.826.0.1.3680043.10.1234.2.1.1"  # its study (see scripts/sample_catalogue.py)


def echo(aet: str, port: int) -> None:
    run_tool("echoscu", "-aet", "SMOKE", "-aec", aet, "127.0.0.1", str(port), timeout=30)


def test_storescp_echo_and_store(storescp: StoreSCP) -> None:
    echo(storescp.aet, storescp.port)
    jpeg_ls = next(p for p in sample_files("local") if "TP0002" in p.parts)
    run_tool("storescu", "-aet", "SMOKE", "-aec", storescp.aet, "-xt",
             "127.0.0.1", str(storescp.port), str(jpeg_ls))
    received = storescp.received()
    assert len(received) == 1
    dump = run_tool("dcmdump", "+P", "0002,0010", str(received[0])).stdout
    assert "JPEGLSLossless" in dump  # +xa accepted the compressed syntax as sent


def test_storescp_fork_leaves_no_children(tmp_path: Path) -> None:
    with run_storescp(tmp_path, fork=True) as scp:
        echo(scp.aet, scp.port)
        port = scp.port
        pid = scp.process.pid
    assert scp.process.popen.poll() is not None
    assert not port_accepts(port)
    assert not Path(f"/proc/{pid}").exists()


def test_dcmqrscp_echo_and_find(dcmqrscp: QRSCP) -> None:
    echo(dcmqrscp.aet, dcmqrscp.port)
    dcmqrscp.index(sample_files("remote"))
    result = run_tool("findscu", "-S", "-aet", "SMOKE", "-aec", dcmqrscp.aet,
                      "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=RP1001",
                      "-k", "StudyInstanceUID", "127.0.0.1", str(dcmqrscp.port))
    # findscu prints its responses on stderr; RP1001 has two studies in the remote set.
    assert result.stderr.count("(0020,000d) UI") == 2


def test_orthanc_echo_store_and_rest(orthanc: Orthanc) -> None:
    echo(orthanc.aet, orthanc.port)
    assert orthanc.rest.statistics()["CountInstances"] == 0
    run_tool("storescu", "-aet", "SMOKE", "-aec", orthanc.aet,
             "127.0.0.1", str(orthanc.port), str(CT_FILE))
    stats = orthanc.rest.statistics()
    assert stats["CountInstances"] == 1
    assert stats["CountPatients"] == 1
    studies = orthanc.rest.find("Study", {"PatientID": "RP1001"}, expand=True)
    assert [s["PatientMainDicomTags"]["PatientName"] for s in studies] == ["Doe^Jane"]


def test_orthanc_rest_upload_and_dicomweb(orthanc: Orthanc) -> None:
    answer = orthanc.rest.upload(sample_files("remote")[-1])
    assert answer["Status"] == "Success"
    assert len(orthanc.rest.instances()) == 1
    qido = json.loads(orthanc.rest.request("GET", "/dicom-web/studies"))
    assert qido[0]["00100020"]["Value"] == ["RP1003"]


def test_a_peer_that_cannot_start_fails_with_its_output(tmp_path: Path) -> None:
    with (pytest.raises(PeerStartError, match="(?s)exited with status.*its output.*no-such-option"),
          run_storescp(tmp_path, extra_args=["--no-such-option"])):
        pass  # pragma: no cover - never reached


def _move_study(aet: str, port: int, destination: str, study_uid: str) -> None:
    run_tool("movescu", "-S", "-aet", "SMOKE", "-aec", aet, "-aem", destination,
             "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study_uid}",
             "127.0.0.1", str(port))


def test_orthanc_moves_to_a_configured_modality(tmp_path: Path) -> None:
    with run_storescp(tmp_path) as scp, \
            run_orthanc(tmp_path, modalities={"scp": (scp.aet, "127.0.0.1", scp.port)}) as pacs:
        pacs.rest.upload(CT_FILE)
        _move_study(pacs.aet, pacs.port, scp.aet, STUDY_UID)
        assert len(scp.received()) == 1


def test_dcmqrscp_moves_to_a_configured_destination(tmp_path: Path) -> None:
    with run_storescp(tmp_path) as scp, \
            run_dcmqrscp(tmp_path, files=[CT_FILE], move_destinations={scp.aet: scp.port}) as qr:
        _move_study(qr.aet, qr.port, scp.aet, STUDY_UID)
        assert len(scp.received()) == 1
