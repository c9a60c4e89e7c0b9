"""A C-STORE request put on the wire from bytes we already have (PS3.7 9.3.1.1, PS3.8 E.2).

pynetdicom builds every request's command set as a pydicom Dataset and
encodes it twice (once more to compute the group length); profiled, that
was about 1 ms of the sender's CPU per C-STORE on this hardware, more than
storescp needs to receive and write a 128 KB instance. A C-STORE-RQ command
set is seven fixed elements, so it is written here directly in Implicit VR
Little Endian (PS3.7 6.3.1, Table 9.3-1), and the message is fragmented into
P-DATA primitives (PS3.8 E.2: one PDV per P-DATA, the message control
header's bit 0 set for command fragments, bit 1 on the last fragment) that
go to the association's DUL like pynetdicom's own.

Only the sending thread of an exchange held with :func:`.dimse_guard.exclusive`
may call :func:`send`; the response is read as usual from the DIMSE queue.
Messages sent this way bypass ``DIMSEServiceProvider.send_msg`` and its
``EVT_DIMSE_SENT``: use it only when :func:`dimse_unobserved` says nobody
watches (pynetdicom's INFO/DEBUG message dumps, a handler, a wrapper).
"""

from __future__ import annotations

import struct
from typing import Any

from pynetdicom import evt
from pynetdicom.pdu_primitives import P_DATA

C_STORE_RQ = 0x0001
DATA_SET_PRESENT = 0x0001  # any value but 0101H (PS3.7 Table E.1-1); pynetdicom sends 0001H
PRIORITY_LOW = 0x0002  # pynetdicom's default for send_c_store (PS3.7 9.1.1.1.8)

_COMMAND = 0x01  # message control header (PS3.8 E.2): command fragment
_LAST = 0x02  # ... last fragment of the command or data set


def dimse_unobserved(assoc: Any) -> bool:
    """True when no EVT_DIMSE_SENT handler is bound and ``send_msg`` is pynetdicom's own."""
    return "send_msg" not in vars(assoc.dimse) and not assoc.get_handlers(evt.EVT_DIMSE_SENT)


def _element(element: int, value: bytes) -> bytes:
    """One group 0000 element in Implicit VR Little Endian."""
    return struct.pack("<HHL", 0x0000, element, len(value)) + value


def _uid(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\0" if len(raw) % 2 else raw  # UI pads with NUL to even length (PS3.5 6.2)


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def command_set(message_id: int, sop_class_uid: str, sop_instance_uid: str, *,
                priority: int = PRIORITY_LOW) -> bytes:
    """The encoded command set of a C-STORE-RQ, group length first (PS3.7 Table 9.3-1)."""
    body = b"".join((
        _element(0x0002, _uid(sop_class_uid)),  # Affected SOP Class UID
        _element(0x0100, _us(C_STORE_RQ)),  # Command Field
        _element(0x0110, _us(message_id)),  # Message ID
        _element(0x0700, _us(priority)),  # Priority
        _element(0x0800, _us(DATA_SET_PRESENT)),  # Command Data Set Type
        _element(0x1000, _uid(sop_instance_uid)),  # Affected SOP Instance UID
    ))
    return _element(0x0000, struct.pack("<L", len(body))) + body


def _fragments(payload: bytes, max_pdu: int, flags: int) -> list[tuple[int, bytes]]:
    """(header byte, fragment) pairs so each PDV fits the peer's maximum length."""
    # The maximum length counts the whole PDV item: 4 length bytes, the context ID and
    # the header byte come before the fragment (PS3.8 9.3.5.1, D.1).
    step = max_pdu - 6 if max_pdu else len(payload) or 1
    view = memoryview(payload)
    chunks = [view[i:i + step] for i in range(0, len(payload), step)] or [view]
    last = len(chunks) - 1
    return [(flags | (_LAST if n == last else 0), bytes(chunk)) for n, chunk in enumerate(chunks)]


def send(assoc: Any, context_id: int, command: bytes, data_set: bytes) -> None:
    """Queue the request's P-DATA primitives on ``assoc``'s DUL, command first."""
    max_pdu = int(assoc.dimse.maximum_pdu_size or 0)
    dul = assoc.dul
    for flags, fragment in (*_fragments(command, max_pdu, _COMMAND), *_fragments(data_set, max_pdu, 0)):
        primitive = P_DATA()
        primitive.presentation_data_value_list.append((context_id, bytes((flags,)) + fragment))
        dul.send_pdu(primitive)
