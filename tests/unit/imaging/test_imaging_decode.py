"""Decode in every transfer syntax: files made by dcmtk (a real peer) and pydicom, checked against the source."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import bundled, mono_dataset
from pydicom.encaps import generate_fragmented_frames
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from tests.support.tools import require_tool
from tui_pacs.imaging.decode import decode_frame
from tui_pacs.imaging.errors import ImagingError
from tui_pacs.imaging.lut import modality_lut
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState


def _ct_source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A 16-bit signed CT written uncompressed, and its stored values."""
    source = tmp_path / "source.dcm"
    ds = pydicom.dcmread(bundled("CT_small.dcm"))
    ds.save_as(source)
    return source, ds.pixel_array.copy()


def _mono8_source(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """An 8-bit greyscale image for the 8-bit-only JPEG baseline process."""
    rng = np.random.default_rng(7)
    pixels = (np.add.outer(np.arange(64), np.arange(64)) * 2 + rng.integers(0, 8, (64, 64))).astype(np.uint8)
    ds = mono_dataset(pixels)
    ds.PatientName = "TEST"
    path = tmp_path / "mono8.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, pixels


# (dcmtk tool, its options, expected transfer syntax, lossless?, which source)
DCMTK_CASES = [
    ("dcmconv", ["+tb"], ExplicitVRBigEndian, True, "ct"),
    ("dcmconv", ["+td"], DeflatedExplicitVRLittleEndian, True, "ct"),
    ("dcmcrle", [], RLELossless, True, "ct"),
    ("dcmcjpeg", ["+e1"], JPEGLosslessSV1, True, "ct"),
    ("dcmcjpeg", ["+el", "+sv", "6"], JPEGLossless, True, "ct"),
    ("dcmcjpeg", ["+ee"], JPEGExtended12Bit, False, "ct"),
    ("dcmcjpeg", ["+eb"], JPEGBaseline8Bit, False, "mono8"),
    ("dcmcjpls", ["+el"], JPEGLSLossless, True, "ct"),
    ("dcmcjpls", ["+en"], JPEGLSNearLossless, False, "mono8"),
]


@pytest.mark.parametrize(("tool", "options", "syntax", "lossless", "source"), DCMTK_CASES,
                         ids=[f"{case[0]}{''.join(case[1])}" for case in DCMTK_CASES])
def test_dcmtk_encoded_syntaxes_decode(tmp_path: Path, tool: str, options: list[str], syntax: str,
                                       lossless: bool, source: str) -> None:
    executable = require_tool(tool)
    src, expected = _ct_source(tmp_path) if source == "ct" else _mono8_source(tmp_path)
    out = tmp_path / "encoded.dcm"
    result = subprocess.run([executable, *options, str(src), str(out)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert pydicom.dcmread(out, stop_before_pixels=True).file_meta.TransferSyntaxUID == syntax
    frame = decode_frame(out, 0)
    assert frame.pixels.shape == expected.shape
    if lossless:
        assert np.array_equal(frame.pixels, expected)
    else:
        # Lossy 12-bit JPEG of 16-bit data makes dcmtk rescale the stored values (and say so in
        # Rescale Slope/Intercept), so compare what they mean: the modality LUT output.
        source_ds = pydicom.dcmread(src)
        original = modality_lut(expected.astype(np.float64), source_ds)
        error = np.abs(modality_lut(frame.pixels.astype(np.float64), frame.dataset) - original)
        assert 0 < error.mean() < 0.02 * (original.max() - original.min())
    assert render(out, 0, ViewState()).dtype == np.uint8


@pytest.mark.parametrize(("syntax", "lossless"), [(JPEG2000Lossless, True), (JPEG2000, False)])
def test_jpeg2000_lossless_and_lossy_decode(tmp_path: Path, syntax: str, lossless: bool) -> None:
    ds = pydicom.dcmread(bundled("CT_small.dcm"))
    expected = ds.pixel_array.copy()
    if lossless:
        ds.compress(syntax, encoding_plugin="pylibjpeg")
    else:
        ds.compress(syntax, encoding_plugin="pylibjpeg", j2k_psnr=[80])
    path = tmp_path / "j2k.dcm"
    ds.save_as(path)
    decoded = decode_frame(path, 0).pixels
    error = np.abs(decoded.astype(np.int64) - expected)
    assert (error.max() == 0) if lossless else (0 < error.mean() < 20)


@pytest.mark.parametrize("name", ["MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
                                  "MR_small_implicit.dcm", "MR_small_jp2klossless.dcm",
                                  "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm"])
def test_pydicom_mr_variants_equal_the_uncompressed_original(name: str) -> None:
    reference = decode_frame(bundled("MR_small.dcm")).pixels
    assert np.array_equal(decode_frame(bundled(name)).pixels, reference)


def test_one_frame_is_read_without_the_others(tmp_path: Path) -> None:
    """Break frame 1's RLE fragment: frame 2 still decodes, so frames are decoded one at a time."""
    ds = pydicom.dcmread(bundled("SC_rgb_rle_2frame.dcm"))
    whole = ds.pixel_array.copy()
    frames = [b"".join(f) for f in generate_fragmented_frames(ds.PixelData, number_of_frames=2)]
    assert len(frames) == 2
    broken = bytearray(ds.PixelData)
    start = bytes(ds.PixelData).index(frames[0])
    broken[start : start + 64] = b"\0" * 64  # the RLE header of frame 1: no segments
    ds.PixelData = bytes(broken)
    path = tmp_path / "broken.dcm"
    ds.save_as(path)
    assert np.array_equal(decode_frame(path, 1).pixels, whole[1])
    with pytest.raises(ImagingError):
        decode_frame(path, 0)


def test_frames_of_an_uncompressed_multiframe(tmp_path: Path) -> None:
    frames = np.arange(5 * 4 * 4, dtype=np.uint16).reshape(5, 4, 4)
    ds = mono_dataset(frames)
    path = tmp_path / "multi.dcm"
    ds.save_as(path, enforce_file_format=True)
    for index in range(5):
        decoded = decode_frame(path, index)
        assert decoded.number_of_frames == 5
        assert np.array_equal(decoded.pixels, frames[index])
    with pytest.raises(ImagingError, match="frame 6 does not exist"):
        decode_frame(path, 5)
    assert np.array_equal(decode_frame(ds, 3).pixels, frames[3])


def test_missing_pixel_data_gives_one_reason() -> None:
    with pytest.raises(ImagingError, match="no pixel data: it is a RT Plan Storage object"):
        decode_frame(bundled("rtplan.dcm"))


def test_unreadable_file_gives_one_reason(tmp_path: Path) -> None:
    path = tmp_path / "not-dicom.dcm"
    path.write_bytes(b"hello")
    with pytest.raises(ImagingError):
        render(path, 0, ViewState())


def test_dcmtk_tools_are_present_when_ci_says_so() -> None:
    """Keeps the dcmtk cases honest: they may skip on a laptop, never in CI."""
    for tool in ("dcmconv", "dcmcrle", "dcmcjpeg", "dcmcjpls"):
        assert shutil.which(tool) or not __import__("os").environ.get("CI"), f"{tool} missing in CI"
