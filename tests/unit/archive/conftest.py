"""Fixtures for archive tests: a fresh home, an open archive, and synthetic instances.

Synthetic instances are built with pydicom in memory and written as Part 10
files, so each test states exactly the header values it relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

from tui_pacs.config.model import ArchiveSettings
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.store.archive import Archive

ROOT = "1.2.826.0.1.3680043.10.999"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    p = resolve_paths(tmp_path / "home")
    p.ensure()
    return p


@pytest.fixture
def archive(paths: Paths) -> Iterator[Archive]:
    a = Archive(paths.index_file, paths.store_dir, ArchiveSettings())
    a.files.ensure()
    a.index.open()
    yield a
    a.close()


def make_dataset(study: int = 1, series: int = 1, instance: int = 1, *, patient_id: str = "P1",
                 name: str = "DOE^JOHN", modality: str = "CT", study_date: str = "20200115",
                 study_time: str = "101500", accession: str = "ACC1", description: str = "HEAD",
                 sop_class: str = CTImageStorage, charset: str | None = None, pixels: bool = True,
                 **extra: str) -> Dataset:
    """A small but complete composite instance with predictable UIDs."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = f"{ROOT}.{study}.{series}.{instance}"
    if charset:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = f"{ROOT}.{study}.{series}.{instance}"
    ds.StudyInstanceUID = f"{ROOT}.{study}"
    ds.SeriesInstanceUID = f"{ROOT}.{study}.{series}"
    ds.PatientID = patient_id
    ds.PatientName = name
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.AccessionNumber = accession
    ds.StudyID = str(study)
    ds.StudyDescription = description
    ds.ReferringPhysicianName = "WELBY^MARCUS"
    ds.Modality = modality
    ds.SeriesNumber = series
    ds.SeriesDate = study_date
    ds.SeriesDescription = f"SERIES {series}"
    ds.InstanceNumber = instance
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    if pixels:
        ds.Rows = ds.Columns = 8
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.PixelData = (np.arange(64, dtype=np.uint16) * instance).tobytes()
    return ds


@pytest.fixture
def write_instance(tmp_path: Path) -> Callable[..., Path]:
    """Write ``make_dataset(**kwargs)`` as a Part 10 file in a source folder and return its path."""
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)

    def write(filename: str | None = None, **kwargs: object) -> Path:
        ds = make_dataset(**kwargs)  # type: ignore[arg-type]
        path = source / (filename or f"{ds.SOPInstanceUID}.dcm")
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        return path

    return write


__all__ = ["CTImageStorage", "MRImageStorage", "make_dataset"]
