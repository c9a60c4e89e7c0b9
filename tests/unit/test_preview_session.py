"""What the preview's status line and presets are made of: the object's own header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from tui_pacs.services.preview import CT_PRESETS, PreviewSession


def _image(path: Path, modality: str) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.SeriesDescription = modality, "TWO WINDOWS"
    ds.Rows = ds.Columns = 8
    ds.NumberOfFrames = 3
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, 0
    ds.WindowCenter, ds.WindowWidth = ["40", "300"], ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["SOFT TISSUE", "BONE"]
    ds.PixelData = np.arange(3 * 64, dtype="<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_info_has_the_objects_own_windows_and_frames(tmp_path: Path) -> None:
    session = PreviewSession([_image(tmp_path / "ct.dcm", "CT")])
    try:
        info = session.info()
    finally:
        session.close()
    assert info.modality == "CT" and info.frames == 3 and info.description == "TWO WINDOWS"
    assert [(w.center, w.width, w.explanation) for w in info.presets[:2]] == [
        (40, 400, "SOFT TISSUE"), (300, 1500, "BONE")]
    assert info.presets[2:] == CT_PRESETS
