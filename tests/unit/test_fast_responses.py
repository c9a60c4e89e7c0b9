"""Responses pynetdicom sends itself, written as bytes: the same command set as pynetdicom's.

:func:`dimse.install_fast_responses` replaces ``send_msg`` on an association
whose C-STORE-RSPs (a C-GET's sub-operations we answer) or C-MOVE-RSPs and
C-GET-RSPs (a retrieve we serve) pynetdicom builds. Each response here is
sent twice: through pynetdicom's own encoder and through the replacement; the
command sets must be byte for byte the same, and what the replacement does
not write (a data set, an error comment, a watched association) must reach
pynetdicom's ``send_msg`` unchanged. No network: the association is never
connected.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_messages import C_GET_RSP, C_MOVE_RSP, C_STORE_RSP
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from tests.support.unconnected import unconnected_association
from tui_pacs.net.fastpath import dimse

CONTEXT_ID = 5


def association(monkeypatch: pytest.MonkeyPatch) -> tuple[Association, list[Any], list[bytes]]:
    """An association with the replacement installed; what reaches pynetdicom's send_msg, and
    the command sets the replacement wrote."""
    assoc = unconnected_association(monkeypatch, "acceptor", CTImageStorage, CONTEXT_ID)
    to_pynetdicom: list[Any] = []
    monkeypatch.setattr(type(assoc.dimse), "send_msg", lambda self, primitive, cx: to_pynetdicom.append(primitive))
    written: list[bytes] = []
    monkeypatch.setattr(dimse, "send", lambda a, cx, command, data_set=None: written.append(command))
    assert dimse.install_fast_responses(assoc)
    assert not dimse.install_fast_responses(assoc)  # send_msg is someone else's now: ours
    assert dimse.dimse_unobserved(assoc)  # it does not switch the fast paths off
    return assoc, to_pynetdicom, written


def pynetdicom_command(primitive: Any, message: Any) -> bytes:
    message.primitive_to_message(primitive)
    command = b""
    for p_data in message.encode_msg(CONTEXT_ID, 16382):
        for _, pdv in p_data.presentation_data_value_list:
            if pdv[0] & dimse.COMMAND:
                command += pdv[1:]
    return command


def retrieve_rsp(cls: type, status: int, counts: tuple[int | None, ...], **extra: Any) -> Any:
    rsp = cls()
    rsp.MessageIDBeingRespondedTo = 7
    rsp.AffectedSOPClassUID = (StudyRootQueryRetrieveInformationModelMove if cls is C_MOVE
                               else StudyRootQueryRetrieveInformationModelGet)
    rsp.Status = status
    (rsp.NumberOfRemainingSuboperations, rsp.NumberOfCompletedSuboperations,
     rsp.NumberOfFailedSuboperations, rsp.NumberOfWarningSuboperations) = counts
    for name, value in extra.items():
        setattr(rsp, name, value)
    return rsp


@pytest.mark.parametrize(("cls", "message"), [(C_MOVE, C_MOVE_RSP), (C_GET, C_GET_RSP)])
@pytest.mark.parametrize(("status", "counts"), [
    (0xFF00, (499, 1, 0, 0)),  # pending, after the first sub-operation
    (0xFF00, (3, 60000, 2, 1)),  # counts past 255, and failures and warnings
    (0x0000, (None, 500, 0, 0)),  # success: no remaining count (PS3.4 C.4.2.1.6)
    (0xFE00, (None, 4, 0, 0)),  # cancelled
])
def test_a_retrieve_response_is_written_as_pynetdicom_would(
        monkeypatch: pytest.MonkeyPatch, cls: type, message: type, status: int,
        counts: tuple[int | None, ...]) -> None:
    assoc, to_pynetdicom, written = association(monkeypatch)
    assoc.dimse.send_msg(retrieve_rsp(cls, status, counts), CONTEXT_ID)
    assert to_pynetdicom == []
    assert written == [pynetdicom_command(retrieve_rsp(cls, status, counts), message())]


def test_a_store_response_is_written_as_pynetdicom_would(monkeypatch: pytest.MonkeyPatch) -> None:
    def store_rsp() -> Any:
        rsp = C_STORE()
        rsp.MessageIDBeingRespondedTo = 9
        rsp.AffectedSOPClassUID = CTImageStorage
        rsp.AffectedSOPInstanceUID = "1.2.3.4.5"
        rsp.Status = 0xB000
        rsp.ErrorComment = "Coerced"
        return rsp

    assoc, to_pynetdicom, written = association(monkeypatch)
    assoc.dimse.send_msg(store_rsp(), CONTEXT_ID)
    assert to_pynetdicom == []
    assert written == [pynetdicom_command(store_rsp(), C_STORE_RSP())]


def failed_list() -> Any:
    identifier = Dataset()
    identifier.FailedSOPInstanceUIDList = [generate_uid(), generate_uid()]
    return BytesIO(encode(identifier, True, True))


@pytest.mark.parametrize("extra", [
    {"Identifier": "failed list"},  # the final response's Failed SOP Instance UID List
    {"ErrorComment": "Unknown destination"},
])
def test_anything_else_goes_to_pynetdicom(monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any]) -> None:
    if "Identifier" in extra:
        extra = {"Identifier": failed_list()}
    assoc, to_pynetdicom, written = association(monkeypatch)
    rsp = retrieve_rsp(C_MOVE, 0xA702, (None, 1, 2, 0), **extra)
    assoc.dimse.send_msg(rsp, CONTEXT_ID)
    assert written == [] and to_pynetdicom == [rsp]


def test_a_watched_association_goes_to_pynetdicom(monkeypatch: pytest.MonkeyPatch) -> None:
    assoc, to_pynetdicom, written = association(monkeypatch)
    rsp = retrieve_rsp(C_MOVE, 0xFF00, (9, 1, 0, 0))
    logger = logging.getLogger("pynetdicom")
    level = logger.level
    logger.setLevel(logging.DEBUG)  # pynetdicom dumps every message it sends
    try:
        assoc.dimse.send_msg(rsp, CONTEXT_ID)
    finally:
        logger.setLevel(level)
    assoc.bind(evt.EVT_DIMSE_SENT, lambda event: None)
    assoc.dimse.send_msg(rsp, CONTEXT_ID)
    assert written == [] and to_pynetdicom == [rsp, rsp]
