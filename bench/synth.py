"""Synthetic instances for benchmarks: deterministic, written fast from one template per shape."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

ROOT = "1.2.826.0.1.3680043.10.777"


def template(size: int) -> Dataset:
    """A CT-like instance of ``size`` x ``size`` 16-bit pixels."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyDescription = "BENCH"
    ds.ReferringPhysicianName = ""
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = "O"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    rng = np.random.default_rng(size)
    ds.PixelData = rng.integers(0, 2000, size * size, dtype=np.uint16).tobytes()
    return ds


def write_set(folder: Path, *, count: int, size: int, per_study: int, tag: int) -> list[Path]:
    """Write ``count`` instances, ``per_study`` per study (one series each), return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    base = template(size)
    paths = []
    for n in range(count):
        study, number = divmod(n, per_study)
        ds = copy.copy(base)
        ds.file_meta = copy.copy(base.file_meta)
        uid = f"{ROOT}.{tag}.{study + 1}.1.{number + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.SOPInstanceUID = uid
        ds.StudyInstanceUID = f"{ROOT}.{tag}.{study + 1}"
        ds.SeriesInstanceUID = f"{ROOT}.{tag}.{study + 1}.1"
        ds.PatientID = f"B{tag}-{study % 97}"
        ds.PatientName = f"BENCH^{study % 97}"
        ds.AccessionNumber = f"ACC{tag}{study}"
        ds.SeriesNumber = 1
        ds.InstanceNumber = number + 1
        path = folder / f"{n:06d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
