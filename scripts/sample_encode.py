"""Write a dataset in a chosen transfer syntax, with the encoder that best fits it.

pydicom 3 encodes RLE and JPEG 2000 itself and writes Implicit VR, Deflated
and Explicit VR Little Endian; Pillow makes JPEG baseline bytes that we
encapsulate; dcmtk does JPEG lossless (process 14 SV1), JPEG-LS and the one
Big Endian file, because pydicom has no encoder for the first two and does
not byte-swap pixel data when writing Big Endian. Every dcmtk tool runs with
``+un`` (never assign new UIDs) so the UIDs stay the ones we chose.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

SHORT_NAMES: dict[str, str] = {
    ExplicitVRLittleEndian: "Explicit VR Little Endian",
    ImplicitVRLittleEndian: "Implicit VR Little Endian",
    DeflatedExplicitVRLittleEndian: "Deflated Explicit VR Little Endian",
    ExplicitVRBigEndian: "Explicit VR Big Endian",
    RLELossless: "RLE Lossless",
    JPEGBaseline8Bit: "JPEG Baseline (process 1)",
    JPEGLosslessSV1: "JPEG Lossless SV1 (process 14)",
    JPEGLSLossless: "JPEG-LS Lossless",
    JPEG2000Lossless: "JPEG 2000 Lossless",
    JPEG2000: "JPEG 2000 (lossy)",
}


def _dcmtk(tool: str, *args: str) -> None:
    exe = shutil.which(tool)
    if exe is None:
        raise SystemExit(f"{tool} (dcmtk) is needed: apt-get install dcmtk")
    env = dict(os.environ, TCP_NODELAY="1")
    subprocess.run([exe, *args], check=True, env=env, capture_output=True)


def _save(ds: Dataset, path: Path, syntax: UID) -> None:
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(path, enforce_file_format=True)


def _via_dcmtk(ds: Dataset, path: Path, tool: str, *options: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.dcm"
        _save(ds, source, ExplicitVRLittleEndian)
        _dcmtk(tool, *options, str(source), str(path))


def _jpeg_baseline(ds: Dataset, pixels: np.ndarray) -> None:
    """Encode each frame with Pillow; colour becomes YBR_FULL_422 (4:2:2 subsampled)."""
    frames = pixels if int(getattr(ds, "NumberOfFrames", 1)) > 1 else pixels[None, ...]
    colour = ds.SamplesPerPixel == 3
    encoded = []
    for frame in frames:
        buffer = io.BytesIO()
        mode = "RGB" if colour else "L"
        # subsampling=1 is 4:2:2 in Pillow: the stream stores YCbCr with halved chroma.
        Image.fromarray(frame, mode=mode).save(buffer, "JPEG", quality=90, subsampling=1)
        encoded.append(buffer.getvalue())
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    if colour:
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.PlanarConfiguration = 0
    raw = pixels.size * pixels.itemsize
    _mark_lossy(ds, raw / sum(len(f) for f in encoded), "ISO_10918_1")


def _mark_lossy(ds: Dataset, ratio: float, method: str) -> None:
    # PS3.3 C.7.6.1.1.5: lossy compression must be recorded in the image.
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionRatio = f"{ratio:.2f}"
    ds.LossyImageCompressionMethod = method


def write(ds: Dataset, pixels: np.ndarray, syntax: UID, path: Path) -> None:
    """Store ``pixels`` in ``ds`` and write it to ``path`` in ``syntax``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OW" if ds.BitsAllocated > 8 else "OB"
    if syntax in (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian):
        _save(ds, path, syntax)
    elif syntax == ExplicitVRBigEndian:
        _via_dcmtk(ds, path, "dcmconv", "+tb")
    elif syntax == RLELossless:
        ds.compress(RLELossless, pixels, encoding_plugin="pydicom", generate_instance_uid=False)
        _save(ds, path, syntax)
    elif syntax == JPEG2000Lossless:
        ds.compress(JPEG2000Lossless, pixels, generate_instance_uid=False)
        _save(ds, path, syntax)
    elif syntax == JPEG2000:
        raw = pixels.size * pixels.itemsize
        ds.compress(JPEG2000, pixels, j2k_cr=[12], generate_instance_uid=False)
        _mark_lossy(ds, raw / len(ds.PixelData), "ISO_15444_1")
        _save(ds, path, syntax)
    elif syntax == JPEGBaseline8Bit:
        _jpeg_baseline(ds, pixels)
        _save(ds, path, syntax)
    elif syntax == JPEGLosslessSV1:
        _via_dcmtk(ds, path, "dcmcjpeg", "+e1", "+un")
    elif syntax == JPEGLSLossless:
        _via_dcmtk(ds, path, "dcmcjpls", "+el", "+un")
    else:  # pragma: no cover - the catalogue only uses the syntaxes above
        raise ValueError(f"no encoder for {syntax}")
