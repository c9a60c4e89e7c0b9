"""DIMSE responses read without pydicom on the associations we request.

Why
---
Every response our SCU waits for (a C-STORE-RSP per instance sent, a
pending C-MOVE-RSP or C-GET-RSP per instance retrieved, a C-ECHO-RSP)
went through pynetdicom's ``DIMSEMessage.decode_msg``, which decodes the
command set into a pydicom data set, and ``message_to_primitive``, which
copies it element by element into a primitive through validating setters.
Sending 132 KB instances to storescp, that was an eighth of the time our
process held the interpreter lock; during a C-MOVE into this process the
same lock is wanted by the association receiving the instances.

How
---
:func:`install` swaps the association's ``dimse.receive_primitive`` for a
:class:`ResponseReader`. A P-DATA holding one whole command set (one PDV,
the last command fragment) of a response without a data set (PS3.7 Table
E.1-1, Command Data Set Type 0101H), whose elements are all ones listed in
:data:`_FIELDS` and belong to the response's primitive, is built into that
primitive here and queued as pynetdicom queues it. Anything else, or any
message while pynetdicom is assembling one, or a handler bound to
``EVT_DIMSE_RECV``, goes to pynetdicom's own ``receive_primitive``
unchanged. :mod:`.store_reader` may be installed over this reader (a C-GET's
association): what it leaves alone reaches this one.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from pynetdicom import _config, evt
from pynetdicom.dimse_primitives import C_ECHO, C_GET, C_MOVE, C_STORE

from tui_pacs.net.fastpath.dimse import COMMAND, LAST, NO_DATA_SET, MalformedCommand, read_command
from tui_pacs.net.fastpath.store_reader import UID_SLOTS, loose_class_uid, loose_uid

log = logging.getLogger(__name__)

COMMAND_LAST = COMMAND | LAST  # message control header: the last fragment of a command (PS3.8 E.2)

_RESPONSES: dict[int, type] = {0x8001: C_STORE, 0x8030: C_ECHO, 0x8021: C_MOVE, 0x8010: C_GET}
"""Command Field of the responses read here (PS3.7 E.1) -> pynetdicom primitive."""
_EMPTY_DATA_SET: dict[type, str] = {C_MOVE: "Identifier", C_GET: "Identifier"}
"""Where pynetdicom leaves an empty data set on a response that carried none (its message's
``data_set`` starts as an empty buffer, and ``message_to_primitive`` copies it)."""

# PS3.7 Tables 9.3-2 (C-STORE-RSP), 9.3-13 (C-ECHO-RSP), 9.3-6 (C-GET-RSP), 9.3-8 (C-MOVE-RSP):
# element -> (VR, primitive attribute). Group length, Command Field and Command Data Set Type
# are read (dimse.read_command), not copied.
_FIELDS = {
    0x0002: ("UI", "AffectedSOPClassUID"),
    0x0120: ("US", "MessageIDBeingRespondedTo"),
    0x0900: ("US", "Status"),
    0x0902: ("LO", "ErrorComment"),
    0x0903: ("US", "ErrorID"),
    0x1000: ("UI", "AffectedSOPInstanceUID"),
    0x1020: ("US", "NumberOfRemainingSuboperations"),
    0x1021: ("US", "NumberOfCompletedSuboperations"),
    0x1022: ("US", "NumberOfFailedSuboperations"),
    0x1023: ("US", "NumberOfWarningSuboperations"),
}


def parse_response(command: bytes) -> tuple[type, dict[str, Any]] | None:
    """The primitive class and attributes of a response command set without a data set
    (Implicit VR Little Endian, PS3.7 6.3.1); None for anything this module leaves to pynetdicom."""
    try:
        command_field, data_set_type, values = read_command(command, _FIELDS)
    except MalformedCommand:
        return None
    cls = _RESPONSES.get(command_field) if command_field is not None else None
    if cls is None or data_set_type != NO_DATA_SET or "Status" not in values \
            or "MessageIDBeingRespondedTo" not in values:
        return None
    return cls, values


def build_response(cls: type, values: dict[str, Any], context_id: int) -> Any:
    """The primitive pynetdicom's ``message_to_primitive`` would give; None if one of the
    values does not belong to it or its setter refuses it."""
    primitive = cls()
    try:
        for name, value in values.items():
            if not hasattr(primitive, name):
                return None
            if name in UID_SLOTS and not _config.ENFORCE_UID_CONFORMANCE:
                convert = loose_class_uid if name == "AffectedSOPClassUID" else loose_uid
                setattr(primitive, UID_SLOTS[name], convert(value))
            else:
                setattr(primitive, name, value)  # pynetdicom's setters validate each value
    except (ValueError, TypeError):
        return None
    empty = _EMPTY_DATA_SET.get(cls)
    if empty is not None:
        setattr(primitive, empty, BytesIO())
    primitive._context_id = context_id
    primitive._dataset_path = None
    primitive._dataset_file = None
    return primitive


class ResponseReader:
    """The association's ``dimse.receive_primitive`` (see the module text)."""

    hands_on_to_pynetdicom = True
    """What it does not read goes to pynetdicom's reader, so another may wrap it (:mod:`.store_reader`)."""

    def __init__(self, assoc: Any, original: Any) -> None:
        self.assoc = assoc
        self.original = original
        self.responses_read = 0
        """Responses built here rather than by pynetdicom."""

    def __call__(self, primitive: Any) -> None:
        if self.assoc.dimse.message is None and self._read(primitive):
            return
        self.original(primitive)

    def _read(self, primitive: Any) -> bool:
        pdvs = getattr(primitive, "presentation_data_value_list", None)
        if not pdvs or len(pdvs) != 1:
            return False
        context_id, data = pdvs[0]
        if not data or data[0] != COMMAND_LAST or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            return False
        parsed = parse_response(bytes(data[1:]))
        if parsed is None:
            return False
        response = build_response(*parsed, int(context_id))
        if response is None:
            return False
        self.responses_read += 1
        self.assoc.dimse.msg_queue.put((int(context_id), response))
        return True


def install(assoc: Any) -> ResponseReader | None:
    """Read ``assoc``'s responses here; None where pynetdicom differs from 3.0.x or someone
    else already reads its messages."""
    dimse = getattr(assoc, "dimse", None)
    if dimse is None or not hasattr(dimse, "receive_primitive") or not hasattr(dimse, "msg_queue") \
            or not hasattr(dimse, "message") or "receive_primitive" in vars(dimse):
        return None
    probe = C_STORE()
    if any(not hasattr(probe, slot) for slot in UID_SLOTS.values()):
        return None
    reader = ResponseReader(assoc, dimse.receive_primitive)
    dimse.receive_primitive = reader
    return reader
