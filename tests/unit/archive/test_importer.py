"""Media FSR: importing files, folders and DICOMDIR file-sets, with one line per bad file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydicom.data import get_charset_files, get_testdata_file

from tui_pacs.domain.attributes import Level
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths
from tui_pacs.store.query import Query

from .conftest import make_dataset


def test_folder_import_reports_each_bad_file_and_imports_the_rest(
        archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_instance(filename="ok1.dcm", instance=1)
    write_instance(filename="nested/deeper/ok2.dcm", instance=2)
    (source / "notes.txt").write_text("not dicom at all")
    (source / "truncated.dcm").write_bytes(write_instance(filename="t.dcm", instance=3).read_bytes()[:300])
    (source / "t.dcm").unlink()
    no_uid = make_dataset(instance=4)
    del no_uid.SOPInstanceUID
    no_uid.save_as(source / "no_uid.dcm", enforce_file_format=False)
    bad_uid = make_dataset(instance=5)
    bad_uid.SeriesInstanceUID = "1.2.abc"
    bad_uid.save_as(source / "bad_uid.dcm", enforce_file_format=False)
    (source / "unreadable.dcm").write_bytes(b"x")
    (source / "unreadable.dcm").chmod(0)

    report = import_paths(archive, [source])

    reasons = {Path(p).name: r for p, r in report.failures}
    assert report.imported == 2
    assert set(reasons) >= {"notes.txt", "truncated.dcm", "no_uid.dcm", "bad_uid.dcm"}
    assert "no SOP Instance UID" in reasons["no_uid.dcm"]
    assert "Series Instance UID" in reasons["bad_uid.dcm"]
    assert all("\n" not in r for r in reasons.values())
    assert archive.index.totals()["instance"] == 2


def test_importing_twice_adds_nothing(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    for i in range(1, 6):
        write_instance(instance=i)
    first = import_paths(archive, [tmp_path / "source"])
    second = import_paths(archive, [tmp_path / "source"])
    assert (first.imported, second.imported, second.duplicates) == (5, 0, 5)
    assert archive.index.totals()["instance"] == 5


def test_file_without_part10_header_gets_one_and_keeps_its_data_set(archive: Archive, tmp_path: Path) -> None:
    raw = get_testdata_file("no_meta.dcm")
    ds_bytes = Path(raw).read_bytes()
    report = import_paths(archive, [raw])
    if report.failures:  # pydicom's no_meta.dcm lacks UIDs in some versions; then it must say so
        assert "UID" in report.failures[0][1]
        return
    stored = next(archive.files.root.rglob("*.dcm")).read_bytes()
    assert stored[128:132] == b"DICM" and stored.endswith(ds_bytes)


def test_dicomdir_import_follows_its_records(archive: Archive) -> None:
    dicomdir = Path(get_testdata_file("DICOMDIR"))
    report = import_paths(archive, [dicomdir])
    assert report.ok, report.failures
    assert report.imported == 31  # every IMAGE record of pydicom's test file-set
    assert archive.index.totals()["instance"] == 31


def test_every_charset_file_is_found_by_its_unicode_name(archive: Archive) -> None:
    files = [Path(f) for f in get_charset_files("*.dcm")]
    report = import_paths(archive, files)
    # The two chrSQEncoding files are sequence-encoding fragments with no patient, study or
    # series at top level; they are refused with a reason. Every other file must be found.
    refused = {Path(p).name: r for p, r in report.failures}
    assert set(refused) <= {"chrSQEncoding.dcm", "chrSQEncoding1.dcm"}
    from pydicom import dcmread

    for path in files:
        if path.name in refused:
            continue
        name = str(dcmread(path).PatientName)
        assert name
        found = archive.index.find(Query(Level.STUDY, {"PatientName": name}))
        assert found, f"{path.name}: {name!r} not found"
        lower = archive.index.find(Query(Level.STUDY, {"PatientName": name.lower()}))
        assert lower == found, f"{path.name}: case-insensitive match failed"


def test_japanese_name_by_wildcard_on_ideographic_component(archive: Archive) -> None:
    import_paths(archive, [get_charset_files("chrH31.dcm")[0]])
    rows = archive.index.find(Query(Level.STUDY, {"PatientName": "*山田^太郎*"}))
    assert [r["PatientName"] for r in rows] == ["Yamada^Tarou=山田^太郎=やまだ^たろう"]


def test_large_import_through_worker_processes(archive: Archive, write_instance: Callable[..., Path],
                                               tmp_path: Path) -> None:
    from tui_pacs.store import importer

    count = importer._PROCESS_THRESHOLD + 10  # takes the process-pool path
    for i in range(1, count + 1):
        write_instance(study=1 + i // 100, instance=i, pixels=False)
    (tmp_path / "source" / "junk.bin").write_bytes(b"\x00" * 10)
    report = import_paths(archive, [tmp_path / "source"])
    assert report.imported == count and len(report.failures) == 1
    assert archive.index.totals()["instance"] == count
    assert list(archive.incoming_dir.iterdir()) == []
