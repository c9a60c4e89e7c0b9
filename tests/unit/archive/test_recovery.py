"""One flush for a batch's files and rows, and the check after a crash inside it.

A received instance's row is committed before the flush that makes it and
its file durable. These tests stop the world inside that flush: they copy
the index and the store as they are at that moment (what a disk could hold
after the machine stopped), damage the file whose flush had not finished,
and open the copy as the next start would.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest

from tui_pacs.config.model import ArchiveSettings
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.store.archive import Archive
from tui_pacs.store.index import Index
from tui_pacs.store.records import StoredInstance


def unflushed(paths: Paths) -> set[str]:
    """The unflushed list as another process would read it."""
    with sqlite3.connect(paths.index_file) as conn:
        return {row[0] for row in conn.execute("SELECT path FROM unflushed")}


def snapshot_inside_flush(archive: Archive, paths: Paths, into: Path,
                          monkeypatch: pytest.MonkeyPatch) -> list[Sequence[Path]]:
    """Copy the home's data into ``into`` when the next flush begins, before it has flushed anything."""
    taken: list[Sequence[Path]] = []
    original = archive.files.make_durable

    def make_durable(files: Sequence[Path], directories: Iterable[Path]) -> bool:
        if not taken:
            shutil.copytree(paths.data_dir, into / "data")
            taken.append(files)
        return original(files, directories)

    monkeypatch.setattr(archive.files, "make_durable", make_durable)
    return taken


def crash_during(archive: Archive, paths: Paths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 source: Path) -> tuple[StoredInstance, Paths]:
    """Store ``source``; return it and the home as a crash inside its flush would have left it."""
    crash = tmp_path / "after-crash"
    snapshot_inside_flush(archive, paths, crash, monkeypatch)
    stored = archive.ingest_file(source)
    archive.close()
    return stored, resolve_paths(crash)


def test_a_row_is_listed_unflushed_until_its_flush_is_seen_through(
        archive: Archive, paths: Paths, write_instance: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen_at_flush: list[set[str]] = []
    original = archive.files.make_durable

    def make_durable(files: Sequence[Path], directories: Iterable[Path]) -> bool:
        seen_at_flush.append(unflushed(paths))
        return original(files, directories)

    monkeypatch.setattr(archive.files, "make_durable", make_durable)
    stored = archive.ingest_file(write_instance(study=1, instance=1))
    assert seen_at_flush == [{stored.path}]  # committed before the flush, and listed
    archive.close()  # a clean stop strikes it off
    assert unflushed(paths) == set()


@pytest.mark.parametrize("damage", ["missing", "short", "empty"])
def test_a_crash_inside_the_flush_loses_the_row_of_a_file_not_on_disk(
        archive: Archive, paths: Paths, tmp_path: Path, write_instance: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    kept = archive.ingest_file(write_instance(study=1, instance=1))
    cut, after = crash_during(archive, paths, tmp_path, monkeypatch, write_instance(study=1, instance=2))
    damaged = after.store_dir / cut.path
    assert damaged.is_file()  # the copy holds it as the page cache did; a disk need not
    if damage == "missing":
        damaged.unlink()
    else:
        os.truncate(damaged, damaged.stat().st_size // 2 if damage == "short" else 0)
    assert unflushed(after) >= {cut.path}

    reopened = Archive.open(after)
    try:
        assert not reopened.index.has_instance(cut.record.sop_instance_uid)
        assert not damaged.exists()  # the part that reached the disk goes too
        assert reopened.index.has_instance(kept.record.sop_instance_uid)
        assert (after.store_dir / kept.path).is_file()
        assert reopened.index.totals() == {"patient": 1, "study": 1, "series": 1, "instance": 1}
        assert unflushed(after) == set()
        again = reopened.ingest_file(write_instance(study=1, instance=2))  # the sender's retry
        assert not again.duplicate
        assert reopened.index.totals()["instance"] == 2
    finally:
        reopened.close()


def test_a_crash_inside_the_flush_keeps_a_file_that_made_it(
        archive: Archive, paths: Paths, tmp_path: Path, write_instance: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    whole, after = crash_during(archive, paths, tmp_path, monkeypatch, write_instance(study=2, instance=1))
    reopened = Archive.open(after)
    try:
        assert reopened.index.has_instance(whole.record.sop_instance_uid)
        assert (after.store_dir / whole.path).is_file()
        assert unflushed(after) == set()
    finally:
        reopened.close()


def test_a_crash_inside_the_flush_of_an_instance_on_its_own_new_series(
        archive: Archive, paths: Paths, tmp_path: Path, write_instance: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The new patient, study and series rows go with the only instance that needed them."""
    lost, after = crash_during(archive, paths, tmp_path, monkeypatch,
                               write_instance(study=3, instance=1, patient_id="P3"))
    shutil.rmtree(after.store_dir / lost.record.study_uid)  # not even its directories reached the disk
    reopened = Archive.open(after)
    try:
        assert reopened.index.totals() == {"patient": 0, "study": 0, "series": 0, "instance": 0}
    finally:
        reopened.close()


def test_a_transaction_flushes_the_write_ahead_log_before_it_returns(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[str] = []
    original = os.fdatasync

    def fdatasync(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        original(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    with archive.index.transaction() as conn:
        conn.execute("INSERT INTO job_sequence (last) VALUES (7)")
        assert flushed == []
    assert flushed == [str(archive.index.wal_path)]
    with archive.index.transaction(durable=False) as conn:
        conn.execute("DELETE FROM job_sequence WHERE last = 7")
    assert flushed == [str(archive.index.wal_path)]  # the caller flushes that one


def test_without_a_filesystem_flush_the_index_is_flushed_on_its_own(
        paths: Paths, write_instance: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """``flush = "files"`` fsyncs each file and directory, which leaves the rows to a WAL flush."""
    archive = Archive(paths.index_file, paths.store_dir, ArchiveSettings(flush="files"))
    archive.files.ensure()
    archive.index.open()
    synced: list[int] = []
    original = Index.sync
    monkeypatch.setattr(Index, "sync", lambda self: (synced.append(1), original(self))[1])
    try:
        archive.ingest_file(write_instance(study=4, instance=1))
        assert synced == [1]
    finally:
        archive.close()


def test_no_clean_up_under_the_feet_of_an_archive_open_elsewhere(
        archive: Archive, paths: Paths, write_instance: Callable[..., Path]) -> None:
    """A CLI command opening the archive while a server receives leaves the server's work alone:
    its incoming files and its listed rows are its own."""
    stored = archive.ingest_file(write_instance(study=5, instance=1))
    os.truncate(paths.store_dir / stored.path, 10)  # as a crash would have left it, were there one
    receiving = archive.files.write_temporary([b"half a data set"], sync=False)
    second = Archive.open(paths)  # the fixture's archive is still open
    try:
        assert receiving.exists()
        assert second.index.has_instance(stored.record.sop_instance_uid)
        assert unflushed(paths) == {stored.path}
    finally:
        second.close()
    archive.close()  # cleanly: its flushed rows are struck off the list
    assert unflushed(paths) == set()
    with sqlite3.connect(paths.index_file) as conn:  # as if it had stopped inside the flush instead
        conn.execute("INSERT INTO unflushed (path) VALUES (?)", (stored.path,))
    third = Archive.open(paths)  # alone now: it cleans up
    try:
        assert not receiving.exists()
        assert not third.index.has_instance(stored.record.sop_instance_uid)
        assert unflushed(paths) == set()
    finally:
        third.close()
