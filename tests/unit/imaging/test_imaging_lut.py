"""The greyscale pipeline (PS3.3 C.11): modality LUT, VOI, presentation, checked value by value."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mono_dataset, ramp
from pydicom.dataset import Dataset

from tui_pacs.imaging.lut import (
    apply_window,
    default_window,
    grey_to_display,
    modality_lut,
    window_presets,
)
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState, Window


def test_linear_window_follows_c11_2_1_2_1() -> None:
    # c=100, w=11: x <= 94.5 -> 0; x > 104.5 -> 255; between, ((x - 99.5)/10 + 0.5) * 255.
    values = np.array([94.0, 94.5, 95.0, 99.5, 104.0, 104.5, 105.0])
    out = apply_window(values, Window(100, 11), "LINEAR")
    expected = [0, 0, 12.75, 127.5, 242.25, 255, 255]
    assert out == pytest.approx(expected)


def test_linear_exact_and_sigmoid_follow_c11_2_1_3() -> None:
    values = np.array([50.0, 100.0, 150.0])
    exact = apply_window(values, Window(100, 100), "LINEAR_EXACT")
    assert exact == pytest.approx([0.0, 127.5, 255.0])
    sigmoid = apply_window(values, Window(100, 100), "SIGMOID")
    assert sigmoid == pytest.approx([255 / (1 + np.exp(2)), 127.5, 255 / (1 + np.exp(-2))])


def test_rescale_slope_and_intercept_apply_before_the_window() -> None:
    # Stored 1024 with intercept -1024 is 0 HU; LINEAR with c=0, w=101: (0.5/100 + 0.5) * 255 = 128.8.
    pixels = np.full((4, 4), 1024, dtype=np.uint16)
    ds = mono_dataset(pixels, RescaleSlope="1", RescaleIntercept="-1024", WindowCenter="0", WindowWidth="101")
    assert np.all(render(ds, 0, ViewState()) == 129)
    ds.RescaleSlope = "2"  # 2*1024-1024 = 1024 HU: far above the window
    assert np.all(render(ds, 0, ViewState()) == 255)


def test_modality_lut_sequence_replaces_rescale() -> None:
    item = Dataset()
    item.LUTDescriptor = [4, 10, 16]  # 4 entries for stored 10..13
    item.LUTData = [0, 100, 200, 300]
    item.ModalityLUTType = "US"
    ds = mono_dataset(np.array([[9, 10, 11, 12, 13, 14]], dtype=np.uint16), RescaleSlope="5")
    ds.ModalityLUTSequence = [item]
    out = modality_lut(np.array([9.0, 10, 11, 12, 13, 14]), ds)
    assert out.tolist() == [0, 0, 100, 200, 300, 300]  # clamped outside the table (C.11.1.1)


def test_voi_lut_sequence_is_used_without_a_window() -> None:
    item = Dataset()
    item.LUTDescriptor = [3, 0, 8]
    item.LUTData = [255, 0, 128]  # a deliberately non-monotonic LUT proves it is used
    ds = mono_dataset(np.array([[0, 1, 2, 7]], dtype=np.uint8))
    ds.VOILUTSequence = [item]
    assert render(ds, 0, ViewState()).tolist() == [[255, 0, 128, 128]]


def test_several_windows_become_presets_with_explanations() -> None:
    ds = mono_dataset(ramp(), WindowCenter=["40", "300"], WindowWidth=["400", "1500"],
                      WindowCenterWidthExplanation=["SOFT TISSUE", "BONE"])
    presets = window_presets(ds)
    assert [(w.center, w.width, w.explanation) for w in presets] == [(40, 400, "SOFT TISSUE"), (300, 1500, "BONE")]
    first = render(ds, 0, ViewState())
    assert np.array_equal(first, render(ds, 0, ViewState(window=presets[0])))
    assert not np.array_equal(first, render(ds, 0, ViewState(window=presets[1])))


def test_voi_lut_function_from_the_object_and_overridden() -> None:
    ds = mono_dataset(ramp(low=0, high=200), WindowCenter="100", WindowWidth="100", VOILUTFunction="SIGMOID")
    sigmoid = render(ds, 0, ViewState())
    assert sigmoid.min() > 0 and sigmoid.max() < 255  # a sigmoid never reaches the ends
    linear = render(ds, 0, ViewState(voi_function="LINEAR"))
    assert linear.min() == 0 and linear.max() == 255


def test_default_window_is_never_a_flat_square() -> None:
    # A small bright object on a large flat background, no window in the object.
    pixels = np.zeros((100, 100), dtype=np.int16)
    pixels[40:45, 40:45] = 3000
    out = render(mono_dataset(pixels), 0, ViewState())
    assert out[0, 0] == 0 and out[42, 42] == 255
    # A typical CT: percentiles cut the outliers, not the anatomy.
    rng = np.random.default_rng(1)
    ct = rng.normal(40, 200, (128, 128)).astype(np.int16)
    ct[0, 0] = 30000
    out = render(mono_dataset(ct), 0, ViewState())
    assert 100 < out.mean() < 155
    window = default_window(ct.astype(float))
    assert window.width < 2000


def test_monochrome1_is_inverted_and_presentation_lut_shape_decides() -> None:
    pixels = ramp(low=0, high=255, dtype="uint8")
    mono2 = render(mono_dataset(pixels), 0, ViewState())
    mono1 = render(mono_dataset(pixels, photometric="MONOCHROME1"), 0, ViewState())
    assert np.array_equal(mono1, 255 - mono2)
    explicit_identity = mono_dataset(pixels, photometric="MONOCHROME1", PresentationLUTShape="IDENTITY")
    assert np.array_equal(render(explicit_identity, 0, ViewState()), mono2)
    inverse = mono_dataset(pixels, PresentationLUTShape="INVERSE")
    assert np.array_equal(render(inverse, 0, ViewState()), 255 - mono2)
    assert np.array_equal(render(mono_dataset(pixels), 0, ViewState(invert=True)), 255 - mono2)


def test_signed_pixels_with_bits_stored_below_bits_allocated() -> None:
    # 12 bits stored in 16 allocated, two's complement; the high 4 bits hold garbage (an overlay).
    values = np.array([[-2048, -1, 0, 2047]], dtype=np.int16)
    raw = (values.astype(np.int32) & 0x0FFF) | 0xF000
    ds = mono_dataset(raw.astype(np.uint16), bits_stored=12, signed=True, WindowCenter="0", WindowWidth="4096")
    out = render(ds, 0, ViewState())
    assert out[0].tolist() == [0, 127, 128, 255]


def test_float_and_constant_images_do_not_crash() -> None:
    ds = mono_dataset(np.full((8, 8), 7, dtype=np.uint16))
    assert render(ds, 0, ViewState()).shape == (8, 8)
    values = np.array([[0.0, 0.5, np.nan, 1.0]])
    out = grey_to_display(values, Dataset(), ViewState())
    assert out[0, 0] == 0 and out[0, 3] == 255
