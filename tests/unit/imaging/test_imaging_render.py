"""The one render function: purity, frame choice, zoom to fit, aspect ratio, same result from path and data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import bundled, mono_dataset, ramp

from tui_pacs.imaging.errors import ImagingError
from tui_pacs.imaging.render import render
from tui_pacs.imaging.sizing import fit_size
from tui_pacs.imaging.viewstate import ViewState, Window


def test_path_and_dataset_render_the_same() -> None:
    path = bundled("CT_small.dcm")
    assert np.array_equal(render(path, 0, ViewState()), render(pydicom.dcmread(path), 0, ViewState()))


def test_render_does_not_change_its_inputs() -> None:
    ds = pydicom.dcmread(bundled("CT_small.dcm"))
    before = ds.to_json_dict()
    view = ViewState(window=Window(40, 400), fit=(50, 50))
    first = render(ds, 0, view)
    assert ds.to_json_dict() == before
    assert np.array_equal(first, render(ds, 0, view))


def test_frame_choice(tmp_path: Path) -> None:
    frames = np.stack([np.full((4, 4), value, dtype=np.uint8) for value in (0, 100, 200)])
    ds = mono_dataset(frames, WindowCenter="127.5", WindowWidth="256")
    shown = [int(render(ds, index, ViewState())[0, 0]) for index in range(3)]
    assert shown == [0, 100, 200]
    with pytest.raises(ImagingError):
        render(ds, 3, ViewState())


def test_zoom_to_fit_keeps_shape_and_scales_up_and_down() -> None:
    ds = mono_dataset(ramp(height=32, width=64))
    assert render(ds, 0, ViewState(fit=(16, 100))).shape == (8, 16)
    assert render(ds, 0, ViewState(fit=(1000, 100))).shape == (100, 200)
    assert render(ds, 0, ViewState()).shape == (32, 64)


def test_non_square_pixels_display_undistorted() -> None:
    # Rows 2 mm apart, columns 1 mm: each stored row is twice as tall as a column is wide.
    ds = mono_dataset(ramp(height=32, width=64), PixelSpacing=["2", "1"])
    assert render(ds, 0, ViewState(fit=(64, 1000))).shape == (64, 64)


def test_fit_size_edge_cases() -> None:
    assert fit_size(0, 10, 100, 100) == (0, 0)
    assert fit_size(10, 10, 0, 0) == (1, 1)
    assert fit_size(512, 512, 800, 480) == (480, 480)


def test_window_parse() -> None:
    assert Window.parse("40/400") == Window(40, 400)
    assert Window.parse("-600/1500").center == -600
    with pytest.raises(ValueError):
        Window.parse("40")
    assert Window(0, 0).width == 1
