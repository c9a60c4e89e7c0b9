"""The indexed attributes of an instance, decoded from the raw bytes of one walk.

Building a pydicom data set for every received instance and converting
each attribute through pydicom's validating machinery was the largest part
of the C-STORE SCP's CPU per small instance. Here only the attributes the
index holds are decoded, from the bytes :func:`.walk.survey` kept, by the
same rules pydicom applies (so both readers give the same record; a test
holds them to it): text through the Specific Character Set (PS3.5 6.1),
values split and padding removed as PS3.5 6.2 says per VR.

Anything the walk cannot follow gives None, and the caller falls back to
:func:`.extract.read_header`, which explains what is wrong.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.multival import MultiValue
from pydicom.values import convert_PN

from tui_pacs.store.walk import DataSetSurvey, survey

DEFAULT_ENCODING = "iso8859"
"""pydicom's name for the default repertoire's codec (ISO-IR 6 read as Latin-1)."""
_TEXT_DELIMITERS = {0x5C}  # backslash: PS3.5 6.1.3
_CHARSET = 0x00080005
_ESC = 0x1B  # ISO 2022 escape: the bytes after it may be in another character set (PS3.5 6.1.2.5)
_SINGLE_VALUED = frozenset({"LT", "ST", "UT"})  # PS3.5 6.2: no backslash splitting
_CHARSET_TEXT = frozenset({"SH", "LO", "UC"})
_NUMBER_TEXT = frozenset({"DS", "IS"})
_BINARY_INT = {"US": "H", "SS": "h", "UL": "L", "SL": "l"}


@functools.cache
def tag_of(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return int(tag)


@functools.cache
def _dictionary_vr(tag: int) -> str:
    return str(dictionary_VR(tag))


class RawHeader:
    """The kept attributes of one instance as bytes; decoded when asked for.

    Implements the value source of :func:`.extract.record_from_values`.
    """

    def __init__(self, values: dict[int, tuple[bytes, bytes]], *, little: bool,
                 transfer_syntax: str) -> None:
        self._values = values
        self._little = little
        self.transfer_syntax = transfer_syntax
        self._encodings: list[str] | None = None

    def __contains__(self, keyword: str) -> bool:
        return tag_of(keyword) in self._values

    def get(self, keyword: str, default: object = None) -> object:
        """The attribute as text (pydicom ``Dataset.get`` style, for callers that check a few)."""
        return self.text(keyword) if keyword in self else default

    def text(self, keyword: str) -> str:
        """The value as Unicode text; several values joined with a backslash; '' when absent."""
        tag = tag_of(keyword)
        found = self._values.get(tag)
        if found is None:
            return ""
        vr = self._vr(tag, found[0])
        raw = found[1]
        if vr == "PN":
            if raw.isascii() and _ESC not in raw:
                # Every character set pydicom knows reads ASCII bytes without escapes as ASCII, and a
                # name's str() is its text less empty trailing groups; pydicom's PersonName round trip
                # cost more than the rest of the record (the parity tests hold both to the same text).
                names = [name.rstrip("=") for name in raw.rstrip(b"\0 ").decode("ascii").split("\\")]
                return "\\".join(names) if len(names) > 1 else names[0].strip()  # as str(PersonName)
            value = convert_PN(raw, self.encodings())
            if isinstance(value, (list, MultiValue)):
                return "\\".join(str(v) for v in value)
            return str(value).strip()
        if vr in _SINGLE_VALUED:
            return decode_bytes(raw, self.encodings(), _TEXT_DELIMITERS).rstrip("\0 ").strip()
        if vr in _CHARSET_TEXT:
            items = [v.rstrip("\0 ") for v in decode_bytes(raw, self.encodings(), _TEXT_DELIMITERS).split("\\")]
        elif vr in _BINARY_INT:
            number = self.integer(keyword)
            return "" if number is None else str(number)
        else:
            items = raw.decode("latin-1").rstrip(" \0").split("\\")
            if vr in _NUMBER_TEXT:
                items = [v.strip() for v in items]
        return items[0].strip() if len(items) == 1 else "\\".join(items)

    def integer(self, keyword: str) -> int | None:
        """The first value as an integer (IS, or a binary integer VR); None when absent or not a number."""
        tag = tag_of(keyword)
        found = self._values.get(tag)
        if found is None:
            return None
        vr = self._vr(tag, found[0])
        raw = found[1]
        code = _BINARY_INT.get(vr)
        if code is not None:
            size = struct.calcsize(code)
            if len(raw) < size:
                return None
            return int(struct.unpack_from(("<" if self._little else ">") + code, raw)[0])
        first = raw.decode("latin-1").split("\\")[0].strip(" \0")
        try:
            return int(first)
        except ValueError:
            try:
                number = float(first)
            except ValueError:
                return None
            return int(number) if number.is_integer() else None

    def encodings(self) -> list[str]:
        """Python codecs of the Specific Character Set (PS3.5 6.1.2.3); the default repertoire without one."""
        if self._encodings is None:
            found = self._values.get(_CHARSET)
            terms = found[1].decode("latin-1").rstrip(" \0").split("\\") if found else []
            terms = [t.strip() for t in terms]
            if not any(terms):
                self._encodings = [DEFAULT_ENCODING]
            else:
                self._encodings = convert_encodings(terms if len(terms) > 1 else terms[0])
        return self._encodings

    @staticmethod
    def _vr(tag: int, explicit: bytes) -> str:
        if explicit and explicit not in (b"UN", b"OB"):
            return explicit.decode("ascii")
        return _dictionary_vr(tag)  # Implicit VR (PS3.5 7.1.3), or a sender that said UN


def read_raw_header(source: Path | bytes, keep: frozenset[int],
                    transfer_syntax: str | None = None) -> RawHeader | None:
    """The ``keep`` attributes of a Part 10 file (at a path, or its bytes) from one walk; None
    if it cannot be walked."""
    found = survey(source, transfer_syntax, keep=keep)
    return None if found is None else from_survey(found)


def from_survey(found: DataSetSurvey) -> RawHeader:
    """A :class:`RawHeader` over the values a survey kept."""
    return RawHeader(found.values, little=found.little, transfer_syntax=found.transfer_syntax)
