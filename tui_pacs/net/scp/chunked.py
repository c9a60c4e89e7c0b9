"""Received data sets go to disk as they arrive, in the archive's incoming directory.

pynetdicom's chunked receive (``_config.STORE_RECV_CHUNKED_DATASET``) writes
each C-STORE data set, fragment by fragment, to a ``NamedTemporaryFile``
behind a Part 10 preamble and file meta, so a 500 MB instance never sits in
memory. Two things are changed here, both in ``pynetdicom.dimse_messages``
(pynetdicom 3.0.x):

* the temporary file is created in the archive's ``.incoming`` directory,
  on the store's filesystem, so storing it is a rename (not TMPDIR);
* the File Meta Information group (PS3.10 7.1) is written from precomputed
  bytes instead of being built and encoded through pydicom data sets for
  every instance, which was about a third of the SCP's CPU time on small
  instances (peers.md).

The data set bytes are written exactly as received, so the stored file
holds what the sender sent, in the transfer syntax it was sent in.

Writes are gathered up to 64 KB, and the file is made at the first write:
a data set smaller than that has no file yet when it is complete, and the
Storage SCP takes its bytes from memory (``received_file(...,
in_memory=True)``) for the archive to write once, under the final name.

The temporary file is an :class:`IncomingFile`: pynetdicom writes each
fragment from the association's DUL thread, where an exception (a disk that
fills half-way through a data set, ENOSPC) would kill the association
without a response. Instead the first write error is kept, the partial file
is removed at once (so the space comes back for the other associations),
the rest of the data set is read and dropped, and :func:`received_file`
raises :class:`OutOfResources` so that the C-STORE is answered A700
(PS3.4 B.2.3) on an association that goes on serving.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import secrets
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.filebase import DicomIO
from pynetdicom import (
    PYNETDICOM_IMPLEMENTATION_UID,
    _config,
    dimse_messages,
)

from tui_pacs.store.files import open_new, storage_error, write_all

log = logging.getLogger(__name__)

RECEIVED = "the data set being received"
"""How a failed write of a received data set is named (``store.files.storage_error``)."""

TUI_PACS_VERSION_NAME = "TUI_PACS"
_lock = threading.Lock()
_installed: Path | None = None


def _element(element: int, vr: bytes, value: bytes) -> bytes:
    """One group 0002 element in Explicit VR Little Endian (PS3.5 7.1.2)."""
    if vr == b"OB":
        return struct.pack("<HH2sHI", 0x0002, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, element, vr, len(value)) + value


def _uid_bytes(value: object) -> bytes:
    raw = str(value or "").encode("ascii", "replace")[:64]
    return raw + b"\x00" if len(raw) % 2 else raw


@functools.cache
def _constant_tail() -> bytes:
    impl = _uid_bytes(PYNETDICOM_IMPLEMENTATION_UID)
    name = TUI_PACS_VERSION_NAME.encode("ascii")
    name = name + b" " if len(name) % 2 else name
    return _element(0x0012, b"UI", impl) + _element(0x0013, b"SH", name)


def file_meta_bytes(sop_class_uid: object, sop_instance_uid: object, transfer_syntax: object) -> bytes:
    """The File Meta Information group (without preamble), as PS3.10 7.1 lays it out."""
    body = (
        _element(0x0001, b"OB", b"\x00\x01")
        + _element(0x0002, b"UI", _uid_bytes(sop_class_uid))
        + _element(0x0003, b"UI", _uid_bytes(sop_instance_uid))
        + _element(0x0010, b"UI", _uid_bytes(transfer_syntax))
        + _constant_tail()
    )
    return struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(body)) + body


def _create_file_meta(*, sop_class_uid: object, sop_instance_uid: object,
                      transfer_syntax: object) -> bytes:
    return file_meta_bytes(sop_class_uid, sop_instance_uid, transfer_syntax)


def _write_file_meta_info(fp: DicomIO, meta: Any) -> None:
    if isinstance(meta, bytes):
        fp.write(meta)
    else:  # someone else's call with a real Dataset: keep pydicom's behaviour
        _ORIGINAL_WRITE(fp, meta)


_ORIGINAL_WRITE = dimse_messages.write_file_meta_info
_ORIGINALS = (dimse_messages.NamedTemporaryFile, dimse_messages.create_file_meta,  # type: ignore[attr-defined]
              dimse_messages.write_file_meta_info, _config.STORE_RECV_CHUNKED_DATASET)


def install_chunked_receive(incoming_dir: Path) -> None:
    """Turn chunked receive on, writing into ``incoming_dir`` (process-wide, idempotent).

    pynetdicom's setting is global, so one archive per process receives; a
    second call with another directory moves the temporary files there.
    """
    global _installed
    with _lock:
        incoming_dir.mkdir(parents=True, exist_ok=True)
        _config.STORE_RECV_CHUNKED_DATASET = True
        dimse_messages.NamedTemporaryFile = functools.partial(  # type: ignore[attr-defined,assignment]
            _incoming_file, str(incoming_dir))
        dimse_messages.create_file_meta = _create_file_meta  # type: ignore[attr-defined,assignment]
        dimse_messages.write_file_meta_info = _write_file_meta_info  # type: ignore[attr-defined,assignment]
        _installed = incoming_dir


def uninstall_chunked_receive() -> None:
    """Back to pynetdicom's own behaviour (tests, and a process whose SCP has stopped)."""
    global _installed
    with _lock:
        (dimse_messages.NamedTemporaryFile, dimse_messages.create_file_meta,  # type: ignore[attr-defined]
         dimse_messages.write_file_meta_info, _config.STORE_RECV_CHUNKED_DATASET) = _ORIGINALS
        _installed = None


_SMALL_WRITES = 1 << 16
"""Writes are gathered up to this size (preamble, meta, small fragments) before a write(2)."""


class IncomingFile:
    """The temporary file of one data set being received; writing it never raises.

    It stands in for the ``NamedTemporaryFile`` pynetdicom creates (it uses
    ``write``, ``file.flush``, ``name`` and ``close``). The file descriptor is
    unbuffered, so nothing is left to flush (and fail) in a destructor.

    The file is created by the first write(2), not before: a small data set
    handed over whole in memory (:func:`received_file` with ``in_memory``)
    never has one here; the archive writes it where it belongs. Creating and
    renaming a file in the incoming directory, which every association
    shares, dirtied that directory for every instance, and the batch's flush
    paid for it.
    """

    def __init__(self, directory: str) -> None:
        self.file = self  # pynetdicom calls ``.file.flush()`` after each fragment
        self.error: OSError | None = None
        self.size = 0
        """Bytes written to the file (or queued for it)."""
        self.content: bytes | None = None
        """The whole file, when it was written by one write(2) at :meth:`finish` (a small data
        set): whoever reads the data set next need not read the file back."""
        self.handed_over = False
        """Set by :func:`received_file`: the file is the caller's to place or remove."""
        self._flushed = False
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._fd: int | None = None
        self._opened = False
        """The file was made, or tried, or is never to be (its bytes were taken in memory)."""
        self._created = False
        """The file exists and is ours."""
        self.name = _unique_name(directory)

    def write(self, data: bytes) -> int:
        """Queue ``data``; once a write has failed, drop it (the association still reads it)."""
        if self.error is None:
            self._pending.append(bytes(data))
            self._pending_size += len(data)
            self.size += len(data)
            if self._pending_size >= _SMALL_WRITES:
                self.flush()
        return len(data)

    def flush(self) -> None:
        """Write what is queued; a failure is kept in :attr:`error`, never raised."""
        if self.error is not None or not self._pending:
            return
        if not self._opened:
            self._opened = True
            try:
                self._fd = open_new(self.name)  # a name taken (never expected) is an error, not a file to share
                self._created = True
            except OSError as exc:
                self._fail(exc)
                return
        if self._fd is None:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        self.content = None if self._flushed else data
        self._flushed = True
        try:
            write_all(self._fd, data)
        except OSError as exc:
            self._fail(exc)

    def finish(self) -> None:
        """Write what is queued; raise the first write error as an archive error.

        The bytes are not flushed to disk here: the archive makes each batch
        of received files durable with one flush (``store.group_commit``).
        """
        self.flush()
        if self.error is not None:
            raise storage_error(self.error, RECEIVED)

    def take_in_memory(self) -> bytes | None:
        """The whole file's bytes, if nothing of it was written yet (a small data set): the
        caller takes them and no file is ever made here. None (and nothing done) otherwise."""
        if self._opened or self.error is not None:
            return None
        content = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        self._opened = True  # nothing is to be written under this name from now on
        self.content = content
        return content

    def fileno(self) -> int:
        if self._fd is None:
            raise ValueError("the incoming file is closed")
        return self._fd

    def close(self) -> None:
        """Write what is queued (a failure is kept) and close the descriptor."""
        self.flush()
        self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError as exc:
                log.debug("closing %s: %s", self.name, exc)

    def _fail(self, exc: OSError) -> None:
        self.error = exc
        self.content = None
        self._pending.clear()
        self._pending_size = 0
        log.warning("cannot write the data set being received (%s); dropping the rest of it",
                    exc.strerror or exc)
        # Give the space back now, not when the association gets round to answering.
        self._close_fd()
        if self._created:
            try:
                os.unlink(self.name)
            except OSError:
                pass


_names = itertools.count()
_TOKEN = secrets.token_hex(6)
_pid = os.getpid()
"""This process's ID, kept: os.getpid() is a system call, and this is asked for every data set."""


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def _unique_name(directory: str) -> str:
    """A name ``in-<pid>-<token>-<n>.part`` in ``directory`` for a file made later.

    ``tempfile.mkstemp`` draws a random name for every file, a measurable
    share of the receiving thread's time per small instance; a counter
    under a random token is as unique. The process ID is in the name
    because a forked child shares the token and the counter.
    """
    return f"{directory}{os.sep}in-{_pid}-{_TOKEN}-{next(_names)}.part"


def _incoming_file(directory: str, **_kwargs: Any) -> IncomingFile:
    return IncomingFile(directory)


def installed_dir() -> Path | None:
    """Where chunked receive currently writes (None when not installed)."""
    return _installed


@dataclass(frozen=True)
class ReceivedFile:
    """A received data set's Part 10 temporary file, handed to whoever stores it."""

    path: Path
    size: int
    content: bytes | None = None
    """The file's bytes when they are still in memory (a small data set), else None."""
    on_disk: bool = True
    """False: there is no file at :attr:`path` (yet), only :attr:`content`."""

    @property
    def source(self) -> Path | bytes:
        """What the archive stores: the file, or the bytes when there is no file."""
        return self.path if self.on_disk or self.content is None else self.content


def received_file(event: Any, *, in_memory: bool = False) -> ReceivedFile | None:
    """The written Part 10 temporary file of a C-STORE received in chunked mode, or None.

    The file is complete but not yet flushed to disk; :meth:`Archive.ingest_file`
    makes it durable before anything is acknowledged. Both the SCP and the SCU's C-GET/C-MOVE receivers use this: once chunked
    receive is installed it applies to every association in the process.
    Raises :class:`OutOfResources` when the disk filled while the data set
    arrived (nothing of it is left on disk), :class:`StoreError` for any
    other write failure.

    From here on the file is the caller's: it places it in the archive or
    removes it, whatever happens (:func:`release_received_file` leaves it).
    With ``in_memory`` a small data set may come as its bytes only, no file
    written (``on_disk`` false): the archive writes them at their final name.
    """
    request = event.request
    handle = getattr(request, "_dataset_file", None)
    path = getattr(request, "_dataset_path", None)
    if handle is None or path is None:
        return None
    if isinstance(handle, IncomingFile):
        content = handle.take_in_memory() if in_memory else None
        if content is not None:
            handle.handed_over = True
            return ReceivedFile(Path(path), len(content), content, on_disk=False)
        handle.finish()
        handle.handed_over = True
        return ReceivedFile(Path(path), handle.size, handle.content)
    try:  # pynetdicom's own temporary file (chunked receive turned on by someone else)
        handle.flush()
        return ReceivedFile(Path(path), os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise storage_error(exc, RECEIVED) from exc


def release_received_file(request: Any) -> None:
    """Close a C-STORE's chunked-receive file and remove it unless it was handed over; once.

    A file :func:`received_file` handed over has been renamed into place or
    removed by its taker; looking for it again would cost an unlink (a lock
    on the incoming directory, which every association creates files in) per
    instance. The request forgets the file, so whoever calls this next (the
    fast path after the move receiver's handler, pynetdicom's Storage SCP)
    has nothing left to do.
    """
    handle = getattr(request, "_dataset_file", None)
    if handle is None:
        return
    request._dataset_file = None
    handle.close()
    if not getattr(handle, "handed_over", False):
        Path(handle.name).unlink(missing_ok=True)
