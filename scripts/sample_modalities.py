"""Per-modality image modules for the sample set: attributes plus pixels.

Each builder fills the modality-specific attributes of one instance (image
pixel module, geometry, windowing, modality LUT) and returns the pixel array
in stored values. Attribute choices follow what real devices send, so the
viewer and the archive are exercised by realistic headers, not minimal ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import sample_phantoms as ph
from pydicom import Dataset
from pydicom.uid import UID

CT = UID("1.2.840.10008.5.1.4.1.1.2")
MR = UID("1.2.840.10008.5.1.4.1.1.4")
CR = UID("1.2.840.10008.5.1.4.1.1.1")
DX = UID("1.2.840.10008.5.1.4.1.1.1.1")
US = UID("1.2.840.10008.5.1.4.1.1.6.1")
US_MULTI = UID("1.2.840.10008.5.1.4.1.1.3.1")
XA = UID("1.2.840.10008.5.1.4.1.1.12.1")
SC = UID("1.2.840.10008.5.1.4.1.1.7")

Builder = Callable[[Dataset, int, int], np.ndarray]


def _pixel_module(ds: Dataset, rows: int, cols: int, *, bits: int, stored: int,
                  signed: bool = False, samples: int = 1, photometric: str = "MONOCHROME2") -> None:
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples == 3:
        ds.PlanarConfiguration = 0
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = bits
    ds.BitsStored = stored
    ds.HighBit = stored - 1
    ds.PixelRepresentation = 1 if signed else 0


def _slice_geometry(ds: Dataset, index: int, size: int, spacing: float, thickness: float) -> None:
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-size * spacing / 2, -size * spacing / 2, -index * thickness]
    ds.SliceLocation = -index * thickness
    ds.PixelSpacing = [spacing, spacing]
    ds.SliceThickness = thickness
    ds.PositionReferenceIndicator = ""


def _ct(ds: Dataset, index: int, seed: int, *, head: bool) -> np.ndarray:
    size = 256
    thickness = 5.0 if head or ds.SeriesNumber != 1 else 1.0
    _slice_geometry(ds, index, size, 0.9 if head else 1.4, thickness)
    ds.Modality = "CT"
    ds.KVP = 120
    ds.ConvolutionKernel = "H30s" if head else "B30f"
    ds.BodyPartExamined = "HEAD" if head else "ABDOMEN"
    hu = ph.ct_head(size, index, seed) if head else ph.ct_abdomen(size, index, seed)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.RescaleType = "HU"
    ds.WindowCenter, ds.WindowWidth = ([40, 600], [80, 2800]) if head else ([40, 50], [400, 150])
    ds.WindowCenterWidthExplanation = ["BRAIN", "BONE"] if head else ["ABDOMEN", "LIVER"]
    if head:  # unsigned 12-bit, the classic layout
        _pixel_module(ds, size, size, bits=16, stored=12)
        return (hu.astype(np.int32) + 1024).astype(np.uint16)
    # signed 16-bit with the same intercept, as several vendors store it
    _pixel_module(ds, size, size, bits=16, stored=16, signed=True)
    return (hu.astype(np.int32) + 1024).astype(np.int16)


def _mr(ds: Dataset, index: int, seed: int, *, knee: bool = False) -> np.ndarray:
    size = 256 if not knee else 192
    _slice_geometry(ds, index, size, 0.9 if not knee else 0.6, 4.0 if not knee else 3.0)
    ds.Modality = "MR"
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = 4000 if not knee else 2500
    ds.EchoTime = 95 if not knee else 30
    ds.EchoTrainLength = 15
    ds.MagneticFieldStrength = 1.5
    ds.BodyPartExamined = "BRAIN" if not knee else "KNEE"
    _pixel_module(ds, size, size, bits=16, stored=12)
    ds.WindowCenter = 1200
    ds.WindowWidth = 2400
    return ph.mr_knee(size, index, seed) if knee else ph.mr_brain(size, index, seed)


def _projection(ds: Dataset, seed: int, *, kind: str, mono1: bool, sop: UID) -> np.ndarray:
    rows, cols = (320, 288) if kind == "chest" else (288, 224)
    ds.Modality = "CR" if sop == CR else "DX"
    ds.ImageType = ["ORIGINAL", "PRIMARY"] + (["", "RIGHT"] if sop == CR else [])
    ds.BodyPartExamined = "CHEST" if kind == "chest" else "HAND"
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["L", "F"] if kind == "chest" else ["R", "F"]
    ds.ImagerPixelSpacing = [0.7, 0.7]
    ds.PixelSpacing = [0.7, 0.7]
    if sop == DX:
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PresentationLUTShape = "INVERSE" if mono1 else "IDENTITY"
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "US"
        ds.DetectorType = "SCINTILLATOR"
        ds.BurnedInAnnotation = "NO"
    counts = ph.radiograph(rows, cols, seed, kind=kind)
    _pixel_module(ds, rows, cols, bits=16, stored=12,
                  photometric="MONOCHROME1" if mono1 else "MONOCHROME2")
    ds.WindowCenter = 2048
    ds.WindowWidth = 3600
    # MONOCHROME1: minimum displays white, so store bone (dense) as low values.
    return (4095 - counts).astype(np.uint16) if mono1 else counts


def _us(ds: Dataset, index: int, seed: int, *, frames: int) -> np.ndarray:
    rows, cols = 192, 256
    ds.Modality = "US"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    ds.BodyPartExamined = "ABDOMEN"
    ds.BurnedInAnnotation = "YES"
    _pixel_module(ds, rows, cols, bits=8, stored=8, samples=3, photometric="RGB")
    if frames == 1:
        return ph.us_frame(rows, cols, seed, 0.7 * index, doppler=True)
    ds.NumberOfFrames = frames
    ds.FrameTime = 40.0
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.CineRate = 25
    return np.stack([ph.us_frame(rows, cols, seed + f, 0.5 * f, doppler=False)
                     for f in range(frames)])


def _xa(ds: Dataset, index: int, seed: int) -> np.ndarray:
    size, frames = 256, 8
    ds.Modality = "XA"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.PositionerPrimaryAngle = -30
    ds.PositionerSecondaryAngle = 0
    ds.KVP = 80
    ds.RadiationSetting = "GR"
    ds.NumberOfFrames = frames
    ds.FrameTime = 66.7
    ds.FrameIncrementPointer = 0x00181063
    _pixel_module(ds, size, size, bits=8, stored=8)
    return np.stack([ph.angio_frame(size, seed + f, f) for f in range(frames)])


def _sc_palette(ds: Dataset, index: int, seed: int) -> np.ndarray:
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    _pixel_module(ds, 256, 256, bits=8, stored=8, photometric="PALETTE COLOR")
    red, green, blue = ph.hot_iron_lut()
    for colour, data in (("Red", red), ("Green", green), ("Blue", blue)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", data.tobytes())
        ds[f"{colour}PaletteColorLookupTableData"].VR = "OW"
    return ph.palette_indices(256, 256)


def _sc_rgb(ds: Dataset, index: int, seed: int) -> np.ndarray:
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    _pixel_module(ds, 192, 256, bits=8, stored=8, samples=3, photometric="RGB")
    return ph.sc_colour(192, 256)


BUILDERS: dict[str, tuple[UID, Builder]] = {
    "ct_head": (CT, lambda ds, i, s: _ct(ds, i, s, head=True)),
    "ct_abdomen": (CT, lambda ds, i, s: _ct(ds, i, s, head=False)),
    "mr_brain": (MR, lambda ds, i, s: _mr(ds, i, s)),
    "mr_knee": (MR, lambda ds, i, s: _mr(ds, i, s, knee=True)),
    "cr_chest": (CR, lambda ds, i, s: _projection(ds, s, kind="chest", mono1=True, sop=CR)),
    "dx_hand_mono1": (DX, lambda ds, i, s: _projection(ds, s, kind="hand", mono1=True, sop=DX)),
    "dx_hand_mono2": (DX, lambda ds, i, s: _projection(ds, s, kind="hand", mono1=False, sop=DX)),
    "us_colour": (US, lambda ds, i, s: _us(ds, i, s, frames=1)),
    "us_cine": (US_MULTI, lambda ds, i, s: _us(ds, i, s, frames=10)),
    "xa_cine": (XA, _xa),
    "sc_palette": (SC, _sc_palette),
    "sc_rgb": (SC, _sc_rgb),
}
