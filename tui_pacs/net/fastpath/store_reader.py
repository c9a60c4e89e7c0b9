"""C-STORE requests read without pydicom: from command set bytes straight to a C_STORE primitive.

Why
---
pynetdicom 3.0.x decodes every received command set into a pydicom data set
(``DIMSEMessage.decode_msg``) and then copies it, element by element, into
a DIMSE primitive (``message_to_primitive``), validating each value on the
way. For a small C-STORE that was the largest part of the DUL thread's work,
and the DUL thread shares one interpreter lock with the association that
stores the instance.

How
---
:func:`install` swaps the association's ``dimse.receive_primitive`` (called
by the DUL for each P-DATA) for :class:`StoreRequestReader`. It keeps the
P-DATA primitives of a message until its command set is complete (PS3.8
E.2: command fragments come first). A C-STORE-RQ whose command set holds
only the elements PS3.7 Table 9.1-1 defines, all well formed, is built into
a ``C_STORE`` primitive here; its data set fragments are written, as they
arrive, to the chunked-receive file that pynetdicom would have created (same
preamble, same File Meta), and the finished request goes on the DIMSE queue.
Anything else (another message, an odd command set, a handler bound to
``EVT_DIMSE_RECV``) is handed, from its first fragment, to pynetdicom's own
``receive_primitive``, which then sees exactly what it would have seen.
"""

from __future__ import annotations

import functools
import logging
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import config
from pydicom.uid import UID
from pynetdicom import _config, dimse_messages, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.pdu_primitives import P_DATA

from tui_pacs.net.fastpath.dimse import (
    C_STORE_RQ,
    COMMAND,
    LAST,
    NO_DATA_SET,
    MalformedCommand,
    read_command,
)

log = logging.getLogger(__name__)


# PS3.7 Table 9.1-1, C-STORE-RQ: element -> (VR, primitive attribute); group length, command
# field and data set type are read (dimse.read_command), not copied.
_FIELDS = {
    0x00000002: ("UI", "AffectedSOPClassUID"),
    0x00000110: ("US", "MessageID"),
    0x00000700: ("US", "Priority"),
    0x00001000: ("UI", "AffectedSOPInstanceUID"),
    0x00001030: ("AE", "MoveOriginatorApplicationEntityTitle"),
    0x00001031: ("US", "MoveOriginatorMessageID"),
}


UID_SLOTS = {"AffectedSOPClassUID": "_affected_sop_class_uid",
              "AffectedSOPInstanceUID": "_affected_sop_instance_uid"}
"""Where C_STORE keeps the UIDs its setters would store (checked by :func:`install`)."""


def loose_uid(value: str) -> UID:
    """A UID as pynetdicom's setter accepts it when conformance is not enforced (1 to 64
    characters), without pydicom's per-value regular expressions.

    The setters' validation was an eighth of the receiving thread's time per
    small instance. Conformance is the storage handler's to judge: it refuses
    an invalid SOP Instance UID with a status of its own.
    """
    if not 0 < len(value) <= 64:
        raise ValueError(f"UID of {len(value)} characters")
    return UID(value, validation_mode=config.IGNORE)


loose_class_uid = functools.lru_cache(maxsize=64)(loose_uid)
"""SOP Class UIDs repeat from request to request: their UID objects are kept."""


class _NotOurs(Exception):
    """The message is left to pynetdicom."""


def parse_store_request(command: bytes) -> dict[str, Any]:
    """The primitive attributes of a C-STORE-RQ command set (Implicit VR LE, PS3.7 6.3.1).

    Raises :class:`_NotOurs` for any other command, an element the table
    does not list, or a value of the wrong size.
    """
    try:
        command_field, data_set_type, values = read_command(command, _FIELDS)
    except MalformedCommand as exc:
        raise _NotOurs(str(exc)) from exc
    if command_field != C_STORE_RQ or data_set_type in (None, NO_DATA_SET):
        raise _NotOurs("not a C-STORE-RQ with a data set")
    if "AffectedSOPClassUID" not in values or "AffectedSOPInstanceUID" not in values:
        raise _NotOurs("no Affected SOP Class or Instance UID")
    return values


class StoreRequestReader:
    """The association's ``dimse.receive_primitive`` (see the module text)."""

    def __init__(self, assoc: Any, original: Any) -> None:
        self.assoc = assoc
        self.original = original
        self._held: list[Any] = []  # P-DATA of a message not yet decided
        self._command = bytearray()
        self._delegated = False  # pynetdicom is decoding the current message
        self._request: C_STORE | None = None
        self._file: Any = None
        self.requests_read = 0
        """C-STORE requests read here rather than by pynetdicom."""

    def __call__(self, primitive: Any) -> None:
        if self._delegated:
            self.original(primitive)
            self._delegated = self.assoc.dimse.message is not None
            return
        try:
            self._read(primitive)
        except _NotOurs as reason:
            if self._request is not None:  # mid data set: cannot hand back; pynetdicom would abort too
                log.error("C-STORE-RQ data set out of order: %s", reason)
                self.discard()
                self.assoc.dul.event_queue.put("Evt19")
                return
            self._hand_over()

    def _read(self, primitive: Any) -> None:
        pdvs = getattr(primitive, "presentation_data_value_list", None)
        if pdvs is None:
            raise _NotOurs("not a P-DATA")
        if self._request is None:
            self._held.append(primitive)
        for index, (context_id, data) in enumerate(pdvs):
            control = data[0]
            if self._request is None:
                if not control & COMMAND:
                    raise _NotOurs("a data set before its command")
                self._command += data[1:]
                if control & LAST:
                    self._start(context_id)
            elif control & COMMAND or context_id != self._request._context_id:
                raise _NotOurs("a command inside a data set")
            else:
                self._file.write(data[1:])
                if control & LAST:
                    self._finish()
                    if index + 1 < len(pdvs):  # the next message begins in the same PDU (PS3.8 9.3.5)
                        rest = P_DATA()
                        rest.presentation_data_value_list = list(pdvs[index + 1:])
                        self._read(rest)
                        return

    def _start(self, context_id: int) -> None:
        """The command set is complete: begin a C-STORE of ours, or give the message away."""
        if not _config.STORE_RECV_CHUNKED_DATASET or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            raise _NotOurs("chunked receive off, or someone watches DIMSE messages")
        context = self.assoc._accepted_cx.get(context_id)
        if context is None:
            raise _NotOurs("unknown presentation context")
        request = C_STORE()
        try:
            for name, value in parse_store_request(bytes(self._command)).items():
                if name in UID_SLOTS and not _config.ENFORCE_UID_CONFORMANCE:
                    convert = loose_class_uid if name == "AffectedSOPClassUID" else loose_uid
                    setattr(request, UID_SLOTS[name], convert(value))
                else:
                    setattr(request, name, value)  # pynetdicom's setters validate each value
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            raise _NotOurs(str(exc)) from exc
        request.DataSet = BytesIO()
        request._context_id = context_id
        handle = dimse_messages.NamedTemporaryFile(delete=False, mode="wb", suffix=".dcm")  # type: ignore[attr-defined]
        handle.write(b"\x00" * 128)
        handle.write(b"DICM")
        dimse_messages.write_file_meta_info(handle, dimse_messages.create_file_meta(  # type: ignore[attr-defined,arg-type]
            sop_class_uid=request.AffectedSOPClassUID,  # type: ignore[arg-type]  # parse requires both
            sop_instance_uid=request.AffectedSOPInstanceUID,  # type: ignore[arg-type]
            transfer_syntax=context.transfer_syntax[0]))
        request._dataset_path = Path(handle.name)
        request._dataset_file = handle  # type: ignore[assignment]  # ours, or pynetdicom's NamedTemporaryFile
        self._request, self._file = request, handle
        self._held.clear()
        self._command.clear()

    def _finish(self) -> None:
        request = self._request
        assert request is not None
        self._request = self._file = None
        self.requests_read += 1
        self.assoc.dimse.msg_queue.put((request._context_id, request))

    def _hand_over(self) -> None:
        """Give the held P-DATA, from the message's first, to pynetdicom."""
        held, self._held = self._held, []
        self._command.clear()
        for primitive in held:
            self.original(primitive)
        self._delegated = self.assoc.dimse.message is not None

    def discard(self) -> None:
        """Remove the file of a data set cut off mid-transfer (the association ended)."""
        handle, self._file, self._request = self._file, None, None
        if handle is not None:
            try:
                handle.close()
                Path(handle.name).unlink(missing_ok=True)
                log.info("discarded a partially received data set (%s)", Path(handle.name).name)
            except OSError as exc:
                log.warning("could not remove a partial data set: %s", exc)


def install(assoc: Any) -> bool:
    """Read this association's C-STORE requests ourselves; False where pynetdicom differs from 3.0.x."""
    dimse = getattr(assoc, "dimse", None)
    needed = (hasattr(dimse, "receive_primitive") and hasattr(dimse, "msg_queue") and hasattr(dimse, "message")
              and hasattr(assoc, "_accepted_cx") and hasattr(dimse_messages, "NamedTemporaryFile")
              and hasattr(dimse_messages, "create_file_meta") and hasattr(dimse_messages, "write_file_meta_info"))
    if not needed or dimse is None:
        return False
    existing = vars(dimse).get("receive_primitive")
    if existing is not None and not getattr(existing, "hands_on_to_pynetdicom", False):
        return False  # someone else's reader; a .responses reader leaves requests to its original
    probe = C_STORE()
    if any(not hasattr(probe, slot) for slot in UID_SLOTS.values()):
        return False
    dimse.receive_primitive = StoreRequestReader(assoc, dimse.receive_primitive)
    return True


def discard_partial(assoc: Any) -> None:
    """Remove the temporary file of a data set whose association ended mid-transfer, read here or
    by pynetdicom. For EVT_CONN_CLOSE and EVT_ABORTED, on accepted associations and on the ones we
    request (a C-GET's sub-operations arrive on those)."""
    reader = vars(getattr(assoc, "dimse", None) or object).get("receive_primitive")
    if isinstance(reader, StoreRequestReader):
        reader.discard()
    message = getattr(getattr(assoc, "dimse", None), "message", None)
    handle = getattr(message, "_data_set_file", None)
    path = getattr(message, "_data_set_path", None)
    if handle is None and path is None:
        return
    try:
        if handle is not None:
            handle.close()
        if path is not None:
            Path(path).unlink(missing_ok=True)
            log.info("discarded a partially received data set (%s)", Path(path).name)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("could not remove a partial data set: %s", exc)
