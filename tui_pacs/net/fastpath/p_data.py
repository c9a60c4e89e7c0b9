"""P-DATA-TF PDUs handed to DIMSE straight from the socket's bytes.

Why
---
For every PDU it receives, pynetdicom 3.0.x copies the bytes, builds a PDU
object with an item object per PDV, queues a state-machine event and, on
the DUL loop's next turn, looks the event up in the state table only to run
DT-2, which turns the PDU into a P-DATA primitive for DIMSE. A 132 KB
instance sent in 16 KB PDUs pays that nine times, on the thread that shares
one interpreter lock with the association storing the previous instance.

How
---
:func:`install` replaces the DUL's ``_read_pdu_data`` with a
:class:`PDataReader`. When the association is established (Sta6), no other
event waits in the DUL's queue (so nothing is overtaken), nobody is bound to
the raw-data or PDU events, and the next PDU, peeked at without reading it,
is a P-DATA-TF, it reads the PDU, splits its presentation data value items
(PS3.8 9.3.5) and does what DT-2 does: passes one P-DATA primitive to
DIMSE. Any other PDU or state, or a socket it cannot peek at (TLS without
the buffered reader of :mod:`.reader`), goes through pynetdicom's own
reader, unchanged.
"""

from __future__ import annotations

import logging
import socket
import ssl
import struct
from typing import Any

from pynetdicom import evt
from pynetdicom.pdu_primitives import P_DATA

log = logging.getLogger(__name__)

P_DATA_TF = 0x04
DATA_TRANSFER = "Sta6"  # PS3.8 9.2: association established, ready for data transfer
_HEADER = struct.Struct(">BBL")
_ITEM_LENGTH = struct.Struct(">L")


class MalformedPData(ValueError):
    """A P-DATA-TF whose items do not add up (PS3.8 9.3.5)."""


def presentation_data_values(body: bytes | bytearray | memoryview) -> list[list[Any]]:
    """[presentation context ID, message control header + fragment] of each PDV item
    (lists, as pynetdicom's P_DATA wants them).

    ``body`` is the PDU after its 6-byte header; each item is a 4-byte
    length, the context ID and the value (PS3.8 Table 9-23).
    """
    values: list[list[Any]] = []
    at, end = 0, len(body)
    while at < end:
        if at + 4 > end:
            raise MalformedPData("truncated item length")
        (length,) = _ITEM_LENGTH.unpack_from(body, at)
        if length < 2 or at + 4 + length > end:
            raise MalformedPData(f"item length {length} does not fit the PDU")
        values.append([body[at + 4], bytes(body[at + 5:at + 4 + length])])
        at += 4 + length
    if not values:
        raise MalformedPData("no presentation data value item")
    return values


class PDataReader:
    """The DUL's ``_read_pdu_data`` (see the module text)."""

    def __init__(self, dul: Any, original: Any) -> None:
        self.dul = dul
        self.original = original
        self.pdus_read = 0
        """P-DATA-TF PDUs read here rather than by pynetdicom."""

    def __call__(self) -> None:
        if not self._ours():
            self.original()
            return
        dul = self.dul
        try:
            header = dul.socket.recv(6)
            length = _HEADER.unpack(header)[2] if len(header) == 6 else -1
            body = dul.socket.recv(length) if length >= 0 else b""
        except (OSError, TimeoutError) as exc:
            log.error("Connection closed before the entire PDU was received: %s", exc)
            length, body = -1, b""
        if length < 0 or len(body) != length:
            dul.event_queue.put("Evt17")  # transport connection closed, as pynetdicom reports it
            return
        try:
            primitive = P_DATA()
            # pynetdicom's stub says tuples; its setter accepts only lists
            primitive.presentation_data_value_list = presentation_data_values(body)  # type: ignore[assignment]
        except MalformedPData as exc:
            log.error("Unable to decode the received P-DATA-TF: %s", exc)
            dul.event_queue.put("Evt19")  # invalid PDU: the state machine aborts (AA-8)
            return
        self.pdus_read += 1
        dul.assoc.dimse.receive_primitive(primitive)  # DT-2; the state stays Sta6

    def _ours(self) -> bool:
        """Established, nothing queued before us, nobody watching raw PDUs, a P-DATA-TF next."""
        dul = self.dul
        if dul.state_machine.current_state != DATA_TRANSFER or not dul.event_queue.empty():
            return False
        assoc = dul.assoc
        if assoc.get_handlers(evt.EVT_DATA_RECV) or assoc.get_handlers(evt.EVT_PDU_RECV):
            return False
        peek = getattr(dul.socket, "peek", None)  # the buffered reader's (.reader)
        raw = getattr(dul.socket, "socket", None)
        if peek is None and (raw is None or isinstance(raw, ssl.SSLSocket)):
            return False
        try:
            head = peek(6) if peek is not None else raw.recv(6, socket.MSG_PEEK)  # type: ignore[union-attr]
        except OSError:
            return False  # pynetdicom's reader meets the same error and reports it
        return len(head) == 6 and head[0] == P_DATA_TF


def install(dul: Any) -> bool:
    """Read ``dul``'s P-DATA-TF PDUs here; False where pynetdicom differs from 3.0.x."""
    needed = ("_read_pdu_data", "state_machine", "event_queue", "assoc", "socket")
    if any(not hasattr(dul, name) for name in needed) or "_read_pdu_data" in vars(dul):
        return False
    dul._read_pdu_data = PDataReader(dul, dul._read_pdu_data)
    return True
