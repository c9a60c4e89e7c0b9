"""``tui-pacs dump`` through the real command line, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.data import get_charset_files, get_testdata_file

from tests.support.tools import sample_files


def dump(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TUI_PACS_HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "tui_pacs", "dump", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=60, check=False)


def test_dump_shows_meta_then_dataset_with_decoded_names(tmp_path: Path) -> None:
    result = dump(tmp_path, get_charset_files("chrH31.dcm")[0])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "# File meta information"
    assert "(0010,0010) PN PatientName  [Yamada^Tarou=山田^太郎=やまだ^たろう]" in lines
    assert result.stderr == ""


def test_dump_nests_sequences(tmp_path: Path) -> None:
    result = dump(tmp_path, get_testdata_file("rtplan.dcm"))
    assert result.returncode == 0, result.stderr
    assert "(300A,0010) SQ DoseReferenceSequence  (2 items)" in result.stdout
    assert "\n  > item 2\n" in result.stdout


def test_dump_summarises_compressed_pixel_data(tmp_path: Path) -> None:
    jpeg_ls = next(p for p in sample_files("local") if "TP0002" in p.parts)
    result = dump(tmp_path, jpeg_ls)
    assert result.returncode == 0, result.stderr
    assert "<pixel data: 256x256x1, 16 bit, MONOCHROME2, JPEG-LS Lossless Image Compression, " \
        in result.stdout


def test_dump_json_is_the_dicom_json_model_without_bulk_data(tmp_path: Path) -> None:
    result = dump(tmp_path, "--json", get_testdata_file("CT_small.dcm"))
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert model["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "CompressedSamples^CT1"}]}
    assert model["7FE00010"] == {"vr": "OW"}


@pytest.mark.parametrize("kind", ["truncated", "not dicom", "missing"])
def test_bad_files_give_one_error_line_and_status_1(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.dcm"
    if kind == "truncated":
        data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
        path.write_bytes(data[:1000])
    elif kind == "not dicom":
        path.write_text("hello, this is not DICOM\n")
    result = dump(tmp_path, path)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert f"{path}: " in lines[0]
    assert "Traceback" not in result.stderr
