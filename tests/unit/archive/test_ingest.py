"""Putting instances into the archive: durable, validated, duplicates by policy, nothing half-indexed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tui_pacs.config.model import ArchiveSettings, DuplicatePolicy
from tui_pacs.domain.attributes import Level
from tui_pacs.domain.errors import InvalidUID
from tui_pacs.store.archive import Archive
from tui_pacs.store.errors import NotDicom, OutOfResources
from tui_pacs.store.files import FileStore
from tui_pacs.store.query import Query

from .conftest import ROOT, make_dataset


def stage(archive: Archive, source: Path) -> Path:
    with source.open("rb") as handle:
        return archive.files.copy_to_temporary(handle)


def test_ingest_places_bytes_unchanged_and_indexes(archive: Archive, write_instance: Callable[..., Path]) -> None:
    source = write_instance()
    stored = archive.ingest_file(stage(archive, source), source_ae="MODALITY1")
    final = archive.files.root / stored.path
    assert final.read_bytes() == source.read_bytes()
    assert stored.path == f"{ROOT}.1/{ROOT}.1.1/{ROOT}.1.1.1.dcm"
    row = archive.index.find(Query(Level.IMAGE, {"_source_ae": "", "_file_size": "", "TransferSyntaxUID": ""}))[0]
    assert row["_source_ae"] == "MODALITY1"
    assert row["_file_size"] == source.stat().st_size
    assert row["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"
    assert list(archive.incoming_dir.iterdir()) == []


def test_duplicate_kept_by_default(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    first = write_instance(filename="a.dcm")
    archive.ingest_file(stage(archive, first))
    original = (archive.files.root / f"{ROOT}.1/{ROOT}.1.1/{ROOT}.1.1.1.dcm").read_bytes()
    changed = make_dataset(description="CHANGED")
    changed.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    outcome = archive.ingest_file(stage(archive, tmp_path / "b.dcm"))
    assert outcome.duplicate and not outcome.replaced
    assert (archive.files.root / outcome.path).read_bytes() == original
    assert archive.index.totals()["instance"] == 1
    assert list(archive.incoming_dir.iterdir()) == []


def test_duplicate_replaced_when_configured(paths, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    archive = Archive(paths.index_file, paths.store_dir, ArchiveSettings(duplicates=DuplicatePolicy.REPLACE))
    archive.files.ensure()
    archive.index.open()
    archive.ingest_file(stage(archive, write_instance(filename="a.dcm")))
    changed = make_dataset(description="CHANGED")
    changed.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    outcome = archive.ingest_file(stage(archive, tmp_path / "b.dcm"))
    assert outcome.replaced
    rows = archive.index.find(Query(Level.STUDY, {"StudyDescription": "", "NumberOfStudyRelatedInstances": ""}))
    assert rows == [{"StudyDescription": "HEAD", "NumberOfStudyRelatedInstances": 1,
                     "StudyInstanceUID": f"{ROOT}.1"}]  # study attributes come from the first instance
    assert (archive.files.root / outcome.path).read_bytes() == (tmp_path / "b.dcm").read_bytes()
    archive.close()


def test_duplicate_sent_under_another_series_leaves_no_file(archive: Archive, tmp_path: Path) -> None:
    """Its name is free (another series directory), so it is placed, then found in the index:
    the copy placed for it goes again, the stored instance keeps its file."""
    ds = make_dataset()
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    first = archive.ingest_file(stage(archive, tmp_path / "a.dcm"))
    moved = make_dataset()
    moved.SeriesInstanceUID = f"{ROOT}.1.9"
    moved.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    again = archive.ingest_file(stage(archive, tmp_path / "b.dcm"))
    assert again.duplicate and not again.replaced and again.path == first.path
    stray = archive.files.root / f"{ROOT}.1/{ROOT}.1.9/{ROOT}.1.1.1.dcm"
    assert not stray.exists()
    assert (archive.files.root / first.path).read_bytes() == (tmp_path / "a.dcm").read_bytes()
    assert archive.index.totals()["instance"] == 1


def test_a_file_left_unindexed_by_a_crash_is_replaced(archive: Archive, write_instance: Callable[..., Path]) -> None:
    """A name taken by a file no row points at (a crash between the rename and the commit):
    the instance is stored over it and indexed."""
    source = write_instance()
    leftover = archive.files.root / f"{ROOT}.1/{ROOT}.1.1/{ROOT}.1.1.1.dcm"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a file from before the crash")
    stored = archive.ingest_file(stage(archive, source))
    assert not stored.duplicate
    assert leftover.read_bytes() == source.read_bytes()
    assert archive.index.totals()["instance"] == 1


def test_a_duplicate_on_a_full_disk_is_still_a_duplicate(archive: Archive, write_instance: Callable[..., Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing needs storing, so a full disk does not refuse it (A700 is for what would not fit)."""
    source = write_instance()
    archive.ingest_file(stage(archive, source))
    monkeypatch.setattr(archive.files, "free_bytes", lambda: 0)
    again = archive.ingest_file(stage(archive, source))
    assert again.duplicate
    with pytest.raises(OutOfResources):
        archive.ingest_file(stage(archive, write_instance(instance=2)))
    assert list(archive.incoming_dir.iterdir()) == []


@pytest.mark.parametrize("bad_uid", ["../../etc/passwd", "1.2..3", "1.2.3.", "", "1" * 65, "1.2.3a"])
def test_invalid_uids_never_reach_the_filesystem(archive: Archive, tmp_path: Path, bad_uid: str) -> None:
    ds = make_dataset()
    ds.SOPInstanceUID = bad_uid
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    ds.save_as(tmp_path / "bad.dcm", enforce_file_format=False)
    temporary = stage(archive, tmp_path / "bad.dcm")
    with pytest.raises(NotDicom):
        archive.ingest_file(temporary)
    assert not temporary.exists()
    assert [p for p in archive.files.root.rglob("*") if p.is_file()] == []
    assert archive.index.totals()["instance"] == 0


def test_relative_path_refuses_anything_but_uids() -> None:
    with pytest.raises(InvalidUID):
        FileStore.relative_path("1.2", "1.2.3", "../x")
    assert FileStore.relative_path("1.2", "1.2.3", "1.2.3.4") == "1.2/1.2.3/1.2.3.4.dcm"


def test_truncated_file_is_refused_and_cleaned(archive: Archive, write_instance: Callable[..., Path],
                                               tmp_path: Path) -> None:
    data = write_instance().read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[:200])
    temporary = stage(archive, tmp_path / "cut.dcm")
    with pytest.raises(NotDicom):
        archive.ingest_file(temporary)
    assert not temporary.exists() and archive.index.totals()["instance"] == 0


def test_quota_refuses_with_out_of_resources(paths, write_instance: Callable[..., Path]) -> None:
    archive = Archive(paths.index_file, paths.store_dir, ArchiveSettings(quota_gb=1e-6))  # 1,000 bytes
    archive.files.ensure()
    archive.index.open()
    archive.ingest_file(stage(archive, write_instance(instance=1)))
    temporary = stage(archive, write_instance(instance=2))
    with pytest.raises(OutOfResources):
        archive.ingest_file(temporary)
    assert not temporary.exists()
    assert archive.index.totals()["instance"] == 1
    archive.close()


def test_leftover_temporary_files_are_removed_on_open(paths) -> None:
    incoming = paths.store_dir / ".incoming"
    incoming.mkdir(parents=True)
    (incoming / "in-crashed.part").write_bytes(b"half an instance")
    Archive.open(paths).close()
    assert list(incoming.iterdir()) == []


def test_a_file_received_on_another_filesystem_is_copied_in(archive: Archive, write_instance: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    """Chunked receive is one directory per process: a receiver beside another archive's SCP
    gets its files there, maybe on another filesystem (here /dev/shm, a tmpfs)."""
    import os
    import shutil
    import tempfile

    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(archive.files.root).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the archive")
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        source = write_instance()
        foreign = elsewhere / "in-1.part"
        shutil.copyfile(source, foreign)
        stored = archive.ingest_file(foreign)
        assert (archive.files.root / stored.path).read_bytes() == source.read_bytes()
        assert not foreign.exists() and list(archive.incoming_dir.iterdir()) == []
        again = elsewhere / "in-2.part"
        shutil.copyfile(source, again)
        assert archive.ingest_file(again).duplicate and not again.exists()
        assert list(archive.incoming_dir.iterdir()) == []
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_an_instance_in_memory_is_stored_without_a_temporary_file(archive: Archive,
                                                                  write_instance: Callable[..., Path]) -> None:
    """The bytes of a small received data set go straight under their final name, are read
    for the index from memory, and are stored exactly as given."""
    source = write_instance()
    content = source.read_bytes()
    stored = archive.ingest_file(content, source_ae="MODALITY1")
    assert (archive.files.root / stored.path).read_bytes() == content
    assert stored.record.instance["file_size"] == len(content)
    assert archive.index.has_instance(stored.record.sop_instance_uid)
    assert list(archive.incoming_dir.iterdir()) == []
    again = archive.ingest_file(content)
    assert again.duplicate and not again.replaced
    assert archive.index.totals()["instance"] == 1


def test_an_instance_in_memory_replaces_a_file_left_by_a_crash(archive: Archive,
                                                               write_instance: Callable[..., Path]) -> None:
    """A crash while writing under the final name leaves a file no row points at: the next
    copy goes over it (by way of a flushed temporary file) and is indexed."""
    source = write_instance()
    leftover = archive.files.root / f"{ROOT}.1/{ROOT}.1.1/{ROOT}.1.1.1.dcm"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a file")
    stored = archive.ingest_file(source.read_bytes())
    assert not stored.duplicate
    assert leftover.read_bytes() == source.read_bytes()
    assert archive.index.totals()["instance"] == 1
    assert list(archive.incoming_dir.iterdir()) == []


def test_an_instance_in_memory_that_is_not_dicom_leaves_nothing(archive: Archive) -> None:
    with pytest.raises(NotDicom):
        archive.ingest_file(b"\x00" * 128 + b"DICM" + b"garbage" * 10)
    assert archive.index.totals()["instance"] == 0
    assert [p for p in archive.files.root.rglob("*") if p.is_file()] == []


def test_replace_policy_stores_an_instance_in_memory_over_the_old(paths, write_instance: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    with Archive.open(paths, None) as archive:
        archive.settings = ArchiveSettings(duplicates=DuplicatePolicy.REPLACE)
        first = write_instance()
        archive.ingest_file(first.read_bytes())
        second = write_instance("second.dcm", name="CHANGED^NAME")
        stored = archive.ingest_file(second.read_bytes())
        assert stored.replaced
        assert (archive.files.root / stored.path).read_bytes() == second.read_bytes()
        assert archive.index.totals()["instance"] == 1


def test_a_disk_that_fills_while_an_instance_in_memory_is_written_is_out_of_resources(
        archive: Archive, write_instance: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The free-space check passed, then another writer took the space: still A700, nothing left."""
    from tui_pacs.store import files as files_module

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    content = write_instance().read_bytes()
    monkeypatch.setattr(files_module.os, "write", full)
    with pytest.raises(OutOfResources):
        archive.ingest_file(content)
    assert archive.index.totals()["instance"] == 0
    assert [p for p in archive.files.root.rglob("*.dcm")] == []
