"""Putting a received file in its place: rename without replacing (store/syscalls), the file
store's placement, and its free-space answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_pacs.store import files as files_module
from tui_pacs.store import syscalls
from tui_pacs.store.files import FileStore


@pytest.fixture(params=["renameat2", "portable"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways rename_noreplace works: renameat2(2), and a look then a rename where it is missing."""
    if request.param == "portable":
        monkeypatch.setattr(syscalls, "_noreplace_works", False)
    else:
        assert syscalls._renameat2() is not None, "this Linux has renameat2"
    return str(request.param)


def test_rename_noreplace_moves_to_a_free_name(tmp_path: Path, way: str) -> None:
    source, target = tmp_path / "a.part", tmp_path / "b.dcm"
    source.write_bytes(b"new")
    assert syscalls.rename_noreplace(source, target) is True
    assert not source.exists() and target.read_bytes() == b"new"


def test_rename_noreplace_leaves_a_taken_name_alone(tmp_path: Path, way: str) -> None:
    source, target = tmp_path / "a.part", tmp_path / "b.dcm"
    source.write_bytes(b"new")
    target.write_bytes(b"old")
    assert syscalls.rename_noreplace(source, target) is False
    assert source.read_bytes() == b"new" and target.read_bytes() == b"old"


def test_rename_noreplace_into_a_missing_directory_raises(tmp_path: Path, way: str) -> None:
    source = tmp_path / "a.part"
    source.write_bytes(b"new")
    with pytest.raises(FileNotFoundError):
        syscalls.rename_noreplace(source, tmp_path / "missing" / "b.dcm")
    assert source.exists()


def test_place_makes_the_series_directory_and_reports_what_changed(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    store.ensure()
    first = store.incoming / "1.part"
    first.write_bytes(b"one")
    placed = store.place(first, "1.2/1.2.3/1.2.3.4.dcm")
    assert placed is not None and placed.fresh and placed.path.read_bytes() == b"one"
    assert placed.changed == [store.root / "1.2/1.2.3", store.root / "1.2", store.root]
    second = store.incoming / "2.part"
    second.write_bytes(b"two")
    beside = store.place(second, "1.2/1.2.3/1.2.3.5.dcm")
    assert beside is not None and beside.changed == [store.root / "1.2/1.2.3"]  # the directory was there


def test_a_taken_name_is_left_to_the_caller_then_replaced(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    store.ensure()
    relative = "1.2/1.2.3/1.2.3.4.dcm"
    for n, content in enumerate((b"first", b"second")):
        temporary = store.incoming / f"{n}.part"
        temporary.write_bytes(content)
        placed = store.place(temporary, relative)
    assert placed is None  # nothing done: the first file stays, the second waits
    assert store.absolute(relative).read_bytes() == b"first" and temporary.exists()
    replaced = store.replace(temporary, relative)
    assert replaced.fresh is False and replaced.path.read_bytes() == b"second"
    assert list(store.incoming.iterdir()) == []


def test_free_space_is_asked_again_when_it_runs_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With plenty free the answer stands for a moment; near full, every placement asks."""
    store = FileStore(tmp_path)
    answers = iter([10 << 30, 1 << 30, 1 << 30, 5 << 20])
    asked: list[int] = []

    def disk_usage(path: os.PathLike[str]) -> object:
        asked.append(1)
        return type("Usage", (), {"free": next(answers)})()

    monkeypatch.setattr(files_module.shutil, "disk_usage", disk_usage)
    assert store.free_bytes() == 10 << 30
    assert store.free_bytes() == 10 << 30 and len(asked) == 1  # plenty: the last answer stands
    monkeypatch.setattr(files_module, "FREE_SPACE_TTL", 0.0)
    assert store.free_bytes() == 1 << 30 and len(asked) == 2
    monkeypatch.setattr(files_module, "FREE_SPACE_TTL", 60.0)
    assert store.free_bytes() == 1 << 30 and len(asked) == 3  # under PLENTY_FREE: asked every time
    assert store.free_bytes() == 5 << 20 and len(asked) == 4


@pytest.mark.parametrize("flush", ["filesystem", "files"])
def test_a_batch_is_flushed_as_configured(paths, write_instance, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                          flush: str) -> None:
    """"filesystem": one syncfs for the batch; "files": an fsync per file and per directory,
    and no syncfs (a busy neighbour on the same filesystem is not waited for)."""
    from tui_pacs.config.model import ArchiveSettings
    from tui_pacs.store.archive import Archive

    syncs: list[int] = []
    fsyncs: list[int] = []
    real_syncfs, real_fsync = syscalls.syncfs, os.fsync
    monkeypatch.setattr(syscalls, "syncfs", lambda fd: (syncs.append(fd), real_syncfs(fd))[1])
    monkeypatch.setattr(files_module.os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    with Archive(paths.index_file, paths.store_dir, ArchiveSettings(flush=flush)) as archive:
        archive.files.ensure()
        archive.index.open()
        source = write_instance()
        with source.open("rb") as handle:
            temporary = archive.files.copy_to_temporary(handle, sync=False)
        stored = archive.ingest_file(temporary)
        assert (archive.files.root / stored.path).read_bytes() == source.read_bytes()
    if flush == "filesystem":
        assert len(syncs) == 1 and fsyncs == []
    else:
        assert syncs == [] and len(fsyncs) == 4  # the file, its new series and study directories, the store root


def test_place_writes_bytes_under_the_final_name(tmp_path: Path) -> None:
    """A small instance whole in memory: written where it belongs, no temporary file, the
    directories it changed reported for the flush."""
    store = FileStore(tmp_path / "store")
    store.ensure()
    placed = store.place(b"one", "1.2/1.2.3/1.2.3.4.dcm")
    assert placed is not None and placed.fresh and placed.path.read_bytes() == b"one"
    assert placed.changed == [store.root / "1.2/1.2.3", store.root / "1.2", store.root]
    beside = store.place(b"two", "1.2/1.2.3/1.2.3.5.dcm")
    assert beside is not None and beside.changed == [store.root / "1.2/1.2.3"]
    assert list(store.incoming.iterdir()) == []


def test_place_leaves_a_name_taken_to_bytes_alone(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    store.ensure()
    relative = "1.2/1.2.3/1.2.3.4.dcm"
    assert store.place(b"first", relative) is not None
    assert store.place(b"second", relative) is None
    assert store.absolute(relative).read_bytes() == b"first"


def test_bytes_that_cannot_be_written_leave_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(tmp_path / "store")
    store.ensure()

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "write", full)
    with pytest.raises(OSError):
        store.place(b"x" * 100, "1.2/1.2.3/1.2.3.4.dcm")
    assert not store.absolute("1.2/1.2.3/1.2.3.4.dcm").exists()
