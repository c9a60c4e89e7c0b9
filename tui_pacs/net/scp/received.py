"""What the Storage SCP checks in a received data set before it stores it: the warnings.

PS3.4 B.2.3 lets an SCP store an instance and still warn the SCU:

* B006 Elements Discarded: File Meta Information elements (group 0002)
  belong only in the Part 10 header (PS3.10 7.1), never in a data set
  (PS3.5 7.1). Some senders leave them in. The chunked receiver writes our
  own meta then the data set as received, so they would sit behind it,
  possibly in another encoding; they are cut out of the stored file and the
  rest is kept byte for byte.
* B007 Data Set Does Not Match SOP Class: an instance of an Image Storage
  SOP Class without Rows, Columns or Pixel Data, which every image IOD
  requires as Type 1 through the Image Pixel Module (PS3.3 C.7.6.3). It is
  stored as sent.

Both come from one walk over the data set's top-level elements (:mod:`tui_pacs.store.walk`),
the same walk that reads the header the index needs (:mod:`tui_pacs.store.header`).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pynetdicom.sop_class import _STORAGE_CLASSES

from tui_pacs.net.scp.chunked import RECEIVED
from tui_pacs.store.extract import KEPT_TAGS
from tui_pacs.store.files import storage_error
from tui_pacs.store.header import RawHeader, from_survey
from tui_pacs.store.records import StoreWarning
from tui_pacs.store.walk import PIXEL_TAGS, DataSetSurvey, encoding, survey

log = logging.getLogger(__name__)

COERCION_OF_DATA_ELEMENTS = 0xB000
ELEMENTS_DISCARDED = 0xB006
DATA_SET_DOES_NOT_MATCH_SOP_CLASS = 0xB007

IMAGE_PIXEL_TYPE1 = {0x00280010: "Rows", 0x00280011: "Columns"}
"""Type 1 attributes of the Image Pixel Module (PS3.3 C.7.6.3) checked besides the pixels."""
WATCHED = frozenset(IMAGE_PIXEL_TYPE1) | PIXEL_TAGS

# JPIP Referenced (Deflate), JPIP HTJ2K Referenced (Deflate): Pixel Data Provider URL instead of
# Pixel Data (PS3.3 C.7.6.3.1.8 makes Pixel Data 1C on it).
_PIXELS_BY_REFERENCE = frozenset({"1.2.840.10008.1.2.4.94", "1.2.840.10008.1.2.4.95",
                                  "1.2.840.10008.1.2.4.204", "1.2.840.10008.1.2.4.205"})
_CHUNK = 1 << 20


@functools.cache
def image_storage_classes() -> frozenset[str]:
    """The Image Storage SOP Classes: their IODs all include the Image Pixel Module as M."""
    return frozenset(str(uid) for name, uid in _STORAGE_CLASSES.items() if "ImageStorage" in name)


@dataclass(frozen=True)
class Inspection:
    """What the walk over a received data set found."""

    warnings: list[StoreWarning]
    header: RawHeader | None
    """The attributes the index holds, read on the same walk (None if it could not be followed)."""
    rewritten: bool = False
    """The file was rewritten (B006: File Meta elements taken out of the data set)."""


def inspect(path: Path, sop_class_uid: str, transfer_syntax: str, *,
            content: bytes | None = None) -> Inspection:
    """Check the received file at ``path``, fix what B006 covers, and read its header.

    ``content`` is the file's bytes when the caller still holds them (a small
    data set): the walk reads them instead of the file, which need not
    exist; a rewrite (``rewritten``) leaves the file at ``path``.

    Raises :class:`~tui_pacs.store.errors.OutOfResources` (or another
    StoreError) when the file cannot be rewritten. A data set the walk cannot
    follow gets no warning here: the header reader judges it next.
    """
    found = survey(path if content is None else content, transfer_syntax, WATCHED, keep=KEPT_TAGS)
    if found is None:
        return Inspection([], None)
    warnings: list[StoreWarning] = []
    if found.meta_elements:
        discard_meta_elements(path, found, transfer_syntax, content=content)
        tags = ", ".join(f"({tag >> 16:04X},{tag & 0xFFFF:04X})" for tag, _, _ in found.meta_elements)
        log.info("discarded File Meta elements %s found inside a received data set", tags)
        count = len(found.meta_elements)
        warnings.append(StoreWarning(ELEMENTS_DISCARDED, f"discarded {count} File Meta element"
                                     f"{'s' if count > 1 else ''}"))
    missing = missing_type1(sop_class_uid, transfer_syntax, found)
    if missing:
        warnings.append(StoreWarning(DATA_SET_DOES_NOT_MATCH_SOP_CLASS,
                                     f"image lacks Type 1 {', '.join(missing)}"))
    return Inspection(warnings, from_survey(found), rewritten=bool(found.meta_elements))


def missing_type1(sop_class_uid: str, transfer_syntax: str, found: DataSetSurvey) -> list[str]:
    """The Image Pixel Module's Type 1 attributes an image instance lacks (none for other classes)."""
    if sop_class_uid not in image_storage_classes():
        return []
    missing = [name for tag, name in IMAGE_PIXEL_TYPE1.items() if tag not in found.valued]
    if transfer_syntax not in _PIXELS_BY_REFERENCE and not found.valued & PIXEL_TAGS:
        missing.append("Pixel Data")
    return missing


def discard_meta_elements(path: Path, found: DataSetSurvey, transfer_syntax: str, *,
                          content: bytes | None = None) -> None:
    """Rewrite ``path`` (same name; from ``content`` when given) without the data set's
    group 0002 elements.

    Not flushed here: like every received file, it is made durable with its
    batch when the archive places it (``store.group_commit``).
    """
    spans = [(start, end) for _, start, end in found.meta_elements]
    deflated = encoding(transfer_syntax)[2]
    fd, name = tempfile.mkstemp(prefix="in-", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, (io.BytesIO(content) if content is not None
                                          else path.open("rb")) as source:
            out.write(source.read(found.data_set_offset))  # preamble and our File Meta
            data_set = _chunks(source)
            if deflated:
                packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
                for piece in _without(_inflated(data_set), spans):
                    out.write(packer.compress(piece))
                out.write(packer.flush())
            else:
                for piece in _without(data_set, spans):
                    out.write(piece)
        os.replace(name, path)
    except OSError as exc:
        Path(name).unlink(missing_ok=True)
        raise storage_error(exc, RECEIVED) from exc
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _chunks(source: object) -> Iterator[bytes]:
    while block := source.read(_CHUNK):  # type: ignore[attr-defined]
        yield block


def _inflated(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflate = zlib.decompressobj(-zlib.MAX_WBITS)
    for chunk in chunks:
        yield inflate.decompress(chunk)
    yield inflate.flush()


def _without(chunks: Iterable[bytes], spans: list[tuple[int, int]]) -> Iterator[bytes]:
    """The bytes of ``chunks`` outside the sorted (start, end) ``spans``."""
    pos = 0
    for chunk in chunks:
        end = pos + len(chunk)
        cut = 0
        for start, stop in spans:
            if stop <= pos or start >= end:
                continue
            if start - pos > cut:
                yield chunk[cut:start - pos]
            cut = max(cut, min(stop, end) - pos)
        if cut < len(chunk):
            yield chunk[cut:] if cut else chunk
        pos = end
