"""The temporary file a received data set is written to (net/scp/chunked.IncomingFile)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui_pacs.net.scp import chunked
from tui_pacs.store.errors import StoreError


def test_each_data_set_gets_a_file_of_its_own(tmp_path: Path) -> None:
    files = [chunked.IncomingFile(str(tmp_path)) for _ in range(3)]
    for n, incoming in enumerate(files):
        incoming.write(b"data set %d" % n)
        incoming.close()
    assert len({incoming.name for incoming in files}) == 3
    assert [Path(f.name).read_bytes() for f in files] == [b"data set 0", b"data set 1", b"data set 2"]
    assert all(oct(os.stat(f.name).st_mode & 0o777) == oct(0o600) for f in files)


def test_a_file_already_under_the_name_is_never_written_into_or_removed(tmp_path: Path) -> None:
    """The name is chosen at once, the file made at the first write: a file found there then
    (never expected: the name holds the process ID and a counter) fails the data set and is
    left as it was."""
    incoming = chunked.IncomingFile(str(tmp_path))
    stale = Path(incoming.name)
    stale.write_bytes(b"someone else's")
    incoming.write(b"ours")
    with pytest.raises(StoreError):
        incoming.finish()
    incoming.close()
    assert stale.read_bytes() == b"someone else's"


def test_names_differ_between_processes(tmp_path: Path) -> None:
    """A forked child shares the token and the counter; the process ID keeps the names apart."""
    import os

    assert f"-{os.getpid()}-" in Path(chunked.IncomingFile(str(tmp_path)).name).name


def test_no_file_is_made_before_the_first_write(tmp_path: Path) -> None:
    incoming = chunked.IncomingFile(str(tmp_path))
    assert not Path(incoming.name).exists()
    incoming.write(b"x")
    incoming.finish()
    assert Path(incoming.name).read_bytes() == b"x"


def test_a_small_data_set_taken_in_memory_never_gets_a_file(tmp_path: Path) -> None:
    incoming = chunked.IncomingFile(str(tmp_path))
    incoming.write(b"\x00" * 128)
    incoming.write(b"DICM rest")
    assert incoming.take_in_memory() == b"\x00" * 128 + b"DICM rest"
    incoming.write(b"late")  # nothing more may make the file
    incoming.close()
    assert list(tmp_path.iterdir()) == []


def test_a_data_set_already_written_is_not_taken_in_memory(tmp_path: Path) -> None:
    incoming = chunked.IncomingFile(str(tmp_path))
    incoming.write(b"a" * (1 << 16))  # reaches the write threshold: written now
    assert incoming.take_in_memory() is None
    incoming.finish()
    assert Path(incoming.name).stat().st_size == 1 << 16


def test_an_unwritable_directory_fails_at_finish_not_at_write(tmp_path: Path) -> None:
    incoming = chunked.IncomingFile(str(tmp_path / "missing"))
    assert incoming.write(b"dropped") == 7  # the association still reads the data set
    with pytest.raises(StoreError):
        incoming.finish()


def test_a_received_file_is_released_once(tmp_path: Path) -> None:
    """Closed and removed if the archive left it (a refusal), and forgotten: a second release,
    by the next layer up, does nothing."""

    class Request:
        _dataset_file: chunked.IncomingFile | None = None

    request = Request()
    request._dataset_file = incoming = chunked.IncomingFile(str(tmp_path))
    incoming.write(b"refused data set")
    chunked.release_received_file(request)
    assert request._dataset_file is None and not Path(incoming.name).exists()
    with pytest.raises(ValueError):
        incoming.fileno()  # closed
    chunked.release_received_file(request)  # nothing left to do, no error


class _Event:
    """The parts of a C-STORE event :func:`chunked.received_file` reads."""

    def __init__(self, incoming: chunked.IncomingFile) -> None:
        self.request = type("Request", (), {})()
        self.request._dataset_file = incoming
        self.request._dataset_path = incoming.name


def test_a_small_data_set_is_handed_over_with_its_bytes(tmp_path: Path) -> None:
    """Written by one write(2) at the end: the taker gets the bytes and the size with the path,
    so nothing reads the file back; once handed over, releasing it leaves it to the taker."""
    incoming = chunked.IncomingFile(str(tmp_path))
    for piece in (b"\x00" * 128, b"DICM", b"meta", b"data set"):
        incoming.write(piece)
    received = chunked.received_file(_Event(incoming))
    assert received is not None
    whole = b"\x00" * 128 + b"DICMmetadata set"
    assert received.content == whole and received.size == len(whole)
    assert received.path.read_bytes() == whole
    chunked.release_received_file(incoming_request := _Event(incoming).request)
    assert incoming_request._dataset_file is None and received.path.exists()


def test_a_large_data_set_is_handed_over_without_its_bytes(tmp_path: Path) -> None:
    """Written in several write(2)s as it arrived: only the file holds it all."""
    incoming = chunked.IncomingFile(str(tmp_path))
    pieces = [bytes([n]) * 40_000 for n in range(5)]
    for piece in pieces:
        incoming.write(piece)
        incoming.file.flush()  # as pynetdicom's own reader does after each fragment
    received = chunked.received_file(_Event(incoming))
    assert received is not None
    assert received.content is None and received.size == 200_000
    assert received.path.read_bytes() == b"".join(pieces)


def test_a_file_not_handed_over_is_removed_on_release(tmp_path: Path) -> None:
    incoming = chunked.IncomingFile(str(tmp_path))
    incoming.write(b"never taken")
    event = _Event(incoming)
    chunked.release_received_file(event.request)
    assert not Path(incoming.name).exists()
