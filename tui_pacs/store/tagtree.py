"""A readable tree of a dataset's elements, for ``tui-pacs dump`` and the TUI tag viewer.

Pure: a :class:`pydicom.Dataset` goes in, :class:`TagNode` trees come out,
and :func:`render_lines` turns them into dcmdump-like text. Nothing here
reads files, so the TUI can build the same tree from a dataset it already
holds and show it in a Tree widget.

Text values are shown as pydicom decodes them with the dataset's Specific
Character Set (PS3.5 6.1.2.5), so ``PN`` values in ISO 2022 or GB18030
appear as the names people read. Binary values and Pixel Data are
summarised, never dumped, and long values are cut so one element is one line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom import Dataset
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

log = logging.getLogger(__name__)

#: VRs whose values are bytes, summarised by their length instead of shown.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW", "US or OW"})
#: Elements that hold image data (PS3.3 C.7.6.3, C.7.6.24): summarised with the image geometry.
PIXEL_TAGS = frozenset({Tag(0x7FE0, 0x0010), Tag(0x7FE0, 0x0008), Tag(0x7FE0, 0x0009)})
UNDEFINED_LENGTH = 0xFFFFFFFF
DEFAULT_MAX_VALUE = 80


@dataclass(frozen=True)
class TagNode:
    """One line of the tree: an element, a sequence (with item children) or an item.

    ``kind`` is ``"element"``, ``"sequence"`` or ``"item"``. For items,
    ``tag`` is the Item tag (FFFE,E000) and ``keyword`` is ``"Item"``.
    """

    kind: str
    tag: BaseTag
    vr: str
    keyword: str
    value: str
    multiplicity: int = 1
    children: tuple[TagNode, ...] = field(default=())

    @property
    def tag_text(self) -> str:
        return f"({self.tag.group:04X},{self.tag.element:04X})"

    @property
    def is_private(self) -> bool:
        return self.tag.is_private


@dataclass(frozen=True)
class TagTree:
    """The file meta (group 0002) and the data set, each a sequence of top-level nodes."""

    meta: tuple[TagNode, ...]
    dataset: tuple[TagNode, ...]
    transfer_syntax: str = ""


def build_tree(ds: Dataset, *, max_value: int = DEFAULT_MAX_VALUE) -> TagTree:
    """Turn a dataset (and its file meta, if any) into a :class:`TagTree`.

    ``max_value`` caps the characters of a shown value (0: no cap).
    """
    meta = getattr(ds, "file_meta", None)
    syntax = ""
    if meta is not None and "TransferSyntaxUID" in meta:
        syntax = UID(meta.TransferSyntaxUID).name
    summary = _pixel_summary(ds, syntax)
    meta_nodes = tuple(_nodes(meta, max_value, summary)) if meta is not None else ()
    return TagTree(meta=meta_nodes, dataset=tuple(_nodes(ds, max_value, summary)),
                   transfer_syntax=syntax)


def render_lines(tree: TagTree, *, indent: str = "  ") -> list[str]:
    """The tree as text lines: meta first, then the data set, sequences indented."""
    lines: list[str] = []
    if tree.meta:
        lines.append("# File meta information")
        for node in tree.meta:
            lines.extend(_render(node, 0, indent))
        lines.append("")
    heading = "# Data set"
    if tree.transfer_syntax:
        heading += f" ({tree.transfer_syntax})"
    lines.append(heading)
    for node in tree.dataset:
        lines.extend(_render(node, 0, indent))
    return lines


def find_truncation(ds: Dataset) -> str | None:
    """Why ``ds`` looks truncated, or ``None``.

    pydicom reads a file that ends early without complaint and hands back a
    shorter last value, so compare each still-raw element's declared length
    with what was read, and native Pixel Data with the size its image needs.
    """
    for container in (getattr(ds, "file_meta", None), ds):
        if container is None:
            continue
        for tag in container.keys():  # noqa: SIM118 - iterating a Dataset converts elements
            item = container.get_item(tag)  # the raw element: no value conversion yet
            if isinstance(item, RawDataElement) and item.value is not None \
                    and item.length != UNDEFINED_LENGTH and len(item.value) < item.length:
                return (f"truncated in ({tag.group:04X},{tag.element:04X}): "
                        f"{len(item.value)} of {item.length} bytes")
    if len(ds) == 0:
        return "no data set after the file meta information (truncated?)"
    expected = _native_pixel_bytes(ds)
    if expected is not None and len(ds.PixelData) < expected:
        return f"Pixel Data has {len(ds.PixelData)} bytes, the image needs {expected}"
    return None


# --- building nodes ----------------------------------------------------------------


def _nodes(ds: Dataset, max_value: int, pixel_summary: str) -> Iterable[TagNode]:
    for elem in ds:
        yield _node(elem, max_value, pixel_summary)


def _node(elem: DataElement, max_value: int, pixel_summary: str) -> TagNode:
    keyword = elem.keyword or elem.name
    if elem.VR == "SQ":
        items = tuple(
            TagNode("item", Tag(0xFFFE, 0xE000), "", "Item", f"item {n}",
                    children=tuple(_nodes(item, max_value, pixel_summary)))
            for n, item in enumerate(elem.value, start=1)
        )
        count = len(items)
        return TagNode("sequence", elem.tag, "SQ", keyword,
                       f"({count} item{'s' if count != 1 else ''})", count, items)
    return TagNode("element", elem.tag, elem.VR, keyword,
                   format_value(elem, max_value, pixel_summary), elem.VM)


def format_value(elem: DataElement, max_value: int = DEFAULT_MAX_VALUE,
                 pixel_summary: str = "") -> str:
    """One element's value as display text: ``[text]``, numbers, or a ``<summary>``."""
    value = elem.value
    if elem.tag in PIXEL_TAGS:
        size = len(value) if isinstance(value, bytes | bytearray) else 0
        return f"<pixel data: {pixel_summary}{size} bytes>"
    if value is None or value == "" or value == b"" or (isinstance(value, list) and not value):
        return "(no value)"
    if elem.VR in BINARY_VRS or isinstance(value, bytes | bytearray):
        return _binary_summary(value)
    if elem.VR == "AT":
        tags = value if isinstance(value, MultiValue | list) else [value]
        return "\\".join(f"({Tag(t).group:04X},{Tag(t).element:04X})" for t in tags)
    if isinstance(value, MultiValue | list | tuple):
        text = "\\".join(_scalar(v) for v in value)
    else:
        text = _scalar(value)
    text = _cut(_printable(text), max_value)
    if isinstance(value, str) or elem.VR in _TEXT_VRS:
        return f"[{text}]"
    return text


_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM",
                       "UC", "UI", "UR", "UT", "DS", "IS"})


def _scalar(value: object) -> str:
    # FL/FD are plain floats (repr is exact); DS/IS keep the text pydicom read.
    return repr(value) if type(value) is float else str(value)


def _binary_summary(value: bytes | bytearray | object) -> str:
    if not isinstance(value, bytes | bytearray):
        return f"<binary: {type(value).__name__}>"
    preview = " ".join(f"{b:02x}" for b in value[:8])
    more = " ..." if len(value) > 8 else ""
    return f"<{len(value)} bytes: {preview}{more}>"


def _printable(text: str) -> str:
    """LT/ST/UT may hold line breaks and tabs; one element must stay one line."""
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch == "\n":
            out.append("\u21b5")  # a visible return mark
        elif ch == "\t":
            out.append(" ")
        elif ch != "\r":
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out)


def _cut(text: str, max_value: int) -> str:
    if max_value and len(text) > max_value:
        return text[: max(max_value - 3, 1)] + "..."
    return text


def _pixel_summary(ds: Dataset, syntax: str) -> str:
    """``cols x rows x samples``, frames, bits and syntax, from the image pixel module."""
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits = int(ds.BitsAllocated)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return f"{syntax}, " if syntax else ""
    parts = [f"{cols}x{rows}x{samples}"]
    if frames > 1:
        parts.append(f"{frames} frames")
    parts.append(f"{bits} bit")
    if "PhotometricInterpretation" in ds:
        parts.append(str(ds.PhotometricInterpretation))
    if syntax:
        parts.append(syntax)
    return ", ".join(parts) + ", "


def _native_pixel_bytes(ds: Dataset) -> int | None:
    """Bytes native Pixel Data must have (PS3.5 8.1.1), or None when not applicable."""
    meta = getattr(ds, "file_meta", None)
    syntax = UID(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None
    if "PixelData" not in ds or (syntax is not None and syntax.is_compressed):
        return None
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        bits = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1) \
            * int(ds.BitsAllocated) * frames
    except (AttributeError, TypeError, ValueError):
        return None
    return (bits + 7) // 8


# --- rendering -----------------------------------------------------------------------


def _render(node: TagNode, depth: int, indent: str) -> list[str]:
    pad = indent * depth
    if node.kind == "item":
        lines = [f"{pad}> {node.value}"]
        for child in node.children:
            lines.extend(_render(child, depth + 1, indent))
        return lines
    lines = [f"{pad}{node.tag_text} {node.vr or '??'} {node.keyword}  {node.value}"]
    for child in node.children:
        lines.extend(_render(child, depth + 1, indent))
    return lines
