"""All sixteen character sets of the DBx statement: names written in each, found by their Unicode form.

Each instance is encoded by pydicom in the given Specific Character Set, so
the bytes on disk are in that encoding; the index must hold the decoded
Unicode and match it case-insensitively (DBx: PN matching).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread

from tui_pacs.domain.attributes import Level
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths
from tui_pacs.store.query import Query

from .conftest import make_dataset

NAMES = {
    "ISO_IR 6": ("ISO_IR 6", "Doe^John"),
    "ISO_IR 100": ("ISO_IR 100", "Müller^Jürgen"),
    "ISO_IR 101": ("ISO_IR 101", "Dvořák^Antonín"),
    "ISO_IR 109": ("ISO_IR 109", "Ġużeppi^Ħanna"),
    "ISO_IR 110": ("ISO_IR 110", "Ģirts^Ķuzis"),
    "ISO_IR 144": ("ISO_IR 144", "Иванов^Иван"),
    "ISO_IR 127": ("ISO_IR 127", "قباني^لنزار"),
    "ISO_IR 126": ("ISO_IR 126", "Διονυσιος^Αλεξανδρος"),
    "ISO_IR 138": ("ISO_IR 138", "שרון^דבורה"),
    "ISO_IR 148": ("ISO_IR 148", "Öztürk^Şükrü"),
    "ISO_IR 13": ("ISO_IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    "ISO_IR 166": ("ISO_IR 166", "สมชาย^ใจดี"),
    "ISO_IR 87": ("\\ISO 2022 IR 87", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    "ISO_IR 159": ("\\ISO 2022 IR 87\\ISO 2022 IR 159", "Kuroki^Kin=黒木^丂"),  # 丂 is JIS X 0212 only
    "UTF-8": ("ISO_IR 192", "Nguyễn^Thị Hoa"),
    "GB18030": ("GB18030", "Wang^XiaoHong=王^小红"),
}


@pytest.mark.parametrize("label", list(NAMES))
def test_name_in_each_character_set_is_indexed_as_unicode(archive: Archive, tmp_path: Path, label: str) -> None:
    charset, name = NAMES[label]
    ds = make_dataset(name=name, charset=charset.split("\\") if "\\" in charset else charset)
    path = tmp_path / "x.dcm"
    ds.save_as(path, enforce_file_format=True)
    raw = path.read_bytes()
    if label not in ("ISO_IR 6",):
        assert name.encode("utf-8") not in raw or label == "UTF-8"  # really written in that encoding
    assert str(dcmread(path).PatientName) == name  # pydicom round trip as a reference

    report = import_paths(archive, [path])
    assert report.ok, report.failures
    family = name.split("^")[0]
    for probe in (name, name.lower(), family + "*", "*" + name[-2:]):
        rows = archive.index.find(Query(Level.STUDY, {"PatientName": probe}))
        assert [r["PatientName"] for r in rows] == [name], probe
