"""Group commit: instances from several threads share one index commit and one flush.

The tests hold the first batch's flush (or index commit) open until the
others have queued, so what lands in which batch is decided by the test,
not by timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest

from tui_pacs.store.archive import Archive
from tui_pacs.store.errors import OutOfResources, StoreError
from tui_pacs.store.index import Index
from tui_pacs.store.records import StoredInstance

from .conftest import ROOT


def stage(archive: Archive, source: Path) -> Path:
    with source.open("rb") as handle:
        return archive.files.copy_to_temporary(handle, sync=False)


def hold_first_flush(archive: Archive, monkeypatch: pytest.MonkeyPatch, queued: int) -> list[int]:
    """Make the first flush wait until ``queued`` instances wait behind it; return batch sizes.

    The first flush starts at once, without waiting for company: an instance
    still being indexed would join it."""
    from tui_pacs.store import group_commit

    monkeypatch.setattr(group_commit, "COMPANY_SECONDS", 0.0)
    sizes: list[int] = []
    original = archive.files.make_durable

    def make_durable(files: Sequence[Path], directories: Iterable[Path]) -> bool:
        if not sizes:
            deadline = time.monotonic() + 10
            while archive.group.waiting() < queued and time.monotonic() < deadline:
                time.sleep(0.005)
        sizes.append(len(files))
        return original(files, directories)

    monkeypatch.setattr(archive.files, "make_durable", make_durable)
    return sizes


def hold_first_index(archive: Archive, monkeypatch: pytest.MonkeyPatch, queued: int) -> list[int]:
    """Make the first index commit wait until ``queued`` instances wait behind it; return batch sizes."""
    sizes: list[int] = []
    original = archive.index.add_each

    def add_each(records, *, replace: bool = False):  # type: ignore[no-untyped-def]
        if not sizes:
            deadline = time.monotonic() + 10
            while archive.group.waiting() < queued and time.monotonic() < deadline:
                time.sleep(0.005)
        sizes.append(len(records))
        return original(records, replace=replace)

    monkeypatch.setattr(archive.index, "add_each", add_each)
    return sizes


def started(archive: Archive) -> bool:
    """The first instance's batch has begun."""
    return archive.group._busy or archive.group.batches > 0


def ingest_in_threads(archive: Archive, temporaries: list[Path]) -> list[StoredInstance | BaseException]:
    results: list[StoredInstance | BaseException] = [RuntimeError("not run")] * len(temporaries)

    def run(i: int) -> None:
        try:
            results[i] = archive.ingest_file(temporaries[i], source_ae="SENDER")
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    first = threading.Thread(target=run, args=(0,))
    first.start()
    while not started(archive):
        time.sleep(0.001)
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, len(temporaries))]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(20)
    return results


def test_waiting_instances_share_one_flush(archive: Archive, write_instance: Callable[..., Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = hold_first_flush(archive, monkeypatch, queued=4)
    temporaries = [stage(archive, write_instance(study=1, instance=n)) for n in range(1, 6)]
    results = ingest_in_threads(archive, temporaries)
    assert all(isinstance(r, StoredInstance) and not r.duplicate for r in results), results
    assert sizes == [1, 4]
    assert archive.group.batches == 2
    assert archive.index.totals()["instance"] == 5
    for result in results:
        assert isinstance(result, StoredInstance)
        assert (archive.files.root / result.path).is_file()
    assert list(archive.incoming_dir.iterdir()) == []


def test_one_bad_row_fails_alone(archive: Archive, write_instance: Callable[..., Path],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bad_uid = f"{ROOT}.1.1.3"
    original_add_each = Index.add_each

    def add_each(self: Index, records, *, replace: bool = False):  # type: ignore[no-untyped-def]
        for record in records:
            if record.sop_instance_uid == bad_uid:
                record.instance["file_size"] = None  # violates NOT NULL: a real SQLite error, on every path
        return original_add_each(self, records, replace=replace)

    monkeypatch.setattr(Index, "add_each", add_each)
    sizes = hold_first_index(archive, monkeypatch, queued=3)
    temporaries = [stage(archive, write_instance(study=1, instance=n)) for n in range(1, 5)]
    results = ingest_in_threads(archive, temporaries)
    assert sizes == [1, 3]
    assert isinstance(results[2], StoreError)
    assert [isinstance(r, StoredInstance) for r in results] == [True, True, False, True]
    assert archive.index.totals()["instance"] == 3
    assert not archive.index.has_instance(bad_uid)
    assert not (archive.files.root / f"{ROOT}.1/{ROOT}.1.1/{bad_uid}.dcm").exists()
    assert list(archive.incoming_dir.iterdir()) == []


def test_failed_flush_fails_the_batch_and_leaves_nothing(archive: Archive, write_instance: Callable[..., Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def full(files: Sequence[Path], directories: Iterable[Path]) -> None:
        raise OutOfResources("no space left to store a batch of instances")

    monkeypatch.setattr(archive.files, "make_durable", full)
    with pytest.raises(OutOfResources):
        archive.ingest_file(stage(archive, write_instance(study=7, instance=1)))
    assert archive.index.totals()["instance"] == 0
    assert not (archive.files.root / f"{ROOT}.7").exists()
    assert list(archive.incoming_dir.iterdir()) == []


def test_same_instance_twice_in_a_batch_is_stored_once(archive: Archive, write_instance: Callable[..., Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = hold_first_flush(archive, monkeypatch, queued=1)  # the second copy waits for the first
    source = write_instance(study=2, instance=9)
    temporaries = [stage(archive, write_instance(study=2, instance=1)), stage(archive, source),
                   stage(archive, source)]
    results = ingest_in_threads(archive, temporaries)
    assert sizes == [1, 1]
    stored = [r for r in results if isinstance(r, StoredInstance)]
    assert len(stored) == 3
    assert sorted(r.duplicate for r in stored) == [False, False, True]
    assert archive.index.totals()["instance"] == 2
    assert list(archive.incoming_dir.iterdir()) == []


def test_a_copy_received_while_the_first_is_in_flight_shares_its_failure(
        archive: Archive, write_instance: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Never Success for a copy whose original was not stored: it is answered with the original."""
    def full(files: Sequence[Path], directories: Iterable[Path]) -> None:
        deadline = time.monotonic() + 10
        while not any(item.twins for item in archive.group._in_flight.values()) and time.monotonic() < deadline:
            time.sleep(0.005)
        raise OutOfResources("no space left to store a batch of instances")

    monkeypatch.setattr(archive.files, "make_durable", full)
    source = write_instance(study=3, instance=1)
    results = ingest_in_threads(archive, [stage(archive, source), stage(archive, source)])
    assert all(isinstance(r, OutOfResources) for r in results), results
    assert archive.index.totals()["instance"] == 0
    assert not (archive.files.root / f"{ROOT}.3").exists()
    assert list(archive.incoming_dir.iterdir()) == []


def test_a_batch_is_one_index_commit_and_one_flush(archive: Archive, write_instance: Callable[..., Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The instances queued behind a flush are committed together, then flushed together."""
    sizes = hold_first_flush(archive, monkeypatch, queued=3)
    commits: list[int] = []
    original_add_each = archive.index.add_each
    monkeypatch.setattr(archive.index, "add_each", lambda records, *, replace=False: (
        commits.append(len(records)), original_add_each(records, replace=replace))[1])
    temporaries = [stage(archive, write_instance(study=4, instance=n)) for n in range(1, 5)]
    results = ingest_in_threads(archive, temporaries)
    assert all(isinstance(r, StoredInstance) and not r.duplicate for r in results), results
    assert commits == [1, 3] and sizes == [1, 3]
    assert archive.group.batches == 2
    assert archive.index.totals()["instance"] == 4


def test_a_flush_waits_for_an_instance_on_its_way(archive: Archive, write_instance: Callable[..., Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance announced (``arrival``) but not yet queued: the flush about to start waits a
    moment for it, and both go in one batch."""
    from tui_pacs.store import group_commit

    monkeypatch.setattr(group_commit, "COMPANY_SECONDS", 5.0)  # the arrival, not the clock, ends the wait
    sizes: list[int] = []
    original = archive.files.make_durable
    monkeypatch.setattr(archive.files, "make_durable",
                        lambda files, dirs: (sizes.append(len(files)), original(files, dirs))[1])
    first, second = (stage(archive, write_instance(instance=n)) for n in (1, 2))
    announced, results = threading.Event(), []

    def on_its_way() -> None:
        with archive.group.arrival():
            announced.set()
            time.sleep(0.2)  # still reading its data set
            results.append(archive.ingest_file(second))

    late = threading.Thread(target=on_its_way)
    late.start()
    announced.wait(5)
    results.append(archive.ingest_file(first))
    late.join(10)
    assert sizes == [2] and len(results) == 2


def test_an_arrival_that_fails_releases_the_waiting_flush(archive: Archive, write_instance: Callable[..., Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_pacs.store import group_commit

    monkeypatch.setattr(group_commit, "COMPANY_SECONDS", 30.0)
    announced, leave = threading.Event(), threading.Event()

    def refused() -> None:
        with pytest.raises(RuntimeError), archive.group.arrival():
            announced.set()
            leave.wait(5)
            raise RuntimeError("refused before it was queued")

    thread = threading.Thread(target=refused)
    thread.start()
    announced.wait(5)
    stored: list[object] = []
    committing = threading.Thread(target=lambda: stored.append(archive.ingest_file(stage(archive, write_instance()))))
    committing.start()
    committing.join(0.2)
    assert committing.is_alive()  # its flush waits for the announced instance
    leave.set()
    committing.join(10)  # released by the failure, not by the 30 s wait
    assert not committing.is_alive() and len(stored) == 1
    thread.join(5)
