"""Shared helpers for the imaging tests: pydicom's bundled files and synthetic images."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def bundled(name: str) -> Path:
    """A file bundled with pydicom (never downloaded: only names from data/test_files)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
    if path is None:
        pytest.fail(f"pydicom does not bundle {name}")
    return Path(path)


def mono_dataset(pixels: np.ndarray, *, bits_stored: int | None = None, signed: bool | None = None,
                 photometric: str = "MONOCHROME2", **attributes: object) -> Dataset:
    """An in-memory greyscale image with exactly the attributes a test states."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    frames = pixels.shape[0] if pixels.ndim == 3 else 1
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    allocated = pixels.dtype.itemsize * 8
    ds.BitsAllocated = allocated
    ds.BitsStored = bits_stored or allocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = int(pixels.dtype.kind == "i" if signed is None else signed)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()
    return ds


def ramp(height: int = 32, width: int = 64, low: int = 0, high: int = 4095, dtype: str = "uint16") -> np.ndarray:
    """A horizontal ramp covering low..high, repeated on every row."""
    row = np.linspace(low, high, width).round().astype(dtype)
    return np.repeat(row[None, :], height, axis=0)
