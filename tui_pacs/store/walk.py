"""One walk over the top-level elements of a Part 10 file, decoding no value.

Every received and imported instance is walked once, so this is written for
speed rather than generality. It reads each element's tag and length
(PS3.5 7.1.2, 7.1.3), seeks over its value, steps through sequences of
undefined length item by item (PS3.5 7.5), and stops at the first pixel
data element, which ends every image data set but its padding. On the way it
notes:

* where any File Meta elements sit inside the data set (group 0002 belongs
  only in the Part 10 header, PS3.10 7.1; PS3.5 7.1), for the SCP's B006;
* which watched tags have a value (Rows, Columns, Pixel Data: PS3.3
  C.7.6.3), for the SCP's B007;
* the raw bytes of the kept tags (the attributes the index holds), which
  :mod:`.header` decodes without building a pydicom data set.

Anything it cannot follow (a truncated or malformed data set) gives None:
the caller then stores what was sent and lets the header reader judge it.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydicom.uid import UID

UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})  # Pixel Data, Float, Double Float
# Explicit VRs with a reserved field and a 4-byte length (PS3.5 Table 7.1-1).
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR",
                       b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO",
                        b"LT", b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
_MAX_DEPTH = 32
_BUFFER = 1 << 16

Fill = Callable[[int, int], bytes]
"""(data set offset, at least how many bytes) -> the bytes from that offset (fewer only at the end)."""


class _Malformed(Exception):
    """The bytes do not follow PS3.5 7.1 far enough to be walked."""


@dataclass(frozen=True)
class DataSetSurvey:
    """What the walk found; offsets count from the first byte of the data set."""

    data_set_offset: int
    """Where the data set starts in the file (after preamble and File Meta)."""
    meta_elements: tuple[tuple[int, int, int], ...]
    """(tag, start, end) of each top-level group 0002 element."""
    valued: frozenset[int]
    """The watched top-level tags present with a non-empty value."""
    values: dict[int, tuple[bytes, bytes]]
    """Kept top-level tag -> (VR, value bytes); the VR is empty in Implicit VR data sets."""
    transfer_syntax: str
    """The syntax the data set was walked in (the caller's, or the file's own)."""
    implicit: bool
    little: bool


@functools.cache
def encoding(transfer_syntax: str) -> tuple[bool, bool, bool]:
    """(implicit VR, little endian, deflated): pydicom's UID properties are slow to ask each time."""
    uid = UID(transfer_syntax)
    return uid.is_implicit_VR, uid.is_little_endian, uid.is_deflated


def data_set_offset(head: bytes) -> int:
    """The offset of the data set in a Part 10 file whose first bytes are ``head``,
    from its (0002,0000) File Meta Information Group Length (PS3.10 7.1)."""
    if len(head) < 144 or head[128:132] != b"DICM" or head[132:140] != b"\x02\x00\x00\x00UL\x04\x00":
        raise _Malformed("no Part 10 header with a group length")
    (length,) = struct.unpack_from("<L", head, 140)
    return 144 + int(length)


def survey(source: Path | bytes, transfer_syntax: str | None = None, watch: Iterable[int] = (),
           keep: frozenset[int] = frozenset()) -> DataSetSurvey | None:
    """Walk the data set of a Part 10 file (at a path, or its bytes held in memory); None if it
    cannot be followed.

    ``transfer_syntax`` is the one the data set is encoded in (a C-STORE's
    presentation context); without it the file's own (0002,0010) is read.
    """
    watched = frozenset(watch)
    meta: list[tuple[int, int, int]] = []
    valued: set[int] = set()
    values: dict[int, tuple[bytes, bytes]] = {}
    try:
        with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb", buffering=0) as handle:
            head = handle.read(_BUFFER)
            offset = data_set_offset(head)
            if transfer_syntax is None:
                transfer_syntax = meta_transfer_syntax(head, offset)
            implicit, little, deflated = encoding(str(transfer_syntax))
            if deflated:
                handle.seek(offset)
                walker = _Walker(_Inflated(handle), implicit, little)
            else:
                walker = _Walker(functools.partial(_read_at, handle, offset), implicit, little,
                                 head[offset:])
            walker.top_level(watched, meta, valued, keep, values)
    except (_Malformed, OSError, struct.error, zlib.error, ValueError):
        return None
    return DataSetSurvey(offset, tuple(meta), frozenset(valued), values, str(transfer_syntax), implicit, little)


def meta_transfer_syntax(head: bytes, end: int) -> str:
    """(0002,0010) Transfer Syntax UID from the File Meta group in ``head[132:end]`` (PS3.10 7.1)."""
    at = 144
    while at + 8 <= min(end, len(head)):
        group, number, vr = struct.unpack_from("<HH2s", head, at)
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            (length,) = struct.unpack_from("<L", head, at + 8)
            at += 12
        else:
            (length,) = struct.unpack_from("<H", head, at + 6)
            at += 8
        if number == 0x0010:
            return head[at:at + length].decode("ascii").rstrip("\x00 ")
        at += length
    raise _Malformed("no Transfer Syntax UID in the File Meta group")


def _read_at(handle: BinaryIO, offset: int, pos: int, n: int) -> bytes:
    handle.seek(offset + pos)
    return handle.read(max(n, _BUFFER))


class _Inflated:
    """The :data:`Fill` of a Deflated Explicit VR Little Endian data set (PS3.5 A.5: raw deflate)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = b""  # inflated, not yet handed out
        self._pos = 0  # data set offset of _pending[0]

    def __call__(self, pos: int, n: int) -> bytes:
        if pos < self._pos:
            raise _Malformed("a deflated data set is read forwards only")
        chunks = [self._pending]
        have = len(self._pending)
        while have < pos - self._pos + n:
            raw = self._handle.read(_BUFFER)
            more = self._inflate.decompress(raw) if raw else self._inflate.flush()
            if not more and not raw:
                break
            chunks.append(more)
            have += len(more)
        data = b"".join(chunks)
        data, self._pending = data[pos - self._pos:], b""
        self._pos = pos + len(data)
        return data


class _Walker:
    """Steps over elements (PS3.5 7.1.2 explicit, 7.1.3 implicit VR) in a window of the data set."""

    def __init__(self, fill: Fill, implicit: bool, little: bool, first: bytes = b"") -> None:
        self._fill = fill
        self._encode(implicit, little)
        self.buf = first
        self.at = 0  # offset in buf of the next byte
        self.base = 0  # data set offset of buf[0]

    def _encode(self, implicit: bool, little: bool) -> None:
        self.implicit, self.little = implicit, little
        order = "<" if little else ">"
        self._tag = struct.Struct(order + "HH")
        self._u16 = struct.Struct(order + "H")
        self._u32 = struct.Struct(order + "L")
        self._item = struct.Struct(order + "HHL")

    @property
    def pos(self) -> int:
        return self.base + self.at

    def _ensure(self, n: int) -> None:
        """At least ``n`` bytes in the window from :attr:`at` (reread ``buf`` after calling)."""
        if self.at + n <= len(self.buf):
            return
        keep = self.buf[self.at:]  # a few bytes of a header cut by the window's end, or none
        pos = self.base + self.at
        self.buf = keep + self._fill(pos + len(keep), n - len(keep))
        self.base, self.at = pos, 0
        if n > len(self.buf):
            raise _Malformed("truncated")

    def at_end(self) -> bool:
        if self.at < len(self.buf):
            return False
        try:
            self._ensure(1)
        except _Malformed:
            return True
        return False

    def top_level(self, watched: frozenset[int], meta: list[tuple[int, int, int]],
                  valued: set[int], keep: frozenset[int] = frozenset(),
                  values: dict[int, tuple[bytes, bytes]] | None = None) -> None:
        """Walk the top level up to the first pixel data element, noting group 0002 elements
        in ``meta``, the ``watched`` tags that have a value in ``valued`` and the bytes of
        the ``keep`` tags in ``values``.

        Plain elements inside the window are stepped over in a tight loop (this runs for
        every instance received); anything else goes through :meth:`element`.
        """
        tag_of, u16, u32 = self._tag.unpack_from, self._u16.unpack_from, self._u32.unpack_from
        implicit = self.implicit
        while True:
            buf, at = self.buf, self.at
            end = len(buf) - 12
            while at <= end:
                group, number = tag_of(buf, at)
                if implicit:
                    (length,) = u32(buf, at + 4)
                    header = 8
                else:
                    vr = buf[at + 4:at + 6]
                    if vr in _SHORT_VRS:
                        (length,) = u16(buf, at + 6)
                        header = 8
                    elif vr in _LONG_VRS:
                        (length,) = u32(buf, at + 8)
                        header = 12
                    else:
                        break
                tag = group << 16 | number
                if length == UNDEFINED or group <= 0x0002 or group >= 0x7FE0:
                    break  # sequences, group 0002, pixel data (and what is odd): the careful way
                if length and tag in watched:
                    valued.add(tag)
                if tag in keep:
                    if at + header + length > len(buf):
                        break  # a kept value cut by the window's end: the careful way reads it
                    if values is not None:
                        values[tag] = (b"" if implicit else bytes(buf[at + 4:at + 6]),
                                       bytes(buf[at + header:at + header + length]))
                at += header + length
            self.at = at
            if self.at_end():
                return
            start = self.pos
            tag, length = self.element(0, PIXEL_TAGS, keep, values)
            if tag >> 16 == 0x0002:
                meta.append((tag, start, self.pos))
            if length and tag in watched:
                valued.add(tag)
            if tag in PIXEL_TAGS:
                return

    def element(self, depth: int, stop_at: frozenset[int] = frozenset(), keep: frozenset[int] = frozenset(),
                values: dict[int, tuple[bytes, bytes]] | None = None) -> tuple[int, int]:
        """Step over one element: (tag, value length, 1 for undefined length).

        An element in ``stop_at`` is left after its header (its value is not stepped over);
        the value of one in ``keep`` (of defined length) goes to ``values``.
        """
        self._ensure(8)
        group, number = self._tag.unpack_from(self.buf, self.at)
        if group == 0xFFFE:
            raise _Malformed(f"delimiter (FFFE,{number:04X}) where an element should be")
        tag = group << 16 | number
        return tag, self._rest(tag, depth, stop_at, keep if values is not None else frozenset(), values)

    def _rest(self, tag: int, depth: int, stop_at: frozenset[int], keep: frozenset[int] = frozenset(),
              values: dict[int, tuple[bytes, bytes]] | None = None) -> int:
        """After a tag at :attr:`at`: the VR and length, then step over the value."""
        buf, at = self.buf, self.at
        if self.implicit:
            (length,) = self._u32.unpack_from(buf, at + 4)
            vr = b"SQ" if length == UNDEFINED else b""
            self.at = at + 8
        else:
            vr = bytes(buf[at + 4:at + 6])
            if vr in _LONG_VRS:
                self._ensure(12)
                (length,) = self._u32.unpack_from(self.buf, self.at + 8)
                self.at += 12
            elif vr.isalpha() and vr.isupper():
                (length,) = self._u16.unpack_from(buf, at + 6)
                self.at = at + 8
            else:
                raise _Malformed("not an explicit VR")
        if tag in stop_at:
            return 1 if length == UNDEFINED else int(length)
        if length != UNDEFINED:
            if tag in keep and values is not None:
                self._ensure(length)
                values[tag] = (vr, bytes(self.buf[self.at:self.at + length]))
            self.at += length
            return int(length)
        if vr == b"UN":  # PS3.5 6.2.2: an undefined-length UN holds Implicit VR Little Endian items
            self.sequence(depth + 1, True, True)
        elif vr == b"SQ":
            self.sequence(depth + 1, self.implicit, self.little)
        else:
            raise _Malformed("undefined length outside a sequence or pixel data")
        return 1

    def sequence(self, depth: int, implicit: bool, little: bool) -> None:
        """Step over the items of a sequence of undefined length, up to its delimiter (PS3.5 7.5),
        its items encoded as ``implicit`` and ``little`` say."""
        if depth > _MAX_DEPTH:
            raise _Malformed("sequences nested too deep")
        outer = (self.implicit, self.little)
        if outer != (implicit, little):
            self._encode(implicit, little)
        try:
            self._items(depth)
        finally:
            if outer != (implicit, little):
                self._encode(*outer)

    def _items(self, depth: int) -> None:
        while True:
            self._ensure(8)
            group, number, length = self._item.unpack_from(self.buf, self.at)
            self.at += 8
            tag = group << 16 | number
            if tag == SEQUENCE_END:
                return
            if tag != ITEM:
                raise _Malformed("expected an item")
            if length != UNDEFINED:
                self.at += length
                continue
            while True:  # an item of undefined length: its elements, then the item delimiter
                self._ensure(8)
                group, number = self._tag.unpack_from(self.buf, self.at)
                if group == 0xFFFE:
                    if number != 0xE00D:
                        raise _Malformed("unexpected delimiter in an item")
                    self.at += 8
                    break
                self._rest(group << 16 | number, depth, frozenset())
