"""From a C-FIND/C-MOVE/C-GET Identifier to a :class:`Query`, and from index rows back.

PS3.4 C.4.1.1.3: the identifier names the keys to match (with a value) and
the keys to return (empty). Keys the index knows become a :class:`Query`
for the one query engine; keys it does not know are returned empty
(C.4.1.1.3.1: an SCP may not support some optional keys), and the response
carries exactly the keys asked for, plus Query/Retrieve Level and Specific
Character Set. The index holds Unicode, so responses are ``ISO_IR 192``
(UTF-8, PS3.5 6.1.2.3).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from tui_pacs.domain.attributes import ATTRIBUTES, Level, Match, Root
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.uids import printable
from tui_pacs.store.query import Query

UTF8 = "ISO_IR 192"
_BINARY = {"US": "<H", "UL": "<L", "SS": "<h", "SL": "<l"}
# Explicit VR elements with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_SKIPPED = {"QueryRetrieveLevel", "SpecificCharacterSet"}

# Information model of each Q/R SOP class (PS3.4 C.6): (root, service).
MODELS: dict[str, tuple[Root, str]] = {
    "1.2.840.10008.5.1.4.1.2.1.1": (Root.PATIENT, "C-FIND"),
    "1.2.840.10008.5.1.4.1.2.1.2": (Root.PATIENT, "C-MOVE"),
    "1.2.840.10008.5.1.4.1.2.1.3": (Root.PATIENT, "C-GET"),
    "1.2.840.10008.5.1.4.1.2.2.1": (Root.STUDY, "C-FIND"),
    "1.2.840.10008.5.1.4.1.2.2.2": (Root.STUDY, "C-MOVE"),
    "1.2.840.10008.5.1.4.1.2.2.3": (Root.STUDY, "C-GET"),
}


class IdentifierError(InvalidQuery):
    """The identifier does not fit the SOP class (A900) or cannot be parsed (C000)."""

    def __init__(self, message: str, *, status: int = 0xA900) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReturnKey:
    """One element to put in every response: its tag, VR and (if indexed) keyword."""

    tag: BaseTag
    vr: str
    keyword: str | None


@dataclass(frozen=True)
class QueryRequest:
    """A parsed identifier: the query to run and the shape of every response."""

    query: Query
    returned: tuple[ReturnKey, ...]
    unsupported: tuple[str, ...]

    def response(self, record: Mapping[str, Any]) -> Dataset:
        """One pending response identifier for an index row."""
        ds = Dataset()
        ds.SpecificCharacterSet = UTF8
        ds.QueryRetrieveLevel = self.query.level.value
        for key in self.returned:
            if key.vr == "SQ":
                ds.add_new(key.tag, "SQ", Sequence())
                continue
            value = record.get(key.keyword) if key.keyword else None
            ds.add_new(key.tag, key.vr, _element_value(key.vr, value))
        return ds

    def encoder(self, *, implicit_vr: bool) -> Callable[[Mapping[str, Any]], bytes]:
        """A function from an index row to its encoded response identifier (Little Endian).

        The same bytes pydicom writes for :meth:`response`, but the elements
        that are the same for every row (Specific Character Set, the level,
        keys returned empty) are encoded once here, and each row only
        encodes its values: per match that is most of the C-FIND SCP's work.
        """
        parts: list[tuple[int, bytes | tuple[bytes, str, str, str]]] = []
        constant = self.response({})  # every value empty: pydicom encodes the fixed elements
        indexed = {int(key.tag) for key in self.returned if key.keyword and key.vr != "SQ"}
        for element in constant:
            tag = int(element.tag)
            if tag in indexed:
                continue
            fp = DicomBytesIO()
            fp.is_little_endian, fp.is_implicit_VR = True, implicit_vr
            one = Dataset()
            one.add(element)
            write_dataset(fp, one)
            parts.append((tag, fp.getvalue()))
        for key in self.returned:
            if int(key.tag) in indexed:
                tag = int(key.tag)
                head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
                if implicit_vr:
                    length = "<L"
                elif key.vr.encode("ascii") in _LONG_VRS:
                    head, length = head + key.vr.encode("ascii") + b"\0\0", "<L"
                else:
                    head, length = head + key.vr.encode("ascii"), "<H"
                parts.append((tag, (head, length, key.keyword or "", key.vr)))
        parts.sort(key=lambda part: part[0])
        return _Encoder(tuple(part for _, part in parts))


def _element_value(vr: str, value: Any) -> Any:
    """The value to put in a response element: empty for None, a number for binary VRs."""
    if value is None or value == "":
        return None if vr in _BINARY else ""
    if vr in _BINARY:
        return int(value)
    return str(value)


class _Encoder:
    """Encodes a response identifier from pre-encoded elements and per-row values."""

    def __init__(self, parts: tuple[bytes | tuple[bytes, str, str, str], ...]) -> None:
        self.parts = parts

    def __call__(self, record: Mapping[str, Any]) -> bytes:
        out: list[bytes] = []
        for part in self.parts:
            if isinstance(part, bytes):
                out.append(part)
                continue
            head, length, keyword, vr = part
            value = record.get(keyword)
            if value is None or value == "":
                raw = b""
            elif vr in _BINARY:
                raw = struct.pack(_BINARY[vr], int(value))
            else:
                raw = str(value).encode("utf-8")  # ISO_IR 192 (PS3.5 6.1.2.3)
                if len(raw) % 2:
                    raw += b"\0" if vr == "UI" else b" "  # PS3.5 6.2: UI pads with NUL, text with space
            out.append(head + struct.pack(length, len(raw)))
            out.append(raw)
        return b"".join(out)


def root_of(abstract_syntax: str) -> Root:
    try:
        return MODELS[str(abstract_syntax)][0]
    except KeyError:
        raise IdentifierError(f"{abstract_syntax} is not a supported Q/R SOP class") from None


def _value(element: Any) -> str:
    value = element.value
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        raise IdentifierError(f"{element.keyword or element.tag}: binary match values are not supported",
                              status=0xC000)
    return str(value)


def _level(identifier: Dataset, root: Root) -> Level:
    raw = identifier.get("QueryRetrieveLevel", "")
    try:
        level = Level(str(raw).strip().upper())
    except ValueError:
        raise IdentifierError(f"Query/Retrieve Level {printable(raw)} is not valid") from None
    if not root.allows(level):
        raise IdentifierError(f"the {root.value} root has no {level.value} level")
    return level


def parse_identifier(identifier: Dataset, root: Root) -> QueryRequest:
    """Map an identifier to a query at its level; unknown keys are kept to be returned empty."""
    level = _level(identifier, root)
    keys: dict[str, str] = {}
    returned: list[ReturnKey] = []
    unsupported: list[str] = []
    try:
        elements = list(identifier)
    except Exception as exc:  # a value pydicom cannot decode
        raise IdentifierError(f"the identifier cannot be decoded ({exc})", status=0xC000) from exc
    for element in elements:
        keyword = element.keyword
        if keyword in _SKIPPED or element.tag.group == 0x0002:
            continue
        attr = ATTRIBUTES.get(keyword)
        if attr is None or attr.level.depth > level.depth or element.VR == "SQ":
            unsupported.append(keyword or str(element.tag))
            returned.append(ReturnKey(element.tag, element.VR, None))
            continue
        try:
            keys[keyword] = _value(element)
        except IdentifierError:
            raise
        except Exception as exc:
            raise IdentifierError(f"{keyword} cannot be decoded ({exc})", status=0xC000) from exc
        vr = "IS" if attr.match is Match.NUMBER and attr.vr == "IS" else attr.vr
        returned.append(ReturnKey(element.tag, vr, keyword))
    try:
        query = Query(level, keys, root)
    except InvalidQuery as exc:
        raise IdentifierError(exc.message, status=0xC000) from exc
    return QueryRequest(query, tuple(returned), tuple(unsupported))


def retrieve_query(identifier: Dataset, root: Root) -> Query:
    """The query of a C-MOVE/C-GET identifier: the keys with values select what to send (C.4.2.2.1)."""
    request = parse_identifier(identifier, root)
    keys = {k: v for k, v in request.query.keys.items() if v.strip()}
    if not keys:
        raise IdentifierError("a retrieve identifier needs at least one unique key with a value")
    return Query(request.query.level, keys, root)
