"""Colour: RGB in both planar configurations, YBR forms, PALETTE COLOR, more than 8 bits per sample."""

from __future__ import annotations

import numpy as np
import pydicom
from conftest import bundled
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState, Window

RNG = np.random.default_rng(3)
RGB = RNG.integers(0, 256, (6, 8, 3)).astype(np.uint8)


def _colour_dataset(samples: np.ndarray, photometric: str, planar: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns = samples.shape[:2]
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = photometric
    ds.PlanarConfiguration = planar
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    data = samples.transpose(2, 0, 1) if planar == 1 else samples
    ds.PixelData = np.ascontiguousarray(data).tobytes()
    return ds


def _rgb_to_ybr_full(rgb: np.ndarray) -> np.ndarray:
    """PS3.3 C.7.6.3.1.2, YBR_FULL from RGB (written out here, independent of pydicom)."""
    r, g, b = (rgb[..., k].astype(np.float64) for k in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.1687 * r - 0.3313 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.4187 * g - 0.0813 * b + 128
    return np.clip(np.rint(np.stack([y, cb, cr], axis=-1)), 0, 255).astype(np.uint8)


def test_rgb_planar_configuration_0_and_1_agree() -> None:
    by_pixel = render(_colour_dataset(RGB, "RGB", 0), 0, ViewState())
    by_plane = render(_colour_dataset(RGB, "RGB", 1), 0, ViewState())
    assert np.array_equal(by_pixel, RGB)
    assert np.array_equal(by_plane, RGB)


def test_ybr_full_becomes_rgb() -> None:
    shown = render(_colour_dataset(_rgb_to_ybr_full(RGB), "YBR_FULL", 0), 0, ViewState())
    assert np.abs(shown.astype(int) - RGB).max() <= 2


def test_ybr_full_422_matches_the_rgb_original() -> None:
    """pydicom's two copies of one test image: YBR_FULL_422 (chroma halved) and RGB."""
    ybr = render(bundled("SC_ybr_full_422_uncompressed.dcm"), 0, ViewState()).astype(int)
    rgb = render(bundled("SC_rgb_rle.dcm"), 0, ViewState()).astype(int)
    assert np.abs(ybr - rgb).mean() < 1.5


def test_more_than_8_bits_per_sample_scale_to_8() -> None:
    reference = render(bundled("SC_rgb_rle.dcm"), 0, ViewState())
    assert np.array_equal(render(bundled("SC_rgb_rle_16bit.dcm"), 0, ViewState()), reference)
    assert np.array_equal(render(bundled("SC_rgb_rle_32bit.dcm"), 0, ViewState()), reference)


def test_jpeg_ybr_and_rgb_variants_show_the_same_picture() -> None:
    reference = render(bundled("SC_rgb_rle.dcm"), 0, ViewState()).astype(int)
    for name in ("SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_+eb+cr.dcm"):
        shown = render(bundled(name), 0, ViewState()).astype(int)
        assert np.abs(shown - reference).mean() < 3, name


def test_palette_colour_uses_the_tables() -> None:
    path = bundled("examples_palette.dcm")
    ds = pydicom.dcmread(path)
    indices = ds.pixel_array
    entries, first, bits = (int(v) for v in ds.RedPaletteColorLookupTableDescriptor)
    assert bits == 16
    expected = np.empty(indices.shape + (3,), dtype=np.uint8)
    for channel, colour in enumerate(("Red", "Green", "Blue")):
        table = np.frombuffer(getattr(ds, f"{colour}PaletteColorLookupTableData"), dtype="<u2")
        positions = np.clip(indices.astype(int) - first, 0, entries - 1)
        expected[..., channel] = np.rint(table[positions].astype(np.float64) * 255 / 65535).astype(np.uint8)
    shown = render(path, 0, ViewState())
    assert np.abs(shown.astype(int) - expected).max() <= 1
    assert len(np.unique(shown.reshape(-1, 3), axis=0)) > 20


def test_colour_invert_and_window() -> None:
    ds = _colour_dataset(RGB, "RGB", 0)
    assert np.array_equal(render(ds, 0, ViewState(invert=True)), 255 - RGB)
    narrow = render(ds, 0, ViewState(window=Window(128, 2)))
    assert set(np.unique(narrow)) <= {0, 255}
