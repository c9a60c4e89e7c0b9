"""The SCP's fast paths (net/fastpath, net/scp/fast.py) against pynetdicom's own and real clients.

* C-FIND answered by the fast path gives byte-identical responses to the
  ones pynetdicom's service class encodes, for dcmtk findscu, at every level
  of both roots and with an unsupported private key;
* the pre-encoded response identifier equals pydicom's encoding of the same
  Dataset, in both Little Endian syntaxes;
* a C-CANCEL-FIND-RQ after the first pending response stops the stream early
  with Cancel (FE00), PS3.4 C.4.1.2.3 (findscu cannot cancel: a pynetdicom SCU does);
* C-STORE through the fast path stores and answers Success to a pynetdicom SCU.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, build_role, evt
from pynetdicom.dsutils import decode, encode
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from tests.integration.test_scp_support import AET, HOST, RunningScp, dataset_bytes, running_scp
from tests.support.tools import run_tool, sample_files
from tui_pacs.domain.attributes import Root
from tui_pacs.net.fastpath import dul_wakeup, p_data, store_reader
from tui_pacs.net.scp.identifiers import parse_identifier
from tui_pacs.store.importer import import_paths

pytestmark = pytest.mark.peer

SC = "1.2.840.10008.5.1.4.1.1.7"
MANY = 300


def synthetic(folder: Path, count: int, *, one_study: bool = False) -> list[Path]:
    """``count`` one-instance studies of a small secondary capture image (with ``one_study``,
    ``count`` instances of one patient's study and series)."""
    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    paths = []
    for n in range(count):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = SC
        ds.SOPClassUID = SC
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        if one_study:
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.PatientID, ds.PatientName, ds.InstanceNumber = "FAST0", "Fast^0", n + 1
        else:
            ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
            ds.PatientID, ds.PatientName = f"FAST{n % 7}", f"Fast^{n}"
        ds.StudyDate, ds.Modality, ds.StudyID = "20240102", "OT", str(n)
        ds.Rows = ds.Columns = 4
        ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 8, 8, 7
        ds.PixelRepresentation, ds.PhotometricInterpretation = 0, "MONOCHROME2"
        ds.PixelData = bytes(16)
        path = folder / f"{n:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningScp]:
    base = tmp_path_factory.mktemp("fast")
    with running_scp(base / "home") as server:
        import_paths(server.archive, [*sample_files("local"), *synthetic(base / "many", MANY)])
        yield server


def findscu_bytes(scp: RunningScp, out: Path, root: str, *keys: str) -> list[bytes]:
    out.mkdir(parents=True, exist_ok=True)
    args = ["-aec", AET, root, "-X", "-od", str(out)]
    for key in keys:
        args += ["-k", key]
    run_tool("findscu", *args, HOST, str(scp.port), timeout=60)
    # The data sets as received (findscu's file meta holds a UID of its own per file).
    return [dataset_bytes(p) for p in sorted(out.glob("rsp*.dcm"))]


@pytest.mark.parametrize("root,keys", [
    ("-P", ["QueryRetrieveLevel=PATIENT", "PatientID", "PatientName", "PatientBirthDate", "(0009,0010)"]),
    ("-S", ["QueryRetrieveLevel=STUDY", "PatientName", "PatientID", "StudyDate", "StudyDescription",
            "StudyInstanceUID", "ModalitiesInStudy", "NumberOfStudyRelatedInstances"]),
    ("-S", ["QueryRetrieveLevel=STUDY", "PatientName=M*", "StudyInstanceUID", "StudyID"]),
    ("-S", ["QueryRetrieveLevel=IMAGE", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
            "InstanceNumber", "Rows", "Columns", "SOPClassUID"]),
])
def test_fast_find_responses_equal_pynetdicoms(scp: RunningScp, tmp_path: Path, root: str,
                                               keys: list[str]) -> None:
    if "QueryRetrieveLevel=IMAGE" in keys:  # one study's images, its UID from a study-level find
        first = findscu_bytes(scp, tmp_path / "uid", "-S", "QueryRetrieveLevel=STUDY", "PatientID=TP0001",
                              "StudyInstanceUID")[0]
        uid = str(decode(BytesIO(first), False, True).StudyInstanceUID)
        keys = [k if k != "StudyInstanceUID" else f"StudyInstanceUID={uid}" for k in keys]
        keys.append("SeriesInstanceUID")
        keys = list(dict.fromkeys(keys))
    scp.server.fast = False
    try:
        slow = findscu_bytes(scp, tmp_path / "slow", root, *keys)
    finally:
        scp.server.fast = True
    fast = findscu_bytes(scp, tmp_path / "fast", root, *keys)
    assert slow, "the query should match something"
    assert sorted(fast) == sorted(slow)


@pytest.mark.parametrize("implicit", [True, False])
def test_encoder_equals_pydicom(implicit: bool) -> None:
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "IMAGE"
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "SOPInstanceUID", "Rows",
                    "InstanceNumber", "StudyDate", "PatientAge", "ReferencedSeriesSequence"):
        setattr(identifier, keyword, [] if keyword.endswith("Sequence") else None)
    identifier.add_new(0x00090010, "LO", "")
    request = parse_identifier(identifier, Root.STUDY)
    encoder = request.encoder(implicit_vr=implicit)
    for record in ({}, {"PatientName": "Müller^Jürgen", "PatientID": "P1", "StudyInstanceUID": "1.2.3",
                        "SOPInstanceUID": "1.2.34", "Rows": 512, "InstanceNumber": 7,
                        "StudyDate": "20240101", "PatientAge": "042Y"}):
        assert encoder(record) == encode(request.response(record), implicit, True)


def test_c_cancel_stops_a_find_early(scp: RunningScp, monkeypatch: pytest.MonkeyPatch) -> None:
    # Matches come from the index at most every 2 ms, so the stream is still running when the
    # C-CANCEL arrives however fast the loopback drains it.
    index = scp.archive.index
    iter_find = index.iter_find

    def slow_iter_find(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for record in iter_find(*args, **kwargs):
            time.sleep(0.002)
            yield record

    monkeypatch.setattr(index, "iter_find", slow_iter_find)
    ae = AE(ae_title="CANCELER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    try:
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.PatientID = "FAST*"
        query.StudyInstanceUID = ""
        context_id = assoc.accepted_contexts[0].context_id
        pending, statuses = 0, []
        for status, _ in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind, msg_id=7):
            statuses.append(int(status.Status))
            if status.Status in (0xFF00, 0xFF01):
                pending += 1
                if pending == 1:
                    assoc.send_c_cancel(7, context_id)
    finally:
        assoc.release()
    assert statuses[-1] == 0xFE00, [hex(s) for s in statuses[-3:]]
    assert 1 <= pending < MANY
    served = [e for e in scp.of_kind("query.served") if e.cancelled]
    assert served and served[-1].status == 0xFE00 and served[-1].matches == pending


def test_fast_store_from_pynetdicom(scp: RunningScp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[bool] = []
    write_now = dul_wakeup.write_now

    def watched(dul: object, data: bytes) -> bool:
        written.append(write_now(dul, data))
        return written[-1]

    monkeypatch.setattr(dul_wakeup, "write_now", watched)
    path = synthetic(tmp_path / "one", 1)[0]
    ds = pydicom.dcmread(path)
    ae = AE(ae_title="STORER")
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    try:
        status = assoc.send_c_store(ds)
        assert scp.server._server is not None
        (served,) = scp.server._server.active_associations
        reader = vars(served.dimse)["receive_primitive"]
        assert isinstance(reader, store_reader.StoreRequestReader)
        assert reader.requests_read == 1  # read without pydicom (net/fastpath/store_reader)
        pdu_reader = vars(served.dul)["_read_pdu_data"]
        assert isinstance(pdu_reader, p_data.PDataReader)
        assert pdu_reader.pdus_read >= 2  # the request's command and data set (net/fastpath/p_data)
        assert served.dimse.msg_queue.answered_inline == 1  # on the DUL thread (reactor._Requests)
    finally:
        assoc.release()
    assert int(status.Status) == 0x0000
    assert written == [True]  # the response went straight to the socket (dul_wakeup.write_now)
    assert scp.archive.index.has_instance(str(ds.SOPInstanceUID))


def test_stores_answered_inline_after_a_served_get(scp: RunningScp, tmp_path: Path) -> None:
    """A C-GET whose sub-operations' responses the handler reads, then C-STOREs on the same
    association: those are still answered on the DUL thread."""
    paths = synthetic(tmp_path / "get-then-store", 3)
    datasets = [pydicom.dcmread(p) for p in paths]
    import_paths(scp.archive, paths[:1])  # the one to get; the other two are sent
    received: list[str] = []

    def on_store(event: Any) -> int:
        received.append(str(event.dataset.SOPInstanceUID))
        # Chunked receive is process-wide (our server turned it on), so this peer's copy went
        # to the archive's incoming directory as a temporary file: it is this handler's to remove.
        event.dataset_path.unlink()
        return 0x0000

    ae = AE(ae_title="GETSTORE")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    role = build_role(SC, scu_role=True, scp_role=True)  # it stores and is stored to
    assoc = ae.associate(HOST, scp.port, ae_title=AET, ext_neg=[role], evt_handlers=[(evt.EVT_C_STORE, on_store)])
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = datasets[0].StudyInstanceUID
    query.SeriesInstanceUID = datasets[0].SeriesInstanceUID
    query.SOPInstanceUID = datasets[0].SOPInstanceUID
    try:
        got = [int(status.Status) for status, _ in assoc.send_c_get(query, StudyRootQueryRetrieveInformationModelGet)]
        stored = [int(assoc.send_c_store(ds).Status) for ds in datasets[1:]]
        assert scp.server._server is not None
        (served,) = scp.server._server.active_associations
        assert served.dimse.msg_queue.answered_inline == 2
    finally:
        assoc.release()
    assert received == [str(datasets[0].SOPInstanceUID)]
    assert got[-1] == 0x0000 and stored == [0, 0]


def test_stores_answered_inline_between_other_requests(scp: RunningScp, tmp_path: Path) -> None:
    """Echo, store, find, store, echo on one association: each answered, in order, the
    stores on the DUL thread and the others by the reactor."""
    datasets = [pydicom.dcmread(p) for p in synthetic(tmp_path / "mixed", 2)]
    ae = AE(ae_title="MIXED")
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    ae.add_requested_context("1.2.840.10008.1.1")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = datasets[0].StudyInstanceUID
    try:
        statuses = [int(assoc.send_c_echo().Status), int(assoc.send_c_store(datasets[0]).Status)]
        found = [(int(status.Status), ident) for status, ident in assoc.send_c_find(
            query, StudyRootQueryRetrieveInformationModelFind)]
        statuses += [int(assoc.send_c_store(datasets[1]).Status), int(assoc.send_c_echo().Status)]
        assert scp.server._server is not None
        (served,) = scp.server._server.active_associations
        assert served.dimse.msg_queue.answered_inline == 2
    finally:
        assoc.release()
    assert statuses == [0, 0, 0, 0]
    assert [status for status, _ in found] == [0xFF00, 0x0000]
    assert found[0][1].StudyInstanceUID == datasets[0].StudyInstanceUID
    for ds in datasets:
        assert scp.archive.index.has_instance(str(ds.SOPInstanceUID))


def test_small_data_sets_are_written_once_under_their_final_name(scp: RunningScp, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A data set small enough to arrive whole in memory is written straight under its final
    name (FileStore.place given bytes): no file in the shared incoming directory, no rename. A large
    one is still written to disk as it arrives, then renamed into place."""
    from tui_pacs.store.files import FileStore

    ways: list[str] = []
    place = FileStore.place
    monkeypatch.setattr(FileStore, "place", lambda self, source, *a: (
        ways.append("written" if isinstance(source, bytes) else "renamed"), place(self, source, *a))[1])
    small = pydicom.dcmread(synthetic(tmp_path / "small", 1)[0])
    large = pydicom.dcmread(synthetic(tmp_path / "large", 1)[0])
    large.Rows = large.Columns = 512
    large.PixelData = bytes(512 * 512)
    ae = AE(ae_title="STORER")
    ae.add_requested_context(SC, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    try:
        statuses = [int(assoc.send_c_store(ds).Status) for ds in (small, large)]
    finally:
        assoc.release()
    assert statuses == [0, 0]
    assert ways == ["written", "renamed"]
    for ds in (small, large):
        path = scp.archive.index.instance_path(str(ds.SOPInstanceUID))
        assert path is not None and pydicom.dcmread(path).SOPInstanceUID == ds.SOPInstanceUID
    assert scp.incoming_leftovers() == []


def test_a_request_read_before_the_association_is_marked_established_is_answered(
        scp: RunningScp, tmp_path: Path) -> None:
    """pynetdicom sends the A-ASSOCIATE-AC, runs the EVT_ACCEPTED handlers, and only then marks
    the association established: a quick sender's first C-STORE is read in between. It was
    stored but never answered (about one association in fifty of storescu sending one small
    instance); here the window is held open by a slow EVT_ACCEPTED handler."""
    from pynetdicom import evt

    def slow_accept(event: Any) -> None:
        time.sleep(0.3)

    assert scp.server._server is not None
    scp.server._server.bind(evt.EVT_ACCEPTED, slow_accept)
    try:
        ds = pydicom.dcmread(synthetic(tmp_path / "early", 1)[0])
        ae = AE(ae_title="EARLY")
        ae.dimse_timeout = 5
        ae.add_requested_context(SC, ExplicitVRLittleEndian)
        assoc = ae.associate(HOST, scp.port, ae_title=AET)
        assert assoc.is_established
        try:
            status = assoc.send_c_store(ds)
        finally:
            if assoc.is_established:
                assoc.release()
    finally:
        scp.server._server.unbind(evt.EVT_ACCEPTED, slow_accept)
    assert "Status" in status, "no C-STORE response: the request was read and never answered"
    assert int(status.Status) == 0x0000
    assert scp.archive.index.has_instance(str(ds.SOPInstanceUID))
