"""Group commit: the instances of many associations indexed and made durable together.

Every C-STORE must be on disk and in the index before it is answered. Paid
per instance, that is two flushes (the file with its directory entry, then
the index's write-ahead log) and caps a receiver at a few hundred instances
per second with one sender. Here one flush is paid per *batch*:

* each caller puts its file under its final name on its own thread, then queues;
* the first thread to find no batch in progress takes every instance queued
  so far (its own included), commits their rows in one transaction that
  SQLite does not flush, then flushes the store's filesystem once (syncfs),
  which makes the files, their names and the rows durable together; then it
  wakes their threads. Instances that arrive meanwhile form the next batch.

The two steps used to be a pipeline (the next batch indexed while one was
flushed). That paid off while the index commit had a flush of its own; it
has none now. Measured with four senders of small instances, the pipelined
index stage ran for 1.5 instances at a time against 3.3 per flush, each
commit writing a dozen pages to the log; one step per batch commits once
per flush, with fewer thread switches (10.7 per instance against 11.5-12)
and the same rate, in less code.

A row can reach the disk before its file only if the machine stops inside
that flush. Every new row is listed as *unflushed* by the index itself (a
trigger) until its flush has been seen through; what a crash leaves listed
is checked at the next start, before anything is served (:mod:`.recovery`):
a row whose file is missing or short is removed. No thread returns, and no
C-STORE is answered, before its batch's flush.

With one sender a batch holds one instance, and nothing waits for company.
With several, an instance already received and being read on another
association is announced (:meth:`GroupCommit.arrival`), and a batch about
to start waits up to half a millisecond for it to join: measured with four
senders of small instances, batches grew from 1.2 to 1.7 instances and the
receiver took 6 % more per second.

A failure of one instance (a bad row, a name that cannot be written) fails
that instance alone; a failure of the flush fails the batch: its new rows
are taken out of the index again and its new files removed. The same
instance arriving again while it is in flight is not placed twice: the copy
waits and is answered as the first one is (never Success for a copy of an
instance that failed). Where one syncfs cannot cover the index (``[archive]
flush = "files"``, or the index on another filesystem), the flush fsyncs
each file and directory and then the write-ahead log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tui_pacs.store.errors import StoreError
from tui_pacs.store.files import FileStore, storage_error
from tui_pacs.store.index import AddOutcome, Index
from tui_pacs.store.records import InstanceRecord

log = logging.getLogger(__name__)

COMPANY_SECONDS = 0.0005
"""How long a batch may wait for instances on their way (:meth:`GroupCommit.arrival`)."""

FORGET_EVERY = 256
"""Flushed instances struck off the unflushed list at a time (a statement of a batch's commit)."""


@dataclass(eq=False)  # identity: a batch is searched for its items
class PendingInstance:
    """One instance waiting for its batch: the file to place and the row to commit."""

    source: Path | bytes
    """A temporary file to rename into place, or a small instance's bytes to write there."""
    record: InstanceRecord
    outcome: AddOutcome | None = None
    """What the index made of it (set when committed; returned once flushed)."""
    error: BaseException | None = None
    done: bool = False
    # Set once placed:
    placed: Path | None = None
    """The final path, once renamed."""
    changed: list[Path] = field(default_factory=list)
    """Directories whose entries the rename changed."""
    fresh: bool = False
    """No file was at the final path before (so undoing the rename may remove it)."""
    twins: list[PendingInstance] = field(default_factory=list)
    """The same instance received again while this one was in flight: they share its fate."""

    @property
    def relative(self) -> str:
        return str(self.record.instance["path"])


@dataclass(eq=False)
class _Waiter:
    """One caller asleep in :meth:`GroupCommit._see_through`, and what it waits for."""

    items: list[PendingInstance]
    event: threading.Event = field(default_factory=threading.Event)

    def done(self) -> bool:
        return all(item.done for item in self.items)


class GroupCommit:
    """Batches :class:`PendingInstance` s from any number of threads (see the module text).

    One batch at a time is indexed and flushed, by one leader; placing
    under the final name is done by each caller on its own, before it
    queues.
    """

    def __init__(self, files: FileStore, index: Index, *, replace: Callable[[], bool]) -> None:
        self.files = files
        self.index = index
        self._replace = replace
        self._lock = threading.Lock()
        self._waiters: list[_Waiter] = []
        self._queued: list[PendingInstance] = []
        self._busy = False
        """A batch is being indexed and flushed."""
        self._flushed: list[str] = []
        """Paths flushed since they were last struck off the index's unflushed list."""
        self._index_on_store: bool | None = None
        self._in_flight: dict[str, PendingInstance] = {}
        self._arriving = 0
        self._local = threading.local()
        self.batches = 0
        """Batches flushed so far (fewer than instances when associations shared flushes)."""

    def waiting(self) -> int:
        """Instances placed and queued for the next batch."""
        with self._lock:
            return len(self._queued)

    def close(self) -> None:
        """Strike what has been flushed off the unflushed list, durably (at a clean stop)."""
        with self._lock:
            flushed, self._flushed = self._flushed, []
        if flushed:
            self._forget(flushed, durable=True)

    def commit(self, pending: PendingInstance) -> AddOutcome:
        """Place, index and flush ``pending`` with whatever else is waiting; raise its failure."""
        self._see_through([pending])
        if pending.error is not None:
            raise pending.error
        assert pending.outcome is not None
        return pending.outcome

    def commit_all(self, batch: list[PendingInstance]) -> None:
        """Place, index and flush a batch the calling thread holds (an import), by the same steps.

        Each item gets its outcome or its error; nothing is raised for them.
        """
        self._see_through(batch)

    @contextmanager
    def arrival(self) -> Iterator[None]:
        """Mark an instance on its way here (received, being read): a batch about to start waits
        up to :data:`COMPANY_SECONDS` for it, so that it joins the batch instead of paying for
        a flush of its own right after."""
        with self._lock:
            self._arriving += 1
        self._local.arriving = True
        try:
            yield
        finally:
            if self._local.arriving:  # left before it was queued (refused, failed)
                with self._lock:
                    self._arrived()

    def _arrived(self) -> None:
        """This thread's instance is queued or gone (lock held)."""
        self._local.arriving = False
        self._arriving -= 1
        if not self._arriving:
            self._wake()

    def _see_through(self, items: list[PendingInstance]) -> None:
        """Place ``items``, then lead or wait for the batch they are in until all are done."""
        for item in items:
            self._place(item)
        with self._lock:
            self._queued.extend(item for item in items if item.placed is not None and not item.done)
            if getattr(self._local, "arriving", False):
                self._arrived()
            company_until: float | None = None
            waiter = _Waiter(items)
            while not waiter.done():
                if not self._busy and any(item in self._queued for item in items):
                    if self._arriving:
                        now = time.monotonic()
                        company_until = company_until or now + COMPANY_SECONDS
                        if now < company_until:
                            self._sleep(waiter, company_until - now)
                            continue
                    try:
                        self._batch()
                    finally:
                        self._wake(items)
                else:
                    self._sleep(waiter, None)

    def _sleep(self, waiter: _Waiter, timeout: float | None) -> None:
        """Wait (lock released) until :meth:`_wake` picks ``waiter`` or ``timeout`` passes."""
        waiter.event.clear()
        self._waiters.append(waiter)
        self._lock.release()
        try:
            waiter.event.wait(timeout)
        finally:
            self._lock.acquire()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self, leader_items: Sequence[PendingInstance] = ()) -> None:
        """Wake whoever has something to do now (lock held): the callers whose items are all done,
        and one caller to lead the next batch if there is one, unless the leader that just
        finished (``leader_items``) has its own items queued and goes on to lead it. The others
        sleep on; waking every waiter after every batch cost each instance two more thread
        switches with four senders."""
        lead_free = not self._busy and bool(self._queued) and not any(
            item in self._queued for item in leader_items)
        for waiter in self._waiters:
            if waiter.done():
                waiter.event.set()
            elif lead_free and any(item in self._queued for item in waiter.items):
                waiter.event.set()
                lead_free = False

    # -- placing (each caller, in parallel) -------------------------------------------

    def _place(self, item: PendingInstance) -> None:
        """Put the instance under its final name. The same instance already in flight is not placed
        again: this one waits for that one and shares its outcome."""
        relative = item.relative
        with self._lock:
            first = self._in_flight.get(relative)
            if first is not None:
                first.twins.append(item)
                self.files.discard(item.source)
                return
            self._in_flight[relative] = item
        try:
            if isinstance(item.source, Path):
                item.source = self.files.localise(item.source)
            placement = self.files.place(item.source, relative)
            if placement is None:  # the name is taken: this instance again, or a file a crash left behind
                if not self._replace() and self.index.has_instance(item.record.sop_instance_uid):
                    self.files.discard(item.source)
                    with self._lock:
                        self._finish(item, outcome=AddOutcome(inserted=False, duplicate=True,
                                                              old_path=relative))
                    return
                placement = self.files.replace(item.source, relative)
            item.placed, item.changed, item.fresh = placement
        except (OSError, StoreError) as exc:  # a full disk (the quota check raced another writer) is A700
            self.files.discard(item.source)
            with self._lock:
                self._finish(item, error=storage_error(exc, relative) if isinstance(exc, OSError) else exc)

    # -- a batch (one leader at a time; the lock is released while it works) ------------

    def _batch(self) -> None:
        """Index and flush everything queued (called and returning with the lock held)."""
        batch, self._queued = self._queued, []
        flushed: list[str] = []
        if len(self._flushed) >= FORGET_EVERY:
            flushed, self._flushed = self._flushed, []
        self._busy = True
        self._lock.release()
        error: BaseException | None = None
        try:
            results = self._index(batch, flushed)
            indexed = [item for item, result in zip(batch, results, strict=True)
                       if isinstance(result, AddOutcome)]
            try:
                if indexed:
                    self._flush(indexed)
            except BaseException as exc:  # noqa: BLE001 - the batch's error; re-raised below unless an Exception
                error = exc
                self._take_back(indexed)
        finally:
            self._lock.acquire()
            self._busy = False
            self.batches += 1
        for item, result in zip(batch, results, strict=True):
            if isinstance(result, AddOutcome) and error is None:
                self._finish(item, outcome=result)
            else:
                self._undo(item)
                self._finish(item, error=result if isinstance(result, BaseException) else error)
        if error is not None:
            if not isinstance(error, Exception):
                raise error
            return
        self._flushed.extend(item.relative for item in indexed if item.outcome and item.outcome.inserted)

    def _index(self, batch: list[PendingInstance], flushed: list[str]) -> list[AddOutcome | BaseException]:
        """Commit the batch's rows (not flushed); each item's outcome or its error, in its place.

        An instance not inserted (indexed already) still waits for the
        flush: the row it met may be one committed a moment ago.
        """
        try:
            results: list[AddOutcome | BaseException] = list(
                self.index.add_each([item.record for item in batch], replace=self._replace()))
        except BaseException as exc:  # noqa: BLE001 - the batch's error, for each of its items
            return [exc] * len(batch)
        if flushed:
            self._forget(flushed, durable=False)
        for item, result in zip(batch, results, strict=True):
            if isinstance(result, AddOutcome):
                item.outcome = result
                if not result.inserted and result.old_path != item.relative:
                    self._undo(item)  # indexed already under another study or series: ours goes
        return results

    def _flush(self, batch: list[PendingInstance]) -> None:
        """Make a batch's files, their names and their committed rows durable."""
        files = [item.placed for item in batch if item.placed is not None]
        whole_filesystem = self.files.make_durable(
            files, [directory for item in batch if item.placed is not None for directory in item.changed])
        if self._index_on_store is None:
            self._index_on_store = self.files.holds(self.index.db_path)
        if not (whole_filesystem and self._index_on_store):
            self.index.sync()

    def _take_back(self, batch: list[PendingInstance]) -> None:
        """Remove from the index the new rows of a batch whose flush failed (their files go next).

        A row that replaced another stays: its file was flushed before it
        took the name, and the row it replaced is gone either way.
        """
        fresh = [item.relative for item in batch if item.fresh and item.outcome and item.outcome.inserted]
        if not fresh:
            return
        try:
            self.index.remove_instances(fresh)
        except Exception as exc:  # noqa: BLE001 - logged; the batch fails with the flush's error  # the next start checks them: they are still listed as unflushed
            log.error("could not take %d instances out of the index after a failed flush: %s", len(fresh), exc)

    def _forget(self, paths: list[str], *, durable: bool) -> None:
        """Strike flushed paths off the unflushed list; a failure only means they are checked once more."""
        try:
            self.index.forget_unflushed(paths, durable=durable)
        except Exception as exc:  # noqa: BLE001 - logged; the batch does not fail for it
            log.warning("could not strike %d flushed instances off the unflushed list: %s", len(paths), exc)

    def _finish(self, item: PendingInstance, *, outcome: AddOutcome | None = None,
                error: BaseException | None = None) -> None:
        """Record ``item``'s result and its twins' (lock held)."""
        item.outcome, item.error, item.done = outcome, error, True
        if self._in_flight.get(item.relative) is item:
            del self._in_flight[item.relative]
        for twin in item.twins:
            twin.error = error
            twin.outcome = None if error is not None else AddOutcome(inserted=False, duplicate=True,
                                                                     old_path=item.relative)
            twin.done = True

    def _undo(self, item: PendingInstance) -> None:
        """Remove a file placed for an instance that will not be indexed (never one already indexed)."""
        if item.placed is not None and item.fresh:
            try:
                self.files.remove(item.relative)
            except OSError as exc:
                log.warning("could not remove %s: %s", item.placed, exc)
            item.placed, item.changed = None, []
        elif item.placed is None:
            try:
                self.files.discard(item.source)
            except OSError as exc:  # never raised into a batch: its other threads would wait on
                log.warning("could not remove %s: %s", item.source, exc)
