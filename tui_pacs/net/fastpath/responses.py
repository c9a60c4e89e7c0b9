"""DIMSE responses read without pydicom on the associations we request.

Why
---
Every response our SCU waits for (a C-STORE-RSP per instance sent, a
pending C-MOVE-RSP or C-GET-RSP per instance retrieved, a C-FIND-RSP per
match, a C-ECHO-RSP) went through pynetdicom's ``DIMSEMessage.decode_msg``,
which decodes the command set into a pydicom data set, and
``message_to_primitive``, which copies it element by element into a
primitive through validating setters. Sending 132 KB instances to
storescp, that was an eighth of the time our process held the interpreter
lock; reading 2,000 C-FIND matches, more than half of our CPU.

How
---
:func:`install` swaps the association's ``dimse.receive_primitive`` for a
:class:`ResponseReader`. A response whose command set comes whole in one
PDV (the last command fragment) and holds only elements listed in
:data:`_FIELDS` that belong to its primitive is built into that primitive
here. Without a data set (PS3.7 Table E.1-1, Command Data Set Type 0101H)
it is queued at once, as pynetdicom queues it; with one (a C-FIND match, a
final C-MOVE or C-GET response with its Failed SOP Instance UID List) the
data set's fragments are gathered, from the same P-DATA or the next ones,
into the primitive's ``Identifier``, left for pynetdicom's service code to
decode as before. The P-DATA primitives of such a message are kept until it
is complete: if anything else comes first (another message's fragment, a
fragment on another context), all of them go, in order, to pynetdicom's
own ``receive_primitive``, which then sees exactly what it would have
seen. So do anything else, any message while pynetdicom is assembling one,
and everything while a handler is bound to ``EVT_DIMSE_RECV``.
:mod:`.store_reader` may be installed over this reader (a C-GET's
association): what it leaves alone reaches this one.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from pynetdicom import _config, evt
from pynetdicom.dimse_primitives import C_ECHO, C_FIND, C_GET, C_MOVE, C_STORE

from tui_pacs.net.fastpath.dimse import COMMAND, LAST, NO_DATA_SET, MalformedCommand, read_command
from tui_pacs.net.fastpath.store_reader import UID_SLOTS, loose_class_uid, loose_uid

log = logging.getLogger(__name__)

COMMAND_LAST = COMMAND | LAST  # message control header: the last fragment of a command (PS3.8 E.2)

_RESPONSES: dict[int, type] = {0x8001: C_STORE, 0x8030: C_ECHO, 0x8020: C_FIND, 0x8021: C_MOVE, 0x8010: C_GET}
"""Command Field of the responses read here (PS3.7 E.1) -> pynetdicom primitive."""
_DATA_SET_KEYWORD: dict[type, str] = {C_FIND: "Identifier", C_MOVE: "Identifier", C_GET: "Identifier"}
"""The primitive attribute a response's data set goes to; pynetdicom leaves an empty buffer there
when the response carried none (its message's ``data_set`` starts empty and is copied)."""

# PS3.7 Tables 9.3-2 (C-STORE-RSP), 9.3-13 (C-ECHO-RSP), 9.3-4 (C-FIND-RSP), 9.3-6 (C-GET-RSP),
# 9.3-8 (C-MOVE-RSP):
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


def parse_response(command: bytes) -> tuple[type, dict[str, Any], bool] | None:
    """The primitive class, the attributes and whether a data set follows, of a response command
    set (Implicit VR Little Endian, PS3.7 6.3.1); None for anything this module leaves to pynetdicom."""
    try:
        command_field, data_set_type, values = read_command(command, _FIELDS)
    except MalformedCommand:
        return None
    cls = _RESPONSES.get(command_field) if command_field is not None else None
    if cls is None or data_set_type is None or "Status" not in values \
            or "MessageIDBeingRespondedTo" not in values:
        return None
    with_data_set = data_set_type != NO_DATA_SET
    if with_data_set and cls not in _DATA_SET_KEYWORD:
        return None
    return cls, values, with_data_set


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
    keyword = _DATA_SET_KEYWORD.get(cls)
    if keyword is not None:
        setattr(primitive, keyword, BytesIO())  # filled by the reader when a data set follows
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
        self._held: list[Any] = []  # the P-DATA of a response whose data set is still arriving
        self._response: Any = None
        self._context_id = 0
        self._fragments: list[bytes] = []

    def __call__(self, primitive: Any) -> None:
        if self._held:
            self._held.append(primitive)
            pdvs = getattr(primitive, "presentation_data_value_list", None)
            if pdvs:
                self._gather(pdvs)
            else:
                self._hand_over()
            return
        if self.assoc.dimse.message is None and self._read(primitive):
            return
        self.original(primitive)

    def _read(self, primitive: Any) -> bool:
        pdvs = getattr(primitive, "presentation_data_value_list", None)
        if not pdvs:
            return False
        context_id, data = pdvs[0]
        if not data or data[0] != COMMAND_LAST or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            return False
        parsed = parse_response(bytes(data[1:]))
        if parsed is None:
            return False
        cls, values, with_data_set = parsed
        if not with_data_set and len(pdvs) != 1:
            return False  # another message in the same PDU: pynetdicom's
        response = build_response(cls, values, int(context_id))
        if response is None:
            return False
        if not with_data_set:
            self._queue(response)
            return True
        self._held, self._response, self._context_id = [primitive], response, int(context_id)
        self._gather(pdvs[1:])
        return True

    def _gather(self, pdvs: list[Any]) -> None:
        """Take the data set fragments of the held response; complete it, or give everything held
        to pynetdicom at the first thing that is not the next fragment."""
        for index, (context_id, data) in enumerate(pdvs):
            if int(context_id) != self._context_id or not data or data[0] & COMMAND:
                self._hand_over()
                return
            self._fragments.append(bytes(data[1:]))
            if data[0] & LAST:
                if index + 1 != len(pdvs):  # another message begins in the same PDU
                    self._hand_over()
                    return
                response = self._response
                getattr(response, _DATA_SET_KEYWORD[type(response)]).write(b"".join(self._fragments))
                self._reset()
                self._queue(response)
                return

    def _queue(self, response: Any) -> None:
        self.responses_read += 1
        self.assoc.dimse.msg_queue.put((response._context_id, response))

    def _hand_over(self) -> None:
        held = self._held
        self._reset()
        for primitive in held:
            self.original(primitive)

    def _reset(self) -> None:
        self._held, self._response, self._fragments = [], None, []


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
