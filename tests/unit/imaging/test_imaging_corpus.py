"""Every image file pydicom bundles renders; the others fail with one clear, expected reason."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom.data
import pytest

from tui_pacs.imaging.errors import ImagingError
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState

TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"

# File -> the words its ImagingError must contain. Everything else must render.
CANNOT_RENDER = {
    "ExplVR_BigEndNoMeta.dcm": "no pixel data",
    "ExplVR_LitEndNoMeta.dcm": "no pixel data",
    "UN_sequence.dcm": "no pixel data",
    "empty_charset_LEI.dcm": "no pixel data",
    "no_meta.dcm": "no pixel data",
    "no_meta_group_length.dcm": "no pixel data",
    "priv_SQ.dcm": "no pixel data",
    "reportsi.dcm": "no pixel data",
    "reportsi_with_empty_number_tags.dcm": "no pixel data",
    "rtplan.dcm": "no pixel data",
    "rtplan_truncated.dcm": "no pixel data",
    "rtstruct.dcm": "no pixel data",
    "test-SR.dcm": "no pixel data",
    "waveform_ecg.dcm": "no pixel data",
    # Broken on purpose (see pydicom's test_files/README.txt):
    "JPEG-lossy.dcm": "misplaced marker",  # a JPEG stream with a bad scan header
    "JPEG2000-embedded-sequence-delimiter.dcm": "failed to read the header",  # J2K bytes overwritten
    "MR_truncated.dcm": "less than expected",  # pixel data cut short
    "badVR.dcm": "invalid literal",  # Rows is not a number
    "meta_missing_tsyntax.dcm": "Bits Allocated",  # pixel data without the Image Pixel module
    "nested_priv_SQ.dcm": "Bits Allocated",
}


def _dicom_files() -> list[Path]:
    return sorted(path for path in TEST_FILES.glob("*.dcm"))


def test_the_corpus_is_there() -> None:
    assert len(_dicom_files()) > 70
    assert set(CANNOT_RENDER) <= {path.name for path in _dicom_files()}


@pytest.mark.parametrize("path", _dicom_files(), ids=lambda path: path.name)
def test_bundled_file(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path.name in CANNOT_RENDER:
            with pytest.raises(ImagingError) as caught:
                render(path, 0, ViewState())
            assert CANNOT_RENDER[path.name] in caught.value.message
            assert "\n" not in caught.value.message
            return
        image = render(path, 0, ViewState(fit=(200, 200)))
    assert image.dtype == np.uint8
    assert image.ndim in (2, 3)
    assert max(image.shape[:2]) <= 200
    # Never a flat square: a real image spreads over more than one grey.
    assert int(image.max()) - int(image.min()) > 32, f"{path.name} renders nearly flat"
