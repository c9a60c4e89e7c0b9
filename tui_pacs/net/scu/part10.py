"""The data set bytes of a stored DICOM file, found without parsing it with pydicom.

A Part 10 file is a 128-byte preamble, ``DICM``, the File Meta Information
(group 0002, always Explicit VR Little Endian, PS3.10 7.1), then the data
set encoded in the meta's Transfer Syntax. When a peer accepted that same
syntax, the bytes after the meta are exactly the C-STORE data set
(PS3.7 9.3.1.1), so sending them needs no decode and no re-encode.

The meta is walked element by element (the group length is not trusted:
some writers get it wrong). Anything unusual returns ``None`` and the
caller falls back to pydicom: no preamble, an unknown meta layout, a
different transfer syntax, a deflated data set, an empty data set.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

# Explicit VR with a 2-byte reserved field and a 4-byte length (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
                       b"UT", b"UV"})
_WANTED = {0x0002: "sop_class_uid", 0x0003: "sop_instance_uid", 0x0010: "transfer_syntax"}


@dataclass(frozen=True)
class StoredDataSet:
    """What a C-STORE request needs from a file: its UIDs and its data set bytes."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    data_set: bytes


def split(data: bytes) -> StoredDataSet | None:
    """Split a whole Part 10 file into its meta UIDs and data set; None if not plainly one."""
    if len(data) < 132 or data[128:132] != b"DICM":
        return None
    values: dict[str, str] = {}
    pos = 132
    end = len(data)
    while pos + 8 <= end:
        group, element = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = bytes(data[pos + 4:pos + 6])
        if vr in _LONG_VRS:
            if pos + 12 > end:
                return None
            (length,) = struct.unpack_from("<L", data, pos + 8)
            header = 12
        elif vr.isalpha() and vr.isupper():
            (length,) = struct.unpack_from("<H", data, pos + 6)
            header = 8
        else:
            return None  # not Explicit VR: a malformed meta, leave it to pydicom
        if length == 0xFFFFFFFF or pos + header + length > end:
            return None
        name = _WANTED.get(element)
        if name is not None:
            values[name] = data[pos + header:pos + header + length].decode("ascii", "replace").rstrip("\0 ")
        pos += header + length
    if "transfer_syntax" not in values or pos >= end:
        return None
    return StoredDataSet(values.get("sop_class_uid", ""), values.get("sop_instance_uid", ""),
                         values["transfer_syntax"], data[pos:])


def read_stored(path: str, transfer_syntax: str) -> StoredDataSet | None:
    """The data set of the file at ``path`` if it is stored in ``transfer_syntax``, else None.

    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    stored = split(data)
    if stored is None or stored.transfer_syntax != str(transfer_syntax):
        return None
    if stored.transfer_syntax == DeflatedExplicitVRLittleEndian:
        return None  # keep the one deflate path pynetdicom tests: inflate and re-deflate
    return stored


class StoredReference(Dataset):  # type: ignore[misc]
    """An instance to send as the bytes it is stored as, standing in for its data set.

    The sub-operations of a C-MOVE or C-GET we serve go through pynetdicom's
    Move or Get SCP, which hands each yielded data set to ``send_c_store`` on
    the association they go over (the one it opened from our AE, or the
    C-GET's own); there the wrapper of :mod:`tui_pacs.net.scu.association`
    sends the file's own data set bytes (:func:`read_stored`) instead of
    encoding a pydicom data set read from it. Only its UIDs are elements, so
    pynetdicom can name it in a Failed SOP Instance UID List; anything that
    cannot send it as stored reads the whole file (:meth:`load`).
    """

    def __init__(self, path: str, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> None:
        super().__init__()
        self.SOPClassUID = sop_class_uid
        self.SOPInstanceUID = sop_instance_uid
        self._stored_path = path
        self._stored_syntax = transfer_syntax

    @property
    def stored_path(self) -> str:
        return str(self._stored_path)

    @property
    def stored_syntax(self) -> str:
        return str(self._stored_syntax)

    def load(self) -> Dataset:
        """The whole data set, read from the file (raises what dcmread raises)."""
        return dcmread(self.stored_path)
