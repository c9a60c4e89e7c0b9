"""A C-STORE request put on the wire from bytes we already have (PS3.7 9.3.1.1, PS3.8 E.2).

pynetdicom builds every request's command set as a pydicom Dataset and
encodes it twice (once more to compute the group length); profiled, that
was about 1 ms of the sender's CPU per C-STORE on this hardware, more than
storescp needs to receive and write a 128 KB instance. A C-STORE-RQ command
set is seven fixed elements, so it is written here directly in Implicit VR
Little Endian (PS3.7 6.3.1, Table 9.3-1) and sent through
:func:`tui_pacs.net.fastpath.dimse.send`.

Only the sending thread of an exchange held with :func:`.dimse_guard.exclusive`
may send (:func:`exchange`); the response is read as usual from the DIMSE queue.
Messages sent this way bypass ``DIMSEServiceProvider.send_msg`` and its
``EVT_DIMSE_SENT``: use it only when :func:`dimse_unobserved` says nobody
watches (pynetdicom's INFO/DEBUG message dumps, a handler, a wrapper).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from pynetdicom.dimse_primitives import C_STORE

from tui_pacs.net.fastpath import dimse
from tui_pacs.net.fastpath.dimse import C_STORE_RQ, DATA_SET_PRESENT, element, group, uid, us

PRIORITY_LOW = 0x0002  # pynetdicom's default for send_c_store (PS3.7 9.1.1.1.8)


def dimse_unobserved(assoc: Any) -> bool:
    """True when no EVT_DIMSE_SENT handler is bound and ``send_msg`` is pynetdicom's own."""
    return dimse.dimse_unobserved(assoc)


def command_set(message_id: int, sop_class_uid: str, sop_instance_uid: str, *,
                priority: int = PRIORITY_LOW, originator_aet: str | None = None,
                originator_id: int | None = None) -> bytes:
    """The encoded command set of a C-STORE-RQ, group length first (PS3.7 Table 9.3-1); with
    the Move Originator's AE title and Message ID for a C-MOVE's sub-operation."""
    elements = [
        element(0x0002, uid(sop_class_uid)),  # Affected SOP Class UID
        element(0x0100, us(C_STORE_RQ)),  # Command Field
        element(0x0110, us(message_id)),  # Message ID
        element(0x0700, us(priority)),  # Priority
        element(0x0800, us(DATA_SET_PRESENT)),  # Command Data Set Type
        element(0x1000, uid(sop_instance_uid)),  # Affected SOP Instance UID
    ]
    if originator_aet is not None and originator_id is not None:
        title = originator_aet.strip().encode("ascii")
        elements.append(element(0x1030, title + b" " * (len(title) % 2)))  # AE, space-padded (PS3.5 6.2)
        elements.append(element(0x1031, us(originator_id)))  # Move Originator Message ID
    return group(*elements)


def exchange(assoc: Any, context_id: int, data_set: bytes, *, message_id: int, sop_class_uid: str,
             sop_instance_uid: str, priority: int = PRIORITY_LOW, originator_aet: str | None = None,
             originator_id: int | None = None) -> Any:
    """One C-STORE of a data set's encoded bytes: send the request, wait for the response.

    Returns the C-STORE-RSP primitive, or None when none came (the association
    is then aborted, as pynetdicom does). The caller holds the DIMSE guard
    (:func:`.dimse_guard.exclusive`). When someone watches the DIMSE layer
    (:func:`dimse_unobserved` false), pynetdicom encodes the command, so they
    see the message.
    """
    if dimse_unobserved(assoc):
        command = command_set(message_id, sop_class_uid, sop_instance_uid, priority=priority,
                              originator_aet=originator_aet, originator_id=originator_id)
        dimse.send(assoc, context_id, command, data_set)
    else:
        req = C_STORE()
        req.MessageID = message_id
        req.Priority = priority
        req.AffectedSOPClassUID = sop_class_uid
        req.AffectedSOPInstanceUID = sop_instance_uid
        if originator_aet is not None and originator_id is not None:
            req.MoveOriginatorApplicationEntityTitle = originator_aet
            req.MoveOriginatorMessageID = originator_id
        req.DataSet = BytesIO(data_set)
        assoc.dimse.send_msg(req, context_id)
    _, rsp = assoc.dimse.get_msg(block=True)
    if rsp is None:
        assoc._handle_no_response()
    return rsp
