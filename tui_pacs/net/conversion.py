"""Sending a stored instance in a transfer syntax the peer accepted (PS3.5 8, 10; A.1-A.5).

The archive keeps what the sender sent, in its transfer syntax. Whoever
sends it on (our C-STORE SCU, and the C-STORE sub-operations of our C-MOVE
and C-GET SCP) proposes that syntax plus Explicit and Implicit VR Little
Endian, which every peer supports (PS3.5 10.1). When the peer took the
stored syntax, the instance goes as it is; otherwise it is converted first:

* encapsulated (JPEG, JPEG-LS, JPEG 2000, RLE, ...): decompressed;
* Explicit VR Big Endian: re-encoded little endian, with the bytes of OW
  and other word values swapped, which pydicom does not do when it writes
  (PS3.5 A.3, 7.3);
* Deflated, Implicit or Explicit VR Little Endian: pynetdicom re-encodes these
  into one another itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.presentation import PresentationContext

from tui_pacs.net.errors import NoPresentationContext

log = logging.getLogger(__name__)

UNCOMPRESSED: tuple[str, ...] = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
"""The fallback every peer accepts (PS3.5 10.1), proposed beside each instance's own syntax."""

# Bytes per swapped unit for values that pydicom keeps as raw bytes (PS3.5 Table 6.2-1).
_WORD_BYTES = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def is_uncompressed(transfer_syntax: str) -> bool:
    """Native encodings (deflated included) that pynetdicom or :func:`dataset_to_send` re-encode."""
    return not UID(transfer_syntax).is_compressed


def _fallback_rank(transfer_syntax: str) -> int:
    """Which accepted context to convert for: 0 best, None-like large for unusable ones."""
    if transfer_syntax in UNCOMPRESSED:
        return 0
    uid = UID(transfer_syntax)
    return 1 if not uid.is_compressed and uid.is_little_endian else 9


def choose_context(accepted: Sequence[PresentationContext], sop_class: str,
                   transfer_syntax: str) -> tuple[PresentationContext, bool]:
    """The accepted context to send an instance on, and whether it must be decompressed first.

    The instance's own syntax if the peer accepted it; else a little endian
    uncompressed one (Explicit or Implicit VR, then Deflated), which
    :func:`dataset_to_send` converts to. Contexts on which we may not act as
    the Storage SCU (a C-GET requestor's refused role, PS3.7 D.3.3.4) are skipped.
    """
    candidates = [cx for cx in accepted if cx.abstract_syntax == sop_class and cx.transfer_syntax
                  and cx.as_scu is not False]
    for cx in candidates:
        if cx.transfer_syntax[0] == transfer_syntax:
            return cx, False
    usable = sorted((cx for cx in candidates if _fallback_rank(cx.transfer_syntax[0]) < 9),
                    key=lambda cx: _fallback_rank(cx.transfer_syntax[0]))
    if usable:
        return usable[0], not is_uncompressed(transfer_syntax)
    offered = ", ".join(UID(cx.transfer_syntax[0]).name for cx in candidates) or "none"
    raise NoPresentationContext(
        f"the peer accepted no context for {UID(sop_class).name} in {UID(transfer_syntax).name} "
        f"or uncompressed little endian (accepted: {offered})")


_CHOSEN = "_tui_pacs_chosen_contexts"
"""The association attribute :func:`context_for` remembers its choices in."""


def context_for(assoc: Any, sop_class: str, transfer_syntax: str) -> tuple[PresentationContext, bool]:
    """:func:`choose_context` over an established association's accepted contexts, remembered
    per association for each SOP class and stored syntax.

    pynetdicom builds ``accepted_contexts`` anew, as a sorted list, at each
    access, and the choice walked every context: sending instances or serving
    a C-GET (getscu proposes over a hundred contexts), that was asked once or
    twice per instance. An association's accepted contexts do not change once
    it is established; a refusal (:class:`NoPresentationContext`) is not remembered.
    """
    chosen: dict[tuple[str, str], tuple[PresentationContext, bool]] = vars(assoc).setdefault(_CHOSEN, {})
    key = (sop_class, transfer_syntax)
    found = chosen.get(key)
    if found is None:
        found = chosen[key] = choose_context(assoc.accepted_contexts, sop_class, transfer_syntax)
    return found


def dataset_to_send(path: str | Path, decompress: bool, target_syntax: str) -> Dataset:
    """The stored instance at ``path``, ready for pynetdicom to send on a ``target_syntax`` context.

    Raises what pydicom raises for an unreadable file or a codec it lacks
    (OSError, InvalidDicomError, ValueError, RuntimeError, NotImplementedError).
    """
    dataset = dcmread(path)
    convert(dataset, decompress, target_syntax)
    return dataset


def convert(dataset: Dataset, decompress: bool, target_syntax: str) -> None:
    """Make a stored instance sendable on a ``target_syntax`` context, in place (see :func:`choose_context`)."""
    stored = dataset.file_meta.TransferSyntaxUID
    if decompress:
        # The peer accepted only uncompressed syntaxes for this class (PS3.5 8.2). A change of
        # transfer syntax leaves the instance the same one: keep its SOP Instance UID
        # (pydicom would make a new one by default).
        dataset.decompress(generate_instance_uid=False)
        log.debug("decompressed %s (%s) for %s", dataset.get("SOPInstanceUID", "?"), UID(stored).name,
                  UID(target_syntax).name)
    elif stored not in (target_syntax, *UNCOMPRESSED):
        to_little_endian(dataset, target_syntax)


def to_little_endian(dataset: Dataset, target_syntax: str) -> None:
    """Re-encode a big endian or deflated data set in the little endian ``target_syntax``.

    pydicom converts numbers and text when it writes, but keeps OB/OW/OF/OL/OD/OV
    values as raw bytes, so those of a big endian data set are swapped here:
    Pixel Data by its Bits Allocated (as pydicom's own decoder reads it), the
    others by their VR's unit.
    """
    source = UID(dataset.file_meta.TransferSyntaxUID)
    target = UID(target_syntax)
    if not source.is_little_endian:
        _swap_words(dataset)
    dataset.file_meta.TransferSyntaxUID = target
    dataset.set_original_encoding(target.is_implicit_VR, target.is_little_endian,
                                  dataset.original_character_set)


def _swap_words(dataset: Dataset) -> None:
    """Swap the raw word values of ``dataset`` and of its sequences' items, in place."""
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value or ():
                _swap_words(item)
            continue
        size = _unit(dataset, element)
        value = element.value
        if size > 1 and isinstance(value, (bytes, bytearray)) and value and len(value) % size == 0:
            element.value = _swapped(bytes(value), size)


def _unit(dataset: Dataset, element: DataElement) -> int:
    if element.tag == 0x7FE00010 and element.VR == "OW":
        # Native Pixel Data as OW: big endian units of its Bits Allocated, 16-bit words
        # when 8 or fewer (PS3.5 A.3, 8.1.1); pydicom's decoder reads it the same way.
        return max(2, int(dataset.get("BitsAllocated", 16) or 16) // 8)
    return _WORD_BYTES.get(str(element.VR), 1)


def _swapped(data: bytes, size: int) -> bytes:
    dtype = np.dtype(f">u{size}")
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("<")).tobytes()
