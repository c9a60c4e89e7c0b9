"""DIMSE messages written as bytes and queued as P-DATA (PS3.7 6.3, 9.3; PS3.8 E.2).

pynetdicom builds every command set as a pydicom Dataset and encodes it
twice (once more for the group length); profiled, that was a large share of
the CPU per C-STORE (as sender or receiver) and per C-FIND response. A
command set is a handful of fixed elements, so here it is written directly
in Implicit VR Little Endian (PS3.7 6.3.1), and a message is fragmented into
P-DATA primitives that go to the association's DUL like pynetdicom's own
(PS3.8 E.2: one fragment per PDV, the message control header's bit 0 set
for command fragments, bit 1 on the last fragment of the command or data set).

Messages sent this way bypass ``DIMSEServiceProvider.send_msg`` and its
``EVT_DIMSE_SENT``: use it only when :func:`dimse_unobserved` says nobody
watches (pynetdicom's INFO/DEBUG message dumps, a handler, a wrapper).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from typing import Any, NamedTuple

from pynetdicom import evt
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.pdu_primitives import P_DATA

from tui_pacs.net.fastpath import dul_wakeup, p_data

C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
C_FIND_RSP = 0x8020
C_GET_RSP = 0x8010
C_MOVE_RSP = 0x8021
DATA_SET_PRESENT = 0x0001  # any value but 0101H (PS3.7 Table E.1-1); pynetdicom sends 0001H
NO_DATA_SET = 0x0101

COMMAND = 0x01  # message control header (PS3.8 E.2): command fragment
LAST = 0x02  # ... last fragment of the command or data set
_PDV_OVERHEAD = 6  # item length (4), context ID (1), message control header (1): PS3.8 9.3.5.1


_ELEMENT_HEADER = struct.Struct("<HHL")
_US_VALUE = struct.Struct("<H")


class MalformedCommand(ValueError):
    """A command set that is not a run of group 0000 elements, or a value of the wrong size."""


def command_elements(command: bytes) -> Iterator[tuple[int, bytes]]:
    """(element number, value) of each element of a received command set, in order (Implicit VR
    Little Endian, group 0000: PS3.7 6.3.1); raises :class:`MalformedCommand` where it stops being one."""
    at, end = 0, len(command)
    while at < end:
        if at + 8 > end:
            raise MalformedCommand("truncated command element")
        group, number, length = _ELEMENT_HEADER.unpack_from(command, at)
        at += 8
        if group != 0x0000 or at + length > end:
            raise MalformedCommand("not a command element")
        yield number, command[at:at + length]
        at += length


def us_value(raw: bytes) -> int:
    """A received US command element's value (raises :class:`MalformedCommand` unless 2 bytes)."""
    if len(raw) != 2:
        raise MalformedCommand("a US value of other than 2 bytes")
    return int(_US_VALUE.unpack(raw)[0])


_GROUP_LENGTH, _COMMAND_FIELD, _DATA_SET_TYPE = 0x0000, 0x0100, 0x0800


def read_command(command: bytes, fields: dict[int, tuple[str, str]]) -> tuple[int | None, int | None, dict[str, Any]]:
    """Command Field, Command Data Set Type and the primitive attributes of a received command set.

    ``fields`` maps each element number a caller takes to its VR ("US" or a text VR) and the
    primitive attribute it fills; the group length is skipped. Raises :class:`MalformedCommand`
    for an element not listed, a malformed one, or text that is not ASCII.
    """
    values: dict[str, Any] = {}
    command_field = data_set_type = None
    for number, raw in command_elements(command):
        if number == _GROUP_LENGTH:
            continue
        if number == _COMMAND_FIELD:
            command_field = us_value(raw)
        elif number == _DATA_SET_TYPE:
            data_set_type = us_value(raw)
        else:
            field = fields.get(number)
            if field is None:
                raise MalformedCommand(f"element (0000,{number:04X})")
            vr, name = field
            try:
                values[name] = us_value(raw) if vr == "US" else raw.decode("ascii").rstrip("\0 ")
            except UnicodeDecodeError as exc:
                raise MalformedCommand(f"(0000,{number:04X}) is not ASCII") from exc
    return command_field, data_set_type, values


def dimse_unobserved(assoc: Any) -> bool:
    """True when no EVT_DIMSE_SENT handler is bound, ``send_msg`` is pynetdicom's own (or
    :func:`install_fast_responses`') and pynetdicom's logger would not show the messages it dumps."""
    send_msg = vars(assoc.dimse).get("send_msg")
    return (send_msg is None or getattr(send_msg, "responses_as_bytes", False)) and _unwatched(assoc)


def element(tag_element: int, value: bytes) -> bytes:
    """One group 0000 element in Implicit VR Little Endian."""
    return struct.pack("<HHL", 0x0000, tag_element, len(value)) + value


def uid(value: object) -> bytes:
    """A UI value, NUL-padded to even length (PS3.5 6.2)."""
    raw = str(value).encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw


def us(value: int) -> bytes:
    return struct.pack("<H", value)


def group(*elements: bytes) -> bytes:
    """A command set: Command Group Length (0000,0000) first, then ``elements`` in tag order."""
    body = b"".join(elements)
    return element(0x0000, struct.pack("<L", len(body))) + body


def response_command(command_field: int, message_id: int, sop_class_uid: object, status: int, *,
                     has_data_set: bool = False, sop_instance_uid: object = None,
                     error_comment: str | None = None,
                     sub_operations: tuple[int | None, int | None, int | None, int | None] = (
                         None, None, None, None)) -> bytes:
    """A DIMSE-C response command set (PS3.7 Tables 9.3-2, 9.3-4, 9.3-6, 9.3-8): C-STORE-RSP,
    C-FIND-RSP, C-GET-RSP and C-MOVE-RSP; ``sub_operations`` are a retrieve's remaining,
    completed, failed and warning counts (each left out when None)."""
    parts = [
        element(0x0002, uid(sop_class_uid)),  # Affected SOP Class UID
        element(0x0100, us(command_field)),  # Command Field
        element(0x0120, us(message_id)),  # Message ID Being Responded To
        element(0x0800, us(DATA_SET_PRESENT if has_data_set else NO_DATA_SET)),  # Command Data Set Type
        element(0x0900, us(status)),  # Status
    ]
    if error_comment:
        raw = error_comment[:64].encode("ascii", "replace")  # LO, at most 64 characters
        parts.append(element(0x0902, raw + b" " if len(raw) % 2 else raw))  # Error Comment
    if sop_instance_uid:
        parts.append(element(0x1000, uid(sop_instance_uid)))  # Affected SOP Instance UID
    for number, count in zip((0x1020, 0x1021, 0x1022, 0x1023), sub_operations, strict=True):
        if count is not None:  # Number of Remaining, Completed, Failed, Warning Sub-operations
            parts.append(element(number, us(count)))
    return group(*parts)


def fragments(payload: bytes, max_pdu: int, flags: int) -> list[tuple[int, bytes]]:
    """(header byte, fragment) pairs so each PDV fits the peer's maximum length."""
    # The maximum length counts the whole PDV item: 4 length bytes, the context ID and
    # the header byte come before the fragment (PS3.8 9.3.5.1, D.1).
    step = max_pdu - _PDV_OVERHEAD if max_pdu else len(payload) or 1
    view = memoryview(payload)
    chunks = [view[i:i + step] for i in range(0, len(payload), step)] or [view]
    last = len(chunks) - 1
    return [(flags | (LAST if n == last else 0), bytes(chunk)) for n, chunk in enumerate(chunks)]


def p_data_tf(context_id: int, command: bytes, data_set: bytes | None = None) -> bytes:
    """A P-DATA-TF PDU holding a whole message: its command and data set as one PDV each (PS3.8 9.3.5)."""
    items = struct.pack(">LBB", len(command) + 2, context_id, COMMAND | LAST) + command
    if data_set is not None:
        items += struct.pack(">LBB", len(data_set) + 2, context_id, LAST) + data_set
    return struct.pack(">BBL", p_data.P_DATA_TF, 0x00, len(items)) + items


def send(assoc: Any, context_id: int, command: bytes, data_set: bytes | None = None) -> None:
    """Send a message on ``assoc``, command first: written straight to the socket when nothing
    waits before it (:func:`.dul_wakeup.write_now`), else queued as P-DATA primitives for the DUL.

    A small message (a response, a C-FIND match) goes as one P-DATA-TF PDU
    holding two PDVs, command and data set (PS3.8 9.3.5: a PDU may carry
    several PDVs), which halves the socket writes. A larger one goes as one
    PDU per fragment, written :data:`WRITE_BYTES` at a time.
    """
    max_pdu = int(assoc.dimse.maximum_pdu_size or 0)
    dul = assoc.dul
    size = len(command) + len(data_set or b"") + 2 * _PDV_OVERHEAD
    if not max_pdu or size <= max_pdu:
        if dul_wakeup.write_now(dul, p_data_tf(context_id, command, data_set)):
            return
        primitive = P_DATA()
        primitive.presentation_data_value_list.append((context_id, bytes((COMMAND | LAST,)) + command))
        if data_set is not None:
            primitive.presentation_data_value_list.append((context_id, bytes((LAST,)) + data_set))
        dul.send_pdu(primitive)
        return
    pieces = fragments(command, max_pdu, COMMAND)
    if data_set is not None:
        pieces += fragments(data_set, max_pdu, 0)
    start = 0
    while start < len(pieces):  # straight to the socket, a few PDUs at a time, while it may
        end, length = start, 0
        while end < len(pieces) and (end == start or length + len(pieces[end][1]) <= WRITE_BYTES):
            length += len(pieces[end][1])
            end += 1
        pdus = b"".join(_one_pdv_pdu(context_id, flags, fragment) for flags, fragment in pieces[start:end])
        if not dul_wakeup.write_now(dul, pdus):
            break
        start = end
    for flags, fragment in pieces[start:]:  # the rest to the DUL, in order
        primitive = P_DATA()
        primitive.presentation_data_value_list.append((context_id, bytes((flags,)) + fragment))
        dul.send_pdu(primitive)


WRITE_BYTES = 1 << 20
"""How much of a large message is joined into one socket write (a bound on the copy made)."""


def _one_pdv_pdu(context_id: int, flags: int, fragment: bytes) -> bytes:
    """A P-DATA-TF PDU holding one fragment (PS3.8 9.3.5)."""
    return struct.pack(">BBLLBB", p_data.P_DATA_TF, 0x00, len(fragment) + 6, len(fragment) + 2,
                       context_id, flags) + fragment


def install_fast_responses(assoc: Any) -> bool:
    """Write this association's C-STORE-RSPs, and its C-MOVE-RSPs and C-GET-RSPs without a data
    set, as bytes; everything else it sends goes as before.

    For the responses pynetdicom sends itself: the C-STOREs of a C-GET we
    requested (``Association._c_store_scp``), and the pending responses of a
    C-MOVE or C-GET we serve (``QueryRetrieveServiceClass``, one after each
    sub-operation, each command set built as a pydicom data set and encoded
    twice). Each C-MOVE or C-GET response's counts are noted on the way,
    written as bytes or not (:func:`take_sub_operation_counts`). Install
    before the association starts; False if ``send_msg`` is already someone else's.
    """
    dimse_provider = getattr(assoc, "dimse", None)
    if dimse_provider is None or "send_msg" in vars(dimse_provider):
        return False
    original = dimse_provider.send_msg

    def send_msg(primitive: Any, context_id: int) -> None:
        _note_sub_operations(assoc, primitive)
        command = _response_bytes(primitive) if _unwatched(assoc) else None
        if command is None:
            original(primitive, context_id)
        else:
            send(assoc, context_id, command)

    send_msg.responses_as_bytes = True  # type: ignore[attr-defined]  # ours: see dimse_unobserved
    dimse_provider.send_msg = send_msg
    return True


class SubOperationCounts(NamedTuple):
    """A served C-MOVE's or C-GET's sub-operations so far, as its last response told the peer."""

    completed: int
    failed: int
    warning: int


_COUNTS = "_tui_pacs_sub_operation_counts"


def _note_sub_operations(assoc: Any, primitive: Any) -> None:
    """Remember the counts of a C-MOVE or C-GET response on its way to the peer."""
    if isinstance(primitive, (C_MOVE, C_GET)) and primitive.NumberOfCompletedSuboperations is not None:
        vars(assoc)[_COUNTS] = SubOperationCounts(int(primitive.NumberOfCompletedSuboperations or 0),
                                                  int(primitive.NumberOfFailedSuboperations or 0),
                                                  int(primitive.NumberOfWarningSuboperations or 0))


def take_sub_operation_counts(assoc: Any) -> SubOperationCounts | None:
    """The counts the last C-MOVE or C-GET response sent on ``assoc`` carried, forgotten once
    taken (the next retrieve on the association starts afresh); None if none was sent."""
    counts: SubOperationCounts | None = vars(assoc).pop(_COUNTS, None)
    return counts


def _response_bytes(primitive: Any) -> bytes | None:
    """The command set of a response :func:`install_fast_responses` writes, or None to leave it."""
    if not isinstance(primitive, (C_STORE, C_MOVE, C_GET)) or primitive.Status is None \
            or primitive.OffendingElement is not None:
        return None
    message_id = int(primitive.MessageIDBeingRespondedTo or 0)
    if isinstance(primitive, C_STORE):
        return response_command(C_STORE_RSP, message_id, primitive.AffectedSOPClassUID, int(primitive.Status),
                                sop_instance_uid=primitive.AffectedSOPInstanceUID,
                                error_comment=primitive.ErrorComment)
    if primitive.Identifier is None and primitive.ErrorComment is None:
        return response_command(
            C_MOVE_RSP if isinstance(primitive, C_MOVE) else C_GET_RSP, message_id,
            primitive.AffectedSOPClassUID, int(primitive.Status),
            sub_operations=(primitive.NumberOfRemainingSuboperations, primitive.NumberOfCompletedSuboperations,
                            primitive.NumberOfFailedSuboperations, primitive.NumberOfWarningSuboperations))
    return None


def _unwatched(assoc: Any) -> bool:
    """No EVT_DIMSE_SENT handler is bound and pynetdicom's log would not dump the messages."""
    return not assoc.get_handlers(evt.EVT_DIMSE_SENT) and not logging.getLogger("pynetdicom").isEnabledFor(
        logging.DEBUG)
