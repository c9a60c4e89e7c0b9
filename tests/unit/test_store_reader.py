"""C-STORE requests read without pydicom give what pynetdicom's own reader gives.

The same P-DATA primitives, encoded by pynetdicom's message classes, go to a
real pynetdicom association's DIMSE provider twice: once through its own
``receive_primitive``, once through :class:`StoreRequestReader`. The
requests queued and the files written must be the same. No network: the
association is never connected; its DUL thread never starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import SecondaryCaptureImageStorage, generate_uid
from pynetdicom.association import Association
from pynetdicom.dimse_messages import C_ECHO_RQ, C_STORE_RQ
from pynetdicom.dimse_primitives import C_ECHO, C_STORE

from tests.support.unconnected import unconnected_association
from tui_pacs.net.fastpath import store_reader
from tui_pacs.net.scp.chunked import install_chunked_receive, uninstall_chunked_receive

CONTEXT_ID = 1


@pytest.fixture(autouse=True)
def chunked(tmp_path: Path) -> Iterator[Path]:
    incoming = tmp_path / "incoming"
    install_chunked_receive(incoming)
    yield incoming
    uninstall_chunked_receive()


def association(monkeypatch: pytest.MonkeyPatch) -> Association:
    # As the SCP runs it (net/scp/server.quiet_pynetdicom): see tests/support/unconnected.py.
    return unconnected_association(monkeypatch, "acceptor", SecondaryCaptureImageStorage, CONTEXT_ID)


def image(rows: int, instance_uid: str | None = None) -> bytes:
    ds = Dataset()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = instance_uid or generate_uid()
    ds.PatientName = "READER^TEST"
    ds.Rows = ds.Columns = rows
    ds.BitsAllocated = 8
    ds.PixelData = bytes(range(256)) * (rows * rows // 256)
    buffer = BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=False, little_endian=True, implicit_vr=False)
    return buffer.getvalue()


def store_message(data_set: bytes, *, originator: str | None = None) -> tuple[C_STORE, list]:
    ds = pydicom.dcmread(BytesIO(data_set), force=True)
    primitive = C_STORE()
    primitive.MessageID = 7
    primitive.AffectedSOPClassUID = SecondaryCaptureImageStorage
    primitive.AffectedSOPInstanceUID = ds.SOPInstanceUID
    primitive.Priority = 2
    if originator:
        primitive.MoveOriginatorApplicationEntityTitle = originator
        primitive.MoveOriginatorMessageID = 3
    primitive.DataSet = BytesIO(data_set)
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    return primitive, list(message.encode_msg(CONTEXT_ID, 4096))


def receive(monkeypatch: pytest.MonkeyPatch, p_datas: list, *, ours: int | None) -> list:
    """Feed ``p_datas``; with ``ours`` (how many C-STOREs the reader must read itself) through it."""
    assoc = association(monkeypatch)
    if ours is not None:
        assert store_reader.install(assoc)
    for p_data in p_datas:
        assoc.dimse.receive_primitive(p_data)
    if ours is not None:
        reader = vars(assoc.dimse)["receive_primitive"]
        assert isinstance(reader, store_reader.StoreRequestReader)
        assert reader.requests_read == ours
    return [assoc.dimse.msg_queue.get_nowait() for _ in range(assoc.dimse.msg_queue.qsize())]


FIELDS = ("MessageID", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "Priority",
          "MoveOriginatorApplicationEntityTitle", "MoveOriginatorMessageID")


@pytest.mark.parametrize("rows", [8, 128])  # one PDU, and a data set over several
@pytest.mark.parametrize("originator", [None, "MOVER"])
def test_same_request_and_file_as_pynetdicom(monkeypatch: pytest.MonkeyPatch, rows: int,
                                            originator: str | None) -> None:
    data_set = image(rows)
    _, p_datas = store_message(data_set, originator=originator)
    theirs, ours = receive(monkeypatch, p_datas, ours=None), receive(monkeypatch, p_datas, ours=1)
    assert len(theirs) == len(ours) == 1
    (their_cx, their_rq), (our_cx, our_rq) = theirs[0], ours[0]
    assert our_cx == their_cx == CONTEXT_ID
    assert isinstance(our_rq, C_STORE)
    for field in FIELDS:
        assert getattr(our_rq, field) == getattr(their_rq, field), field
    for request in (our_rq, their_rq):
        request._dataset_file.close()
    ours_bytes = Path(our_rq._dataset_path).read_bytes()
    assert ours_bytes == Path(their_rq._dataset_path).read_bytes()
    assert ours_bytes.endswith(data_set)


def test_two_requests_back_to_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = image(8), image(16)
    p_datas = store_message(first)[1] + store_message(second)[1]
    requests = receive(monkeypatch, p_datas, ours=2)
    assert len(requests) == 2
    for (_, request), data_set in zip(requests, (first, second), strict=True):
        request._dataset_file.close()
        assert Path(request._dataset_path).read_bytes().endswith(data_set)


def test_other_messages_go_to_pynetdicom(monkeypatch: pytest.MonkeyPatch) -> None:
    echo = C_ECHO()
    echo.MessageID = 9
    echo.AffectedSOPClassUID = "1.2.840.10008.1.1"
    message = C_ECHO_RQ()
    message.primitive_to_message(echo)
    requests = receive(monkeypatch, list(message.encode_msg(CONTEXT_ID, 4096)), ours=0)
    assert len(requests) == 1
    assert isinstance(requests[0][1], C_ECHO) and requests[0][1].MessageID == 9


def test_parse_refuses_what_it_does_not_know() -> None:
    _, p_datas = store_message(image(8))
    command = p_datas[0].presentation_data_value_list[0][1][1:]
    assert store_reader.parse_store_request(command)["MessageID"] == 7
    unknown = command + b"\x00\x00\x00\x09\x02\x00\x00\x00\x01\x00"  # (0000,0900) Status: not in a request
    with pytest.raises(store_reader._NotOurs):
        store_reader.parse_store_request(unknown)
    with pytest.raises(store_reader._NotOurs):
        store_reader.parse_store_request(command[:-3])


def test_a_non_conformant_uid_is_read_as_pynetdicom_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """pynetdicom (conformance not enforced) takes any UID of 1-64 characters; so does the reader,
    which leaves conformance to the storage handler."""
    data_set = image(8, instance_uid="1.2.03.4")  # a component with a leading zero
    _, p_datas = store_message(data_set)
    ((_, theirs),), ((_, ours),) = receive(monkeypatch, p_datas, ours=None), receive(monkeypatch, p_datas, ours=1)
    assert ours.AffectedSOPInstanceUID == theirs.AffectedSOPInstanceUID == "1.2.03.4"
    assert ours.AffectedSOPClassUID == theirs.AffectedSOPClassUID
    for request in (ours, theirs):
        request._dataset_file.close()


def test_a_uid_too_long_for_a_request_is_refused() -> None:
    with pytest.raises(ValueError):
        store_reader.loose_uid("1." * 32 + "1")  # 65 characters
    with pytest.raises(ValueError):
        store_reader.loose_uid("")
    assert store_reader.loose_uid("1." * 31 + "12") == "1." * 31 + "12"  # 64
