"""The archive facade: files plus index, with the one rule that matters.

An instance is acknowledged (returned from :meth:`Archive.ingest_file`) only
after its bytes under their final name and its index row are flushed;
instances arriving at once on several associations share that flush
(:mod:`.group_commit`). Nothing half-written stays indexed: a failure at any
step removes the file and takes the row out again, and a start after a crash
checks the rows whose flush it may have cut short (:mod:`.recovery`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

from tui_pacs.config.model import ArchiveSettings, Config, DuplicatePolicy
from tui_pacs.config.paths import Paths
from tui_pacs.store.errors import OutOfResources
from tui_pacs.store.extract import Header, read_any_header, record_from_header
from tui_pacs.store.files import FileStore
from tui_pacs.store.group_commit import GroupCommit, PendingInstance
from tui_pacs.store.index import Index
from tui_pacs.store.records import InstanceRecord, StoredInstance
from tui_pacs.store.recovery import LOCK_NAME, ArchiveLock, check_unflushed

log = logging.getLogger(__name__)


class Archive:
    """Files on disk and the SQLite index, kept in step."""

    def __init__(self, index_file: Path, store_dir: Path, settings: ArchiveSettings | None = None) -> None:
        # Held shared while open, by every process and every Archive: see :meth:`open`.
        self._lock = ArchiveLock(index_file.parent / LOCK_NAME)
        self.settings = settings or ArchiveSettings()
        self.files = FileStore(store_dir, whole_filesystem=self.settings.flush == "filesystem")
        self.index = Index(index_file, store_dir)
        # Received instances share their flushes and their index commit (see group_commit).
        self.group = GroupCommit(self.files, self.index, replace=lambda: self.replace_duplicates)
        # Bytes in the archive, for the quota check on every C-STORE without a SUM over all studies.
        self._usage: int | None = None
        self._usage_lock = threading.Lock()

    @classmethod
    def open(cls, paths: Paths, config: Config | None = None) -> Archive:
        """Open (creating if needed) the archive of a home.

        The first to open it (no other process, or Archive, has it open) also
        cleans up after an interrupted run: temporary files in the incoming
        directory, and rows whose flush a crash may have cut short
        (:mod:`.recovery`). Anyone else would be doing that under the feet
        of a server that is receiving.
        """
        archive = cls(paths.index_file, paths.store_dir, config.archive if config else None)
        archive.files.ensure()
        archive.index.open()
        with archive._lock.alone() as alone:
            if alone:
                removed = archive.files.clean_incoming()
                if removed:
                    log.info("removed %d temporary files left by an interrupted transfer", removed)
                check_unflushed(archive.files, archive.index)
        return archive

    def close(self) -> None:
        self.group.close()
        self.index.close()
        self.files.close()
        self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def incoming_dir(self) -> Path:
        """Where receivers should put temporary files so that storing is a rename."""
        self.files.ensure()
        return self.files.incoming

    @property
    def replace_duplicates(self) -> bool:
        return self.settings.duplicates is DuplicatePolicy.REPLACE

    def check_quota(self, incoming_bytes: int) -> None:
        """Refuse (A700) when storing ``incoming_bytes`` would exceed the disk or the quota."""
        quota = self.settings.quota_gb
        if quota is not None and self._current_usage() + incoming_bytes > quota * 1e9:
            raise OutOfResources(f"the archive quota of {quota:g} GB is reached")
        if self.files.free_bytes() < incoming_bytes + (16 << 20):
            raise OutOfResources("the disk holding the archive is full")

    def _current_usage(self) -> int:
        with self._usage_lock:
            if self._usage is None:
                self._usage = self.index.total_bytes()
            return self._usage

    def _account(self, delta: int) -> None:
        with self._usage_lock:
            if self._usage is not None:
                self._usage += delta

    def forget_usage(self) -> None:
        """Re-read the stored byte total on the next quota check (after deletes and batch imports)."""
        with self._usage_lock:
            self._usage = None

    def ingest_file(self, source: Path | bytes, *, source_ae: str = "", header: Header | None = None,
                    transfer_syntax: str | None = None, size: int | None = None) -> StoredInstance:
        """Store a Part 10 file written to :attr:`incoming_dir` (consumed), or one held whole in
        memory (a small received data set: written straight under its final name).

        The file need not be flushed: it is made durable here, with whatever
        other instances are being stored at the same moment (group commit).

        ``header`` may be given when the caller has already parsed it (the
        C-STORE path); otherwise it is read here. So may the file's ``size``,
        when the caller wrote it. On any failure the temporary file is
        removed and the exception propagates.
        """
        try:
            if header is None:
                header = read_any_header(source, transfer_syntax)
            if size is None:
                size = len(source) if isinstance(source, bytes) else source.stat().st_size
            record = record_from_header(header, source_ae=source_ae, file_size=size,
                                        transfer_syntax=transfer_syntax)
            return self._place(source, record)
        except BaseException:
            self.files.discard(source)
            raise

    def _place(self, source: Path | bytes, record: InstanceRecord) -> StoredInstance:
        relative = FileStore.relative_path(record.study_uid, record.series_uid, record.sop_instance_uid)
        record.instance["path"] = relative
        # A duplicate is found where its file would go (the name is taken), not by asking the
        # index first: that was a read transaction per received instance.
        try:
            self.check_quota(record.instance["file_size"])
        except OutOfResources:
            if self.replace_duplicates or not self.index.has_instance(record.sop_instance_uid):
                raise
            self.files.discard(source)  # nothing to store: a full disk does not refuse what we have
            return StoredInstance(record, relative, duplicate=True)
        outcome = self.group.commit(PendingInstance(source, record))
        if outcome.duplicate:
            self.forget_usage()
        else:
            self._account(int(record.instance["file_size"]))
        if outcome.duplicate and not outcome.inserted:
            # Stored before (or by another association a moment ago): the path is the stored file's.
            return StoredInstance(record, outcome.old_path or relative, duplicate=True)
        if outcome.old_path and outcome.old_path != relative:
            self.files.remove(outcome.old_path)
        return StoredInstance(record, relative, duplicate=outcome.duplicate, replaced=outcome.duplicate)

    def delete_paths(self, relatives: list[str]) -> None:
        """Remove the files of rows already deleted from the index."""
        self.forget_usage()
        for relative in relatives:
            try:
                self.files.remove(relative)
            except OSError as exc:
                log.warning("could not remove %s: %s", relative, exc)
