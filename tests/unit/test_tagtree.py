"""The tag tree: structure, decoded text, summaries and truncation checks."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.data import get_charset_files, get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from tui_pacs.store.tagtree import build_tree, find_truncation, format_value, render_lines


def _dataset_with_sequence() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Doe^John"
    ds.PatientID = "ID1"
    item1, item2 = Dataset(), Dataset()
    item1.CodeValue = "A1"
    item2.CodeValue = "B2"
    inner = Dataset()
    inner.CodeMeaning = "nested"
    item2.ConceptNameCodeSequence = Sequence([inner])
    ds.ProcedureCodeSequence = Sequence([item1, item2])
    return ds


def test_sequences_become_items_with_children() -> None:
    tree = build_tree(_dataset_with_sequence())
    seq = next(n for n in tree.dataset if n.vr == "SQ")
    assert seq.kind == "sequence"
    assert seq.value == "(2 items)"
    assert [i.kind for i in seq.children] == ["item", "item"]
    assert seq.children[1].children[1].keyword == "ConceptNameCodeSequence"


def test_rendered_lines_indent_by_depth_and_mark_items() -> None:
    lines = render_lines(build_tree(_dataset_with_sequence()))
    assert "(0010,0010) PN PatientName  [Doe^John]" in lines
    assert "(0008,1032) SQ ProcedureCodeSequence  (2 items)" in lines
    assert "  > item 1" in lines
    assert "    (0008,0100) SH CodeValue  [A1]" in lines
    assert "        (0008,0104) LO CodeMeaning  [nested]" in lines


def test_file_meta_comes_first_and_names_the_syntax() -> None:
    ds = _dataset_with_sequence()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    lines = render_lines(build_tree(ds))
    assert lines[0] == "# File meta information"
    assert lines[1].startswith("(0002,0010) UI TransferSyntaxUID")
    assert "# Data set (Explicit VR Little Endian)" in lines
    assert lines.index("# Data set (Explicit VR Little Endian)") < lines.index(
        "(0010,0010) PN PatientName  [Doe^John]")


def test_names_are_decoded_with_the_specific_character_set() -> None:
    ds = pydicom.dcmread(get_charset_files("chrH31.dcm")[0])
    lines = render_lines(build_tree(ds))
    assert "(0010,0010) PN PatientName  [Yamada^Tarou=山田^太郎=やまだ^たろう]" in lines


def test_long_values_are_cut_and_line_breaks_kept_on_one_line() -> None:
    ds = Dataset()
    ds.StudyDescription = "x" * 60
    ds.AdditionalPatientHistory = "first line\r\nsecond line"
    desc, history = (format_value(ds[t], max_value=20) for t in ("StudyDescription",
                                                                 "AdditionalPatientHistory"))
    assert desc == "[" + "x" * 17 + "...]"
    assert "\n" not in history and "\r" not in history
    assert format_value(ds["StudyDescription"], max_value=0) == "[" + "x" * 60 + "]"


def test_binary_values_are_summarised() -> None:
    ds = Dataset()
    ds.add_new(0x00091010, "OB", bytes(range(20)))
    assert format_value(ds[0x00091010]) == "<20 bytes: 00 01 02 03 04 05 06 07 ...>"


@pytest.mark.parametrize(("name", "expected"), [
    ("CT_small.dcm", ("<pixel data: 128x128x1, 16 bit, MONOCHROME2, Explicit VR Little Endian, "
                      "32768 bytes>")),
    ("MR_small_jp2klossless.dcm", "JPEG 2000 Image Compression (Lossless Only)"),
])
def test_pixel_data_is_summarised_with_geometry_and_syntax(name: str, expected: str) -> None:
    ds = pydicom.dcmread(get_testdata_file(name))
    pixel_line = next(line for line in render_lines(build_tree(ds)) if line.startswith("(7FE0,0010)"))
    assert expected in pixel_line


def test_a_complete_file_is_not_truncated() -> None:
    assert find_truncation(pydicom.dcmread(get_testdata_file("CT_small.dcm"))) is None


def test_a_file_cut_in_its_pixel_data_is_reported() -> None:
    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    ds = pydicom.dcmread(io.BytesIO(data[:-500]))
    reason = find_truncation(ds)
    assert reason is not None and "(7FE0,0010)" in reason


def test_native_pixel_data_shorter_than_the_image_is_reported() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.PixelData = ds.PixelData[:100]
    assert "needs 32768" in (find_truncation(ds) or "")
