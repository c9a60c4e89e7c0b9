"""Pixel decode: one frame of any transfer syntax pydicom and the pylibjpeg plugins support.

Given a path, only the requested frame is read and decoded
(``pydicom.pixels.pixel_array(path, index=N)`` seeks to it, or decodes one
fragment of an encapsulated object), so stepping through a 500-frame
object does not decode 500 frames. The values returned are *stored values*
(PS3.3 C.7.6.3.1): signed where Pixel Representation is 1, masked to Bits
Stored, colour converted from YBR to RGB by pydicom, palette indices left as
indices. Everything after that is :mod:`tui_pacs.imaging.lut` and
:mod:`tui_pacs.imaging.colour`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from tui_pacs.imaging.errors import ImagingError

log = logging.getLogger(__name__)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

Source = Dataset | str | os.PathLike[str]


@dataclass(frozen=True)
class DecodedFrame:
    """One decoded frame and the attributes that say how to display it."""

    dataset: Dataset
    """The object's attributes (without Pixel Data when read from a path)."""
    pixels: np.ndarray
    """Stored values, native byte order: (rows, cols) or (rows, cols, samples)."""
    index: int
    number_of_frames: int


def number_of_frames(ds: Dataset) -> int:
    """PS3.3 C.7.6.6: Number of Frames, 1 when absent or empty."""
    value = ds.get("NumberOfFrames")
    try:
        return max(1, int(value)) if value not in (None, "") else 1
    except (TypeError, ValueError):
        return 1


def read_display_header(path: str | os.PathLike[str]) -> Dataset:
    """Every attribute before the pixels: windows, LUTs and frame count as the display needs them.

    (The archive's header reader keeps only what the index holds.)
    """
    try:
        return pydicom.dcmread(path, force=True, stop_before_pixels=True)
    except (OSError, InvalidDicomError) as exc:
        raise ImagingError(f"cannot read {Path(path).name}: {exc}") from exc
    except Exception as exc:  # truncated or malformed files raise many kinds
        raise ImagingError(f"{Path(path).name} is not a readable DICOM file: {exc}") from exc


def read_dataset(path: str | os.PathLike[str]) -> Dataset:
    """Read a whole object (pixel data included), also files without a File Meta header."""
    try:
        ds = pydicom.dcmread(path, force=True)
    except (OSError, InvalidDicomError) as exc:
        raise ImagingError(f"cannot read {Path(path).name}: {exc}") from exc
    except Exception as exc:  # truncated or malformed files raise many kinds
        raise ImagingError(f"{Path(path).name} is not a readable DICOM file: {exc}") from exc
    _ensure_transfer_syntax(ds)
    return ds


def decode_frame(src: Source, index: int = 0) -> DecodedFrame:
    """Decode frame ``index`` (0-based) of a data set or file.

    Raises :class:`ImagingError` with one reason when there is no pixel
    data, the frame does not exist, or no installed decoder handles the
    transfer syntax.
    """
    if isinstance(src, Dataset):
        return _decode_dataset(src, index)
    try:
        meta = Dataset()
        pixels = pixel_array(src, index=index, ds_out=meta)
    except (AttributeError, ValueError, NotImplementedError, RuntimeError, KeyError) as exc:
        # Deflated and meta-less files, or odd layouts, go through a full read,
        # which gives the precise reason if decoding really is impossible.
        log.debug("fast frame read failed for %s (%s); reading the whole object", src, exc)
        return _decode_dataset(read_dataset(src), index)
    except OSError as exc:
        raise ImagingError(f"cannot read {Path(src).name}: {exc}") from exc
    frames = number_of_frames(meta)
    if not 0 <= index < frames:
        raise ImagingError(f"frame {index + 1} does not exist; the object has {frames}")
    return DecodedFrame(meta, _native(pixels), index, frames)


def _decode_dataset(ds: Dataset, index: int) -> DecodedFrame:
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        raise ImagingError(f"no pixel data: it is {_describe(ds)}")
    frames = number_of_frames(ds)
    if not 0 <= index < frames:
        raise ImagingError(f"frame {index + 1} does not exist; the object has {frames}")
    _ensure_transfer_syntax(ds)
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        pixels = pixel_array(ds, index=index)
    except NotImplementedError as exc:
        raise ImagingError(f"no installed decoder for {_syntax_name(syntax)}: {_first_line(exc)}") from exc
    except Exception as exc:
        raise ImagingError(f"pixel data cannot be decoded ({_syntax_name(syntax)}): {_first_line(exc)}") from exc
    return DecodedFrame(ds, _native(pixels), index, frames)


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Files without File Meta (PS3.10 7.1) still say how they were read; name it as a UID."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    if "TransferSyntaxUID" in meta:
        return
    implicit, little = _encoding(ds)
    if little:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    else:
        meta.TransferSyntaxUID = ExplicitVRBigEndian


def _encoding(ds: Dataset) -> tuple[bool, bool]:
    original = getattr(ds, "original_encoding", None)
    if original and original[0] is not None:
        return bool(original[0]), bool(original[1])
    return True, True


def _native(pixels: np.ndarray) -> np.ndarray:
    """Big endian syntaxes decode to non-native dtypes; numpy is faster on native ones."""
    if pixels.dtype.byteorder not in ("=", "|") and pixels.dtype.byteorder != _NATIVE:
        return pixels.astype(pixels.dtype.newbyteorder("="))
    return pixels


_NATIVE = "<" if np.little_endian else ">"


def _syntax_name(syntax: UID) -> str:
    return f"{syntax.name} ({syntax})" if syntax.name != syntax else str(syntax)


def _describe(ds: Dataset) -> str:
    sop_class = ds.get("SOPClassUID")
    if sop_class:
        return f"a {UID(sop_class).name} object"
    return "not an image object"


def _first_line(exc: BaseException) -> str:
    """One line for people: pydicom's "all plugins failed:" header plus the first plugin's reason."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[1]}"
    return lines[0]
