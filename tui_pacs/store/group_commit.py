"""Group commit: the instances of many associations made durable and indexed together.

Every C-STORE must be on disk and in the index before it is answered, and
each of those steps costs a flush (file data, directory entries, the WAL
commit). Paying them per instance caps a receiver at a few hundred
instances per second however many senders it has. Here the flushes are
paid per *batch*: the first thread to arrive becomes the leader, takes
every instance queued so far (its own included), renames them into place,
flushes the filesystem once, indexes them in one transaction, and wakes
their threads. Instances that arrive while it works form the next batch.
With one sender a batch holds one instance, and nothing waits for company;
with many, the flushes are shared.

The order is the archive's one rule, for a whole batch: no row is
committed before its file's data and name are durable, and no thread
returns before the commit. A failure of one instance (a bad row, a rename
that fails) fails that instance alone; a failure of the flush or of the
commit fails the batch, and files placed for it are removed again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui_pacs.store.errors import StoreError
from tui_pacs.store.files import FileStore
from tui_pacs.store.index import AddOutcome, Index
from tui_pacs.store.records import InstanceRecord

log = logging.getLogger(__name__)


@dataclass
class PendingInstance:
    """One instance waiting for its batch: the file to place and the row to commit."""

    temporary: Path
    record: InstanceRecord
    outcome: AddOutcome | None = None
    error: BaseException | None = None
    done: bool = False
    # Set while its batch is flushed:
    placed: Path | None = None
    """The final path, once renamed."""
    changed: list[Path] = field(default_factory=list)
    """Directories whose entries the rename changed."""
    fresh: bool = False
    """No file was at the final path before (so undoing the rename may remove it)."""


class GroupCommit:
    """Batches :class:`PendingInstance` s from any number of threads (see the module text)."""

    def __init__(self, files: FileStore, index: Index, *, replace: Callable[[], bool]) -> None:
        self.files = files
        self.index = index
        self._replace = replace
        self._condition = threading.Condition()
        self._queue: list[PendingInstance] = []
        self._flushing = False
        self.batches = 0
        """Batches flushed so far (fewer than instances when associations shared flushes)."""

    def waiting(self) -> int:
        """Instances queued for the next batch."""
        with self._condition:
            return len(self._queue)

    def commit(self, pending: PendingInstance) -> AddOutcome:
        """Place, flush and index ``pending`` with whatever else is waiting; raise its failure."""
        with self._condition:
            self._queue.append(pending)
            while not pending.done:
                if self._flushing:
                    self._condition.wait()
                    continue
                batch, self._queue = self._queue, []
                self._flushing = True
                self._condition.release()
                try:
                    self._flush(batch)
                finally:
                    self._condition.acquire()
                    self._flushing = False
                    self._condition.notify_all()
        if pending.error is not None:
            raise pending.error
        assert pending.outcome is not None
        return pending.outcome

    def commit_all(self, batch: list[PendingInstance]) -> None:
        """Place, flush and index a batch the calling thread holds (an import), by the same steps.

        Each item gets its outcome or its error; nothing is raised for them.
        Received instances wait while it runs, as they wait for another batch.
        """
        with self._condition:
            while self._flushing:
                self._condition.wait()
            self._flushing = True
        try:
            self._flush(batch)
        finally:
            with self._condition:
                self._flushing = False
                self._condition.notify_all()

    def _flush(self, batch: list[PendingInstance]) -> None:
        try:
            placed = self._place(batch)
            if placed:
                self._make_durable(placed)
                self._index(placed)
        except BaseException as exc:
            for item in batch:
                if item.error is None and item.outcome is None:
                    item.error = exc
                    self._undo(item)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.batches += 1
            for item in batch:
                item.done = True

    def _place(self, batch: list[PendingInstance]) -> list[PendingInstance]:
        """Rename each file to its final name; an instance twice in the batch is placed once."""
        placed: list[PendingInstance] = []
        seen: set[str] = set()
        for item in batch:
            relative = str(item.record.instance["path"])
            if relative in seen:  # two associations sent the same instance at once
                self.files.discard(item.temporary)
                item.outcome = AddOutcome(inserted=False, duplicate=True, old_path=relative)
                continue
            seen.add(relative)
            try:
                item.fresh = not self.files.absolute(relative).exists()
                if not item.fresh:
                    # Replacing a file under an indexed name: its new bytes must be durable before
                    # the rename can be, or a crash could leave the old row pointing at lost data.
                    self.files.fsync(item.temporary)
                item.placed, item.changed = self.files.place(item.temporary, relative)
            except OSError as exc:
                self.files.discard(item.temporary)
                item.error = StoreError(f"cannot store {relative}: {exc.strerror or exc}")
                continue
            placed.append(item)
        return placed

    def _make_durable(self, placed: list[PendingInstance]) -> None:
        files = [item.placed for item in placed if item.placed is not None]
        directories = [directory for item in placed for directory in item.changed]
        self.files.make_durable(files, directories)

    def _index(self, placed: list[PendingInstance]) -> None:
        results = self.index.add_each([item.record for item in placed], replace=self._replace())
        for item, result in zip(placed, results, strict=True):
            if isinstance(result, StoreError):
                item.error = result
                self._undo(item)
            else:
                item.outcome = result

    def _undo(self, item: PendingInstance) -> None:
        """Remove a file placed for an instance that will not be indexed (never one already indexed)."""
        if item.placed is not None and item.fresh:
            try:
                self.files.remove(str(item.record.instance["path"]))
            except OSError as exc:
                log.warning("could not remove %s: %s", item.placed, exc)
        elif item.placed is None:
            self.files.discard(item.temporary)
