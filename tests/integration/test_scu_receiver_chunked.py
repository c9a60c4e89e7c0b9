"""The C-MOVE receiver and C-GET store path when chunked receive is on in the same process.

An SCP running beside the SCU (the workstation's embedded node, the demo
PACS) switches pynetdicom to chunked receive process-wide; the receiver must
then take the data set from the temporary file instead of from memory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from pydicom import dcmread

from tests.integration.test_scu_helpers import small_instances
from tests.support.tools import dcmtk_env, free_port, require_tool
from tui_pacs.config.model import LocalNode
from tui_pacs.config.paths import resolve_paths
from tui_pacs.domain.attributes import Level
from tui_pacs.net.scp.chunked import (
    install_chunked_receive,
    installed_dir,
    uninstall_chunked_receive,
)
from tui_pacs.net.scu.ingest import ReceivedCounts
from tui_pacs.net.scu.receiver import storage_receiver
from tui_pacs.store.archive import Archive
from tui_pacs.store.query import Query


@contextlib.contextmanager
def chunked_receive_restored() -> Iterator[None]:
    """Put back whichever chunked receive was installed before (the setting is process-wide)."""
    previous = installed_dir()
    try:
        yield
    finally:
        if previous is not None:
            install_chunked_receive(previous)
        else:
            uninstall_chunked_receive()


def store_into_receiver(archive: Archive, files: list[Path]) -> ReceivedCounts:
    """storescu ``files`` into a temporary storage receiver on ``archive``; what it counted."""
    storescu = require_tool("storescu")
    port = free_port()
    with storage_receiver(LocalNode(ae_title="RECEIVER", bind="127.0.0.1", port=port), archive) as counts:
        result = subprocess.run([storescu, "-aec", "RECEIVER", "127.0.0.1", str(port), *map(str, files)],
                                capture_output=True, text=True, env=dcmtk_env(), timeout=60)
        assert result.returncode == 0, result.stderr
    return counts


def test_receiver_stores_when_chunked_receive_is_installed(tmp_path: Path) -> None:
    other = resolve_paths(tmp_path / "other")
    other.ensure()
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    files = small_instances(tmp_path / "send", 5)
    with chunked_receive_restored():
        with Archive.open(other) as other_archive:
            install_chunked_receive(other_archive.incoming_dir)  # as an SCP on another archive would
        with Archive.open(paths) as archive:
            counts = store_into_receiver(archive, files)
            assert (counts.stored, counts.refused) == (5, 0)
            rows = archive.index.find(Query(Level.IMAGE, {"_path": ""}))
            assert len(rows) == 5
            for row in rows:
                stored = dcmread(archive.files.root / row["_path"])
                assert stored.SOPInstanceUID == row["SOPInstanceUID"]
        assert os.listdir(other.store_dir / ".incoming") == []


def test_receiver_answers_its_c_stores_on_the_reading_thread(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """As in the SCP: each C-STORE of a move is stored and answered on the DUL thread that read
    it (reactor._Requests), not handed to the reactor thread (retrieve from Orthanc 119 -> 190/s)."""
    from tui_pacs.net.fastpath import reactor
    from tui_pacs.net.scu import receiver

    installed: list[object] = []
    original = reactor.install

    def watched(assoc, *args, **kwargs):  # type: ignore[no-untyped-def]
        installed.append(assoc)
        return original(assoc, *args, **kwargs)

    monkeypatch.setattr(receiver.reactor, "install", watched)
    paths = resolve_paths(tmp_path / "home")
    paths.ensure()
    files = small_instances(tmp_path / "send", 6)
    with chunked_receive_restored(), Archive.open(paths) as archive:
        assert store_into_receiver(archive, files).stored == 6
    assert len(installed) == 1
    assert installed[0].dimse.msg_queue.answered_inline == 6  # type: ignore[attr-defined]
