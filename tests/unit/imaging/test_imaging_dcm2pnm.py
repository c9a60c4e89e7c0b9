"""The display pipeline against a real peer: dcmtk's dcm2pnm with the same window, within one grey level.

dcmtk applies the modality LUT and PS3.3 C.11.2.1.2 LINEAR, then truncates
to 8 bits; tui-pacs rounds to nearest. So for every pixel the difference
tui-pacs minus dcmtk must be 0 or 1, never negative: a stronger check than
"within one".
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import bundled, mono_dataset, ramp
from PIL import Image

from tests.support.tools import require_tool
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState, Window


def _dcm2pnm(path: Path, window: Window, out: Path) -> np.ndarray:
    executable = require_tool("dcm2pnm")
    result = subprocess.run(
        [executable, "+on", "+Ww", repr(window.center), repr(window.width), str(path), str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return np.asarray(Image.open(out)).astype(np.int64)


def _synthetic(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.dcm"
    if name == "mono1":
        ds = mono_dataset(ramp(low=0, high=4095), photometric="MONOCHROME1")
    elif name == "signed12":
        values = ramp(low=0, high=4095).astype(np.int32) - 2048
        raw = ((values & 0x0FFF) | 0x3000).astype(np.uint16)  # garbage above Bits Stored
        ds = mono_dataset(raw, bits_stored=12, signed=True)
    else:  # "rescaled": slope 0.5, intercept -1000
        ds = mono_dataset(ramp(low=0, high=4000), RescaleSlope="0.5", RescaleIntercept="-1000",
                          RescaleType="HU")
    ds.PatientName = "SYNTHETIC"
    ds.save_as(path, enforce_file_format=True)
    return path


CASES = [
    ("CT_small.dcm", Window(40, 400)),
    ("CT_small.dcm", Window(1000, 1)),
    ("CT_small.dcm", Window(1000.5, 2)),
    ("CT_small.dcm", Window(-600, 1500)),
    ("MR_small.dcm", Window(600, 1200)),
    ("MR_small_bigendian.dcm", Window(300.3, 555.5)),
    ("MR_small_RLE.dcm", Window(800, 900)),
    ("liver_1frame.dcm", Window(100, 300)),
    ("image_dfl.dcm", Window(128, 200)),
    ("rtdose_1frame.dcm", Window(1e6, 2e6)),
    ("synthetic:mono1", Window(2000, 3000)),
    ("synthetic:signed12", Window(0, 2000)),
    ("synthetic:rescaled", Window(0, 1200)),
]


@pytest.mark.parametrize(("name", "window"), CASES, ids=[f"{n}@{w.center}/{w.width}" for n, w in CASES])
def test_matches_dcm2pnm_within_one_grey_level(tmp_path: Path, name: str, window: Window) -> None:
    path = _synthetic(tmp_path, name.split(":")[1]) if name.startswith("synthetic:") else bundled(name)
    reference = _dcm2pnm(path, window, tmp_path / "dcmtk.png")
    ours = render(path, 0, ViewState(window=window)).astype(np.int64)
    assert ours.shape == reference.shape
    difference = ours - reference
    assert difference.min() >= 0 and difference.max() <= 1, (difference.min(), difference.max())
    assert len(np.unique(reference)) > 1 or window.width <= 2  # the comparison saw a real image
