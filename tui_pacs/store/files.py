"""The file store: where instances live on disk and how they get there durably.

Layout: ``<store>/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm``. Every path
component is a validated UID, so nothing from the wire can choose a path.

Writes are atomic and durable: the bytes go to a temporary file in
``<store>/.incoming`` (same filesystem), or a small instance's straight under
its final name, and then a whole batch is flushed, data, names and index
rows, before anything is acknowledged (:meth:`FileStore.make_durable`,
driven by :mod:`.group_commit`). A crash inside that flush can leave a row
over half a file; the next start finds and removes it (:mod:`.recovery`).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from tui_pacs.domain.uids import require_uid
from tui_pacs.store import syscalls
from tui_pacs.store.errors import OutOfResources, StoreError

INCOMING = ".incoming"
PLENTY_FREE = 4 << 30
FREE_SPACE_TTL = 0.5
_COPY_CHUNK = 1 << 20


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def storage_error(exc: OSError, what: str) -> StoreError:
    """The archive error for a failed file operation: OutOfResources (A700) when out of space
    (a full disk, a quota, a file larger than the filesystem takes)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return OutOfResources(f"no space left to store {what}")
    return StoreError(f"cannot store {what}: {exc.strerror or exc}")


class Placement(NamedTuple):
    """Where :meth:`FileStore.place` put a file."""

    path: Path
    changed: list[Path]
    """Directories whose entries changed."""
    fresh: bool
    """The name was new (False: an older file under it was replaced)."""


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def open_new(path: Path | str) -> int:
    """Create ``path`` for writing, only if nothing has the name (FileExistsError otherwise)."""
    return os.open(path, _NEW_FILE, 0o600)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (os.write may take less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_new(target: Path, content: bytes) -> bool:
    """Write ``content`` as a new file ``target``; False (nothing done) if the name is taken."""
    try:
        fd = open_new(target)
    except FileExistsError:
        return False
    try:
        write_all(fd, content)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return True


class FileStore:
    """Owns the directory tree of instance files."""

    def __init__(self, root: Path, *, whole_filesystem: bool = True) -> None:
        self.root = root
        self.whole_filesystem = whole_filesystem
        """Flush a batch with one syncfs (else an fsync per file and directory)."""
        self.incoming = root / INCOMING
        self._root_fd: int | None = None
        self._root_lock = threading.Lock()
        self._free = (0, 0.0)  # (bytes free, when asked)

    def ensure(self) -> None:
        self.incoming.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def relative_path(study_uid: str, series_uid: str, sop_uid: str) -> str:
        """The store-relative path of an instance; raises InvalidUID for anything but UIDs."""
        return "/".join(
            (
                require_uid(study_uid, "Study Instance UID"),
                require_uid(series_uid, "Series Instance UID"),
                require_uid(sop_uid, "SOP Instance UID") + ".dcm",
            )
        )

    def absolute(self, relative: str) -> Path:
        return self.root / relative

    def new_temporary(self) -> tuple[BinaryIO, Path]:
        """An open temporary file in the incoming directory, on the store's filesystem."""
        self.ensure()
        try:
            fd, name = tempfile.mkstemp(prefix="in-", suffix=".part", dir=self.incoming)
        except OSError as exc:
            raise storage_error(exc, "an incoming instance") from exc
        return os.fdopen(fd, "w+b"), Path(name)

    def write_temporary(self, chunks: Iterable[bytes], *, sync: bool = True) -> Path:
        """Write ``chunks`` to a new temporary file and return its path.

        With ``sync=False`` the caller promises to make it durable before it
        is indexed (:meth:`make_durable`, as the group commit does).
        """
        handle, path = self.new_temporary()
        try:
            with handle:
                for chunk in chunks:
                    handle.write(chunk)
                handle.flush()
                if sync:
                    os.fsync(handle.fileno())
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise storage_error(exc, "an incoming instance") from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

    def copy_to_temporary(self, source: BinaryIO, prefix: bytes = b"", *, sync: bool = True) -> Path:
        """Stream ``prefix`` then the rest of ``source`` into a temporary file (fsynced unless ``sync=False``)."""

        def chunks() -> Iterable[bytes]:
            if prefix:
                yield prefix
            while block := source.read(_COPY_CHUNK):
                yield block

        return self.write_temporary(chunks(), sync=sync)

    def place(self, source: Path | bytes, relative: str) -> Placement | None:
        """Put an instance under its final name unless the name is taken; nothing flushed yet.

        ``source`` is a temporary file (renamed, by one rename that refuses
        to replace; it must be on the store's filesystem, :meth:`localise`)
        or, for a small received instance, its bytes (written straight under
        the final name: a temporary file in the incoming directory and its
        rename dirtied two directories per instance, which the batch's flush
        wrote). Returns where it went and the directories whose entries
        changed (for the caller to make durable, a whole batch at once, with
        :meth:`make_durable`); None, with nothing done, when a file already
        has the name (the caller decides: a duplicate to drop, or
        :meth:`replace`). The series directory is made only when the first
        try misses it. A crash while writing bytes leaves a file no row
        points at, which the next copy of the instance replaces. Raises
        OSError; the caller cleans up.
        """
        target = self.root / relative
        if isinstance(source, bytes):
            def put() -> bool:
                return _write_new(target, source)
        else:
            def put() -> bool:
                return syscalls.rename_noreplace(source, target)
        try:
            done, changed = put(), [target.parent]
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
            done, changed = put(), [target.parent, target.parent.parent, self.root]
        return Placement(target, changed, fresh=True) if done else None

    def replace(self, source: Path | bytes, relative: str) -> Placement:
        """Put an instance (a temporary file, or its bytes) over an existing file of the same name.

        Flushed here, the new bytes before the rename and the directory
        after: the row that replaces the old one is committed before the
        batch's flush, and a crash must find under the name the file the
        row describes, never the old one or lost data (:mod:`.recovery`
        would take the row out, and the instance with it). Replacing is
        rare (``[archive] duplicates = "replace"``). Raises OSError
        (StoreError for bytes that cannot be written); the caller cleans up.
        """
        target = self.root / relative
        if isinstance(source, Path):
            self.fsync(source)
            os.replace(source, target)
        else:
            temporary = self.write_temporary([source])  # flushed
            try:
                os.replace(temporary, target)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        _fsync_dir(target.parent)
        return Placement(target, [target.parent], fresh=False)

    def localise(self, temporary: Path) -> Path:
        """``temporary`` if it can be renamed into the store; else a copy in the incoming
        directory (the original removed). A file received into another archive's incoming
        directory (chunked receive is one per process) may be on another filesystem."""
        if temporary.parent == self.incoming:
            return temporary
        if os.stat(temporary).st_dev == os.stat(self.root).st_dev:
            return temporary
        return self._copy_in(temporary)

    def make_durable(self, files: Sequence[Path], directories: Iterable[Path]) -> bool:
        """Flush a batch of placed files: their data and their directory entries.

        One syncfs(2) covers both for the whole batch, and everything else
        written to the filesystem (True is returned); without it (not Linux,
        or ``[archive] flush = "files"``) each file and each distinct
        directory is fsynced (False). Raises :class:`StoreError`
        (OutOfResources when the disk is full).
        """
        try:
            if self.whole_filesystem and self._syncfs():
                return True
            for path in files:
                self.fsync(path)
            for directory in dict.fromkeys(directories):
                _fsync_dir(directory)
        except OSError as exc:
            raise storage_error(exc, "a batch of instances") from exc
        return False

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is on the store's filesystem (a syncfs of the store flushes it)."""
        return os.stat(path).st_dev == os.stat(self.root).st_dev

    @staticmethod
    def fsync(path: Path) -> None:
        """Flush one file's data (raises OSError)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _copy_in(self, foreign: Path) -> Path:
        """Copy a file from another filesystem into our incoming directory, fsynced; remove the original."""
        with foreign.open("rb") as source:
            local = self.copy_to_temporary(source)
        foreign.unlink(missing_ok=True)
        return local

    def _syncfs(self) -> bool:
        """syncfs(2) on the store's filesystem; False where the call does not exist.

        The store root stays open from the first call on: syncfs reports a
        writeback error that happened since its descriptor was opened, so a
        descriptor opened just before the call could miss the failed
        background writeback of a file written earlier.
        """
        with self._root_lock:
            if self._root_fd is None:
                self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                return syscalls.syncfs(self._root_fd)
            except OSError as exc:
                raise storage_error(exc, "a batch of instances") from exc

    def close(self) -> None:
        """Release the descriptor kept for syncfs."""
        with self._root_lock:
            if self._root_fd is not None:
                os.close(self._root_fd)
                self._root_fd = None

    def remove(self, relative: str) -> None:
        """Delete an instance file and prune empty series/study directories."""
        target = self.root / relative
        target.unlink(missing_ok=True)
        for directory in (target.parent, target.parent.parent):
            try:
                directory.rmdir()
            except OSError:
                break

    def discard(self, source: Path | bytes) -> None:
        """Remove a temporary file not placed (bytes held in memory leave nothing to remove)."""
        if isinstance(source, Path):
            source.unlink(missing_ok=True)

    def clean_incoming(self) -> int:
        """Remove temporary files left by a crash; they were never indexed."""
        if not self.incoming.is_dir():
            return 0
        removed = 0
        for leftover in self.incoming.iterdir():
            if leftover.is_file():
                leftover.unlink(missing_ok=True)
                removed += 1
        return removed

    def usage_bytes(self) -> int:
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
        return total

    def free_bytes(self) -> int:
        """Free space where the store lives (asked before every received instance is placed).

        With plenty free (:data:`PLENTY_FREE`), the last answer stands for
        :data:`FREE_SPACE_TTL` seconds: a statvfs per instance is a system
        call, and each releases the interpreter lock to the other
        associations; no sender fills gigabytes in that time. Closer to full
        it is asked every time. (A disk that fills anyway fails the write,
        ENOSPC, which is refused with A700 all the same.)
        """
        now = time.monotonic()
        free, asked = self._free
        if free > PLENTY_FREE and now - asked < FREE_SPACE_TTL:
            return free
        free = shutil.disk_usage(self.root).free
        self._free = (free, now)
        return free
