"""DIMSE responses read without pydicom give what pynetdicom's own reader gives.

Responses encoded by pynetdicom's message classes go to a real pynetdicom
association's DIMSE provider twice: once through its own
``receive_primitive``, once through :class:`ResponseReader`. The queued
primitives must be equal, and whatever the reader leaves alone (a response
with a data set, an element it does not know, a message split over
fragments) must reach pynetdicom untouched. No network: the association is
never connected.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.association import Association
from pynetdicom.dimse_messages import C_ECHO_RSP, C_FIND_RSP, C_GET_RSP, C_MOVE_RSP, C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_GET, C_MOVE, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from tests.support.unconnected import unconnected_association
from tui_pacs.net.fastpath import responses, store_reader

CONTEXT_ID = 3
FIELDS = ("MessageIDBeingRespondedTo", "AffectedSOPClassUID", "AffectedSOPInstanceUID", "Status",
          "ErrorComment", "ErrorID", "NumberOfRemainingSuboperations", "NumberOfCompletedSuboperations",
          "NumberOfFailedSuboperations", "NumberOfWarningSuboperations", "OffendingElement", "Identifier")


def association(monkeypatch: pytest.MonkeyPatch) -> Association:
    return unconnected_association(monkeypatch, "requestor", CTImageStorage, CONTEXT_ID)


def encoded(primitive: Any, message: Any, max_pdu: int = 16382) -> list[Any]:
    message.primitive_to_message(primitive)
    return list(message.encode_msg(CONTEXT_ID, max_pdu))


def store_rsp(status: int = 0x0000, comment: str | None = None) -> list[Any]:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 11
    rsp.AffectedSOPClassUID = CTImageStorage
    rsp.AffectedSOPInstanceUID = generate_uid()
    rsp.Status = status
    if comment is not None:
        rsp.ErrorComment = comment
    return encoded(rsp, C_STORE_RSP())


def echo_rsp() -> list[Any]:
    rsp = C_ECHO()
    rsp.MessageIDBeingRespondedTo = 2
    rsp.AffectedSOPClassUID = Verification
    rsp.Status = 0x0000
    return encoded(rsp, C_ECHO_RSP())


def retrieve_rsp(cls: type, message: Any, status: int = 0xFF00, identifier: Dataset | None = None) -> list[Any]:
    rsp = cls()
    rsp.MessageIDBeingRespondedTo = 5
    rsp.AffectedSOPClassUID = StudyRootQueryRetrieveInformationModelMove
    rsp.Status = status
    rsp.NumberOfRemainingSuboperations = 499
    rsp.NumberOfCompletedSuboperations = 1
    rsp.NumberOfFailedSuboperations = 0
    rsp.NumberOfWarningSuboperations = 0
    if identifier is not None:
        rsp.Identifier = BytesIO(encode(identifier, True, True))
    return encoded(rsp, message)


def receive(monkeypatch: pytest.MonkeyPatch, p_datas: list[Any], *, reader: bool) -> tuple[list[Any], int]:
    """The queued (context ID, primitive) items, and how many responses the reader built."""
    assoc = association(monkeypatch)
    ours = responses.install(assoc) if reader else None
    assert (ours is not None) == reader
    for p_data in p_datas:
        assoc.dimse.receive_primitive(p_data)
    queued = [assoc.dimse.msg_queue.get_nowait() for _ in range(assoc.dimse.msg_queue.qsize())]
    return queued, ours.responses_read if ours is not None else 0


def same(theirs: list[Any], ours: list[Any]) -> None:
    assert len(theirs) == len(ours) == 1
    (their_cx, their_rsp), (our_cx, our_rsp) = theirs[0], ours[0]
    assert our_cx == their_cx == CONTEXT_ID
    assert type(our_rsp) is type(their_rsp)
    for field in FIELDS:
        if hasattr(their_rsp, field):
            theirs_value, ours_value = getattr(their_rsp, field), getattr(our_rsp, field)
            if isinstance(theirs_value, BytesIO):
                assert isinstance(ours_value, BytesIO) and ours_value.getvalue() == theirs_value.getvalue()
            else:
                assert ours_value == theirs_value, field
    assert our_rsp.is_valid_response


def find_rsp_with_identifier(max_pdu: int = 16382) -> list[Any]:
    rsp = C_FIND()
    rsp.MessageIDBeingRespondedTo = 4
    rsp.AffectedSOPClassUID = StudyRootQueryRetrieveInformationModelFind
    rsp.Status = 0xFF00
    identifier = Dataset()
    identifier.PatientName = "MATCH^ONE"
    identifier.StudyDescription = "a description long enough to need several fragments " * 4
    identifier.StudyInstanceUID = generate_uid()
    rsp.Identifier = BytesIO(encode(identifier, True, True))
    p_datas = encoded(rsp, C_FIND_RSP(), max_pdu)
    assert len(p_datas) > (2 if max_pdu < 16382 else 1)
    return p_datas


def test_a_data_set_cut_short_goes_to_pynetdicom_with_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # The match's data set never comes: a C-ECHO-RSP's command does. Everything held, and what
    # came, reaches pynetdicom in order, as if this reader were not there.
    sequence = [find_rsp_with_identifier()[0], echo_rsp()[0]]
    theirs, _ = receive(monkeypatch, sequence, reader=False)
    ours, read = receive(monkeypatch, sequence, reader=True)
    assert read == 0
    assert [(cx, type(msg)) for cx, msg in ours] == [(cx, type(msg)) for cx, msg in theirs]


def failed_list() -> Dataset:
    identifier = Dataset()
    identifier.FailedSOPInstanceUIDList = [generate_uid(), generate_uid()]
    return identifier


def _store_rsp_primitive() -> C_STORE:
    rsp = C_STORE()
    rsp.MessageIDBeingRespondedTo = 12
    rsp.AffectedSOPClassUID = CTImageStorage
    rsp.AffectedSOPInstanceUID = generate_uid()
    rsp.Status = 0x0000
    return rsp


READ_HERE = [
    (lambda: store_rsp(), 1),
    (lambda: store_rsp(0xB007, "image lacks Type 1 Rows"), 1),
    (lambda: store_rsp(0xA700, "the disk holding the archive is full"), 1),
    (echo_rsp, 1),
    (lambda: retrieve_rsp(C_MOVE, C_MOVE_RSP()), 1),
    (lambda: retrieve_rsp(C_GET, C_GET_RSP()), 1),
    (lambda: retrieve_rsp(C_MOVE, C_MOVE_RSP(), status=0x0000), 1),
    # With a data set: a C-FIND match (in the next PDU, or over several), a final C-MOVE-RSP
    # with its Failed SOP Instance UID List.
    (lambda: find_rsp_with_identifier(), 1),
    (lambda: find_rsp_with_identifier(max_pdu=140), 1),
    (lambda: retrieve_rsp(C_MOVE, C_MOVE_RSP(), status=0xB000, identifier=failed_list()), 1),
    # Left to pynetdicom: a command over several fragments.
    (lambda: encoded(_store_rsp_primitive(), C_STORE_RSP(), max_pdu=40), 0),
]


@pytest.mark.parametrize(("make", "read_here"), READ_HERE, ids=[
    "store", "store-warning", "store-refused", "echo", "move-pending", "get-pending", "move-final",
    "find-match", "find-match-over-several-pdus", "move-with-failed-list", "fragmented-command"])
def test_queued_responses_equal_pynetdicoms(monkeypatch: pytest.MonkeyPatch, make: Any, read_here: int) -> None:
    p_datas = make()
    theirs, _ = receive(monkeypatch, p_datas, reader=False)
    ours, read = receive(monkeypatch, p_datas, reader=True)
    assert read == read_here
    same(theirs, ours)


def test_an_unknown_element_is_left_to_pynetdicom() -> None:
    command = bytes(encoded(_store_rsp_primitive(), C_STORE_RSP())[0].presentation_data_value_list[0][1][1:])
    assert responses.parse_response(command) is not None
    # (0000,0901) Offending Element is not read here.
    assert responses.parse_response(command + b"\x00\x00\x01\x09\x04\x00\x00\x00\x10\x00\x10\x00") is None
    assert responses.parse_response(command[:-3]) is None  # truncated


def test_store_reader_wraps_the_response_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    # A C-GET association: C-STORE requests to the store reader, responses to this one.
    assoc = association(monkeypatch)
    ours = responses.install(assoc)
    assert ours is not None
    assert store_reader.install(assoc)
    for p_data in store_rsp():
        assoc.dimse.receive_primitive(p_data)
    assert ours.responses_read == 1
    assert isinstance(assoc.dimse.msg_queue.get_nowait()[1], C_STORE)
