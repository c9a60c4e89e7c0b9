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


def test_a_file_left_under_the_next_name_is_not_reused(tmp_path: Path) -> None:
    """A file already under the next name (a forked child shares the counter) is stepped over, never written into."""
    first = chunked.IncomingFile(str(tmp_path))
    first.close()
    stem, number = Path(first.name).name.rsplit("-", 1)
    following = int(number.split(".")[0]) + 1
    stale = tmp_path / f"{stem}-{following}.part"
    stale.write_bytes(b"someone else's")
    second = chunked.IncomingFile(str(tmp_path))
    second.write(b"ours")
    second.close()
    assert second.name != str(stale) and stale.read_bytes() == b"someone else's"
    assert Path(second.name).read_bytes() == b"ours"


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
