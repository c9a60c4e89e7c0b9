"""After a crash: the index rows whose files may not have reached the disk.

The group commit commits a batch's rows and then flushes the filesystem
once, for the files and the rows together (:mod:`.group_commit`). If the
machine stops inside that flush, a row can be on disk while its file is
not, or only part of it. Nobody was told Success for such an instance, and
the index must not keep it: every new row is listed in the ``unflushed``
table (by a trigger, in the row's own transaction) until its flush has been
seen through, so a start finds any such row among the few still listed.

A row is kept when its file is there, as long as the row says, and reads
as the instance it names. Otherwise the row is removed and whatever part
of the file exists goes too: a replaced file cannot be the one found,
since a replacement's name is made durable before its row is committed
(:meth:`.files.FileStore.replace`).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.store.extract import read_any_header
from tui_pacs.store.files import FileStore
from tui_pacs.store.index import Index

log = logging.getLogger(__name__)

LOCK_NAME = "archive.lock"
"""Next to the index: held shared by every open archive (:class:`ArchiveLock`)."""


class ArchiveLock:
    """Who has the archive open: a flock(2), held shared by each open Archive of any process.

    Clean-up after a crash must run only when nobody else has the archive
    open: the unflushed rows of a server that is receiving are its own
    (their files are whole, in the page cache, and listed until its flush),
    and so are the files in its incoming directory.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Whether this is the only holder; while True, everyone else who opens it waits."""
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except BlockingIOError:
            alone = False
        try:
            yield alone
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_SH)  # back to shared (and again, if the try dropped it)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class Recovery:
    """What a start found among the instances listed as unflushed."""

    checked: int = 0
    removed: list[str] = field(default_factory=list)
    """Store paths of rows removed, their files not (wholly) on disk."""


def check_unflushed(files: FileStore, index: Index) -> Recovery:
    """Check every instance still listed as unflushed; remove the rows whose files did not make it.

    Then strike them all off the list, durably. Cheap: after a clean stop
    the list is empty, and after a crash it holds the last few hundred
    instances at most (struck off :data:`.group_commit.FORGET_EVERY` at a time).
    """
    paths = index.unflushed()
    found = Recovery(checked=len(paths))
    if not paths:
        return found
    sizes = index.file_sizes(paths)
    found.removed = [path for path in paths if path in sizes and not _intact(files, path, sizes[path])]
    if found.removed:
        index.remove_instances(found.removed)
        for path in found.removed:
            try:
                files.remove(path)
            except OSError as exc:
                log.warning("could not remove %s: %s", path, exc)
        log.warning("removed %d instances whose files did not reach the disk before the last stop: %s",
                    len(found.removed), ", ".join(found.removed[:5]) + (" ..." if len(found.removed) > 5 else ""))
    index.forget_unflushed(paths, durable=True)
    return found


def _intact(files: FileStore, path: str, size: int) -> bool:
    """The file is there, as long as its row says, and reads as the instance its name says."""
    absolute = files.absolute(path)
    try:
        if os.stat(absolute).st_size != size:
            return False
        header = read_any_header(absolute)
    except (OSError, TuiPacsError):
        return False
    return str(header.get("SOPInstanceUID", "")) == absolute.stem
