"""Our Q/R SCP against dcmtk findscu, movescu and getscu (PS3.4 C.4, C.6).

The archive holds the sample set (five patients, eight studies, five
character sets); findscu asks at every level of both roots, with wildcards,
date ranges and UID lists, and writes each response to a file we read back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from tests.integration.test_scp_support import (
    AET,
    HOST,
    RunningScp,
    make_config,
    node,
    running_scp,
    with_nodes,
)
from tests.support.peers import run_storescp
from tests.support.tools import free_port, run_tool, sample_files
from tui_pacs.store.importer import import_paths

pytestmark = pytest.mark.peer

FILES = sample_files("local")


def study_uids() -> dict[str, str]:
    """Patient ID -> one of its Study Instance UIDs."""
    result: dict[str, str] = {}
    for path in FILES:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        result.setdefault(str(ds.PatientID), str(ds.StudyInstanceUID))
    return result


@pytest.fixture(scope="module")
def scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningScp]:
    base = tmp_path_factory.mktemp("qr")
    with run_storescp(base, aet="MOVEDEST") as dest:
        config = with_nodes(make_config(free_port()), node("dest", "MOVEDEST", dest.port))
        with running_scp(base / "home", config) as server:
            import_paths(server.archive, FILES)  # storing over the network is test_scp_store's job
            assert server.archive.index.totals()["instance"] == len(FILES)
            server.dest = dest  # type: ignore[attr-defined]
            yield server


def findscu(scp: RunningScp, out: Path, root: str, *keys: str) -> list[pydicom.Dataset]:
    out.mkdir(parents=True, exist_ok=True)
    args = ["-aec", AET, root, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    run_tool("findscu", *args, HOST, str(scp.port), timeout=30)
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


UNIQUE = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID",
          "IMAGE": "SOPInstanceUID"}


def distinct(keyword: str) -> int:
    return len({str(pydicom.dcmread(p, stop_before_pixels=True)[keyword].value) for p in FILES})


@pytest.mark.parametrize("root,level", [
    ("-P", "PATIENT"), ("-P", "STUDY"), ("-S", "STUDY"), ("-S", "SERIES"), ("-S", "IMAGE"),
])
def test_find_every_level_universal(scp: RunningScp, tmp_path: Path, root: str, level: str) -> None:
    unique = UNIQUE[level]
    expected = distinct(unique)
    keys = [f"QueryRetrieveLevel={level}", unique]
    if level in ("SERIES", "IMAGE"):
        keys.append("StudyInstanceUID")
    responses = findscu(scp, tmp_path, root, *keys)
    assert len(responses) == expected
    for ds in responses:
        assert ds.QueryRetrieveLevel == level
        assert ds.SpecificCharacterSet == "ISO_IR 192"
        assert ds.get(unique)


def test_find_image_level_with_uid_list(scp: RunningScp, tmp_path: Path) -> None:
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in FILES]
    ct = [h for h in headers if h.PatientID == "TP0001" and h.Modality == "CT"]
    series = {str(h.SeriesInstanceUID) for h in ct}
    assert len(series) == 1
    wanted = [str(h.SOPInstanceUID) for h in ct[:2]]
    responses = findscu(scp, tmp_path, "-S", "QueryRetrieveLevel=IMAGE",
                        f"StudyInstanceUID={ct[0].StudyInstanceUID}", f"SeriesInstanceUID={series.pop()}",
                        "SOPInstanceUID=" + "\\".join(wanted), "InstanceNumber")
    assert sorted(str(r.SOPInstanceUID) for r in responses) == sorted(wanted)
    assert all("InstanceNumber" in r for r in responses)


def test_find_patient_root_image_level(scp: RunningScp, tmp_path: Path) -> None:
    uid = study_uids()["TP0003"]
    series = findscu(scp, tmp_path / "se", "-P", "QueryRetrieveLevel=SERIES", "PatientID=TP0003",
                     f"StudyInstanceUID={uid}", "SeriesInstanceUID", "Modality")
    assert series and {s.Modality for s in series} == {"US"}
    images = findscu(scp, tmp_path / "im", "-P", "QueryRetrieveLevel=IMAGE", "PatientID=TP0003",
                     f"StudyInstanceUID={uid}", f"SeriesInstanceUID={series[0].SeriesInstanceUID}",
                     "SOPInstanceUID")
    assert len(images) >= 1


def test_find_wildcard_unicode_and_exact_keys(scp: RunningScp, tmp_path: Path) -> None:
    responses = findscu(scp, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "PatientName=M*",
                        "PatientID", "StudyInstanceUID", "StudyDescription", "(0009,0010)")
    assert {str(r.PatientID) for r in responses} == {"TP0001"}
    for ds in responses:
        assert str(ds.PatientName) == "Müller^Jürgen"
        present = {e.keyword or str(e.tag) for e in ds}
        # Exactly what was asked, the unsupported private key empty, plus level and charset.
        assert present == {"SpecificCharacterSet", "QueryRetrieveLevel", "PatientName", "PatientID",
                           "StudyInstanceUID", "StudyDescription", "(0009,0010)"}
        assert ds[0x00090010].value in ("", None)


def test_find_date_range(scp: RunningScp, tmp_path: Path) -> None:
    responses = findscu(scp, tmp_path, "-S", "QueryRetrieveLevel=STUDY", "StudyDate=20230401-20230531",
                        "StudyInstanceUID")
    dates = sorted(str(r.StudyDate) for r in responses)
    assert dates and all("20230401" <= d <= "20230531" for d in dates)
    assert len(dates) == 3  # TP0002 0402, TP0003 0510 and 0512


def record_response_readers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The responses readers installed from now on (net/fastpath/responses), as they are made."""
    from tui_pacs.net.fastpath import responses

    readers: list[responses.ResponseReader] = []
    real_install = responses.install

    def recorded(assoc: object) -> responses.ResponseReader | None:
        reader = real_install(assoc)
        if reader is not None:
            readers.append(reader)
        return reader

    monkeypatch.setattr(responses, "install", recorded)
    return readers


def record_sends_as_stored(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each stored file read to be sent as its own data set bytes (net/scu/part10.read_stored)."""
    from tui_pacs.net.scu import association

    sent: list[Any] = []
    real_read_stored = association.part10.read_stored

    def read_stored(path: str, transfer_syntax: str) -> object:
        stored = real_read_stored(path, transfer_syntax)
        if stored is not None:
            sent.append(stored)
        return stored

    monkeypatch.setattr(association.part10, "read_stored", read_stored)
    return sent


def test_move_study_to_configured_destination(scp: RunningScp, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_pacs.net.fastpath import dimse

    readers = record_response_readers(monkeypatch)  # movescu's association and the one the move opens
    sent_as_stored = record_sends_as_stored(monkeypatch)
    written: list[str] = []  # responses to movescu written as bytes, not encoded by pynetdicom
    real_response_bytes = dimse._response_bytes

    def response_bytes(primitive: object) -> bytes | None:
        command = real_response_bytes(primitive)
        if command is not None:
            written.append(type(primitive).__name__)
        return command

    monkeypatch.setattr(dimse, "_response_bytes", response_bytes)
    dest = scp.dest  # type: ignore[attr-defined]
    before = len(dest.received())
    uid = study_uids()["TP0004"]
    moved = run_tool("movescu", "-d", "-aec", AET, "-aem", "MOVEDEST", "-S", "-k", "QueryRetrieveLevel=STUDY",
                     "-k", f"StudyInstanceUID={uid}", HOST, str(scp.port), timeout=60)
    expected = [p for p in FILES if "TP0004" in p.parts]
    # movescu's dump of each response: the pending ones count down, the final one has the total.
    n = len(expected)
    assert [int(c) for c in re.findall(r"Remaining Suboperations\s*: (\d+)", moved.stderr)] == [
        *range(n - 1, -1, -1), 0]
    assert [int(c) for c in re.findall(r"Completed Suboperations\s*: (\d+)", moved.stderr)] == [
        *range(1, n + 1), n]
    assert re.findall(r"Failed Suboperations\s*: (\d+)", moved.stderr) == ["0"] * (n + 1)
    assert written.count("C_MOVE") == n + 1  # each written as bytes (dimse.install_fast_responses)
    received = dest.received()[before:]
    assert len(received) == len(expected)
    got = {str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in received}
    stored = [str(pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID) for p in expected]
    assert got == set(stored)  # as stored: J2K lossless, J2K lossy, deflated
    # The sub-operations went on an association tuned as our SCU's are: storescp's C-STORE
    # responses read without pydicom (movescu's own association, which gets none, has a
    # reader too), and every instance but the deflated one (inflated and deflated again by
    # pynetdicom) sent as the bytes it is stored as.
    assert sorted(reader.responses_read for reader in readers) == [0, len(expected)]
    deflated = [syntax for syntax in stored if syntax == "1.2.840.10008.1.2.1.99"]
    assert len(sent_as_stored) == len(expected) - len(deflated) > 0
    originals = {str(ds.SOPInstanceUID): ds for ds in map(pydicom.dcmread, expected)}
    for path in received:  # the same instances, element for element
        copy = pydicom.dcmread(path)
        original = originals[str(copy.SOPInstanceUID)]
        assert copy.PixelData == original.PixelData and copy.PatientName == original.PatientName
    served = [e for e in scp.of_kind("query.served") if e.service == "C-MOVE"]
    assert served[-1].matches == len(expected)
    assert (served[-1].completed, served[-1].failed, served[-1].status) == (len(expected), 0, 0)


def test_move_to_unknown_destination_is_a801(scp: RunningScp) -> None:
    result = run_tool("movescu", "-aec", AET, "-aem", "NOWHERE", "-S", "-k", "QueryRetrieveLevel=STUDY",
                      "-k", f"StudyInstanceUID={study_uids()['TP0001']}", HOST, str(scp.port),
                      timeout=30, check=False)
    assert "MoveDestinationUnknown" in result.stderr  # dcmtk's name for A801
    assert [e.status for e in scp.of_kind("query.served") if e.destination == "NOWHERE"] == [0xA801]


def test_get_series(scp: RunningScp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readers = record_response_readers(monkeypatch)  # getscu's association: its C-STORE-RSPs
    sent_as_stored = record_sends_as_stored(monkeypatch)
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in FILES]
    ct = [h for h in headers if h.PatientID == "TP0001" and h.Modality == "CT"]
    out = tmp_path / "get"
    out.mkdir()
    run_tool("getscu", "-aec", AET, "-S", "-od", str(out), "-k", "QueryRetrieveLevel=SERIES",
             "-k", f"StudyInstanceUID={ct[0].StudyInstanceUID}",
             "-k", f"SeriesInstanceUID={ct[0].SeriesInstanceUID}", HOST, str(scp.port), timeout=60)
    received = sorted(out.iterdir())
    # getscu proposes little endian syntaxes only; the CT stored in Explicit VR Big Endian is
    # byte-swapped to little endian on the way (net/conversion), so all of them arrive.
    assert any(h.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2" for h in ct)
    assert {str(pydicom.dcmread(p).SOPInstanceUID) for p in received} == {str(h.SOPInstanceUID) for h in ct}
    # Each instance that went in the syntax it is stored in went as the file's own data set
    # bytes (net/scu/association.send_stored_on_accepted), not read and encoded by pydicom.
    stored_syntax = {str(h.SOPInstanceUID): str(h.file_meta.TransferSyntaxUID) for h in ct}
    originals = {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in FILES)}
    unchanged = []
    for path in received:
        copy = pydicom.dcmread(path)
        uid = str(copy.SOPInstanceUID)
        assert copy.PixelData == originals[uid].PixelData or copy.file_meta.TransferSyntaxUID != stored_syntax[uid]
        assert copy.pixel_array.tolist() == originals[uid].pixel_array.tolist()
        if str(copy.file_meta.TransferSyntaxUID) == stored_syntax[uid]:
            unchanged.append(uid)
    assert unchanged and sorted(stored.sop_instance_uid for stored in sent_as_stored) == sorted(unchanged)
    assert [reader.responses_read for reader in readers] == [len(ct)]  # read without pydicom
