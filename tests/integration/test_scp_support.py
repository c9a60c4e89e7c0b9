"""Shared helpers for the SCP tests: a real in-process SCP on a free loopback port.

Named ``test_scp_*`` to stay within the SCP tests' files; it holds no tests.
The server is ours, the clients are real dcmtk tools (never mocks).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tests.support.tools import free_port, run_tool
from tui_pacs.config.model import Config, LocalNode, RemoteNode, Timeouts
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.domain.events import Event
from tui_pacs.net.scp.base import ScpContext
from tui_pacs.net.scp.server import DicomServer
from tui_pacs.store.archive import Archive

AET = "TUIPACS"
HOST = "127.0.0.1"
SHORT = Timeouts(artim=5, acse=5, dimse=10, network=10, connect=5)


@dataclass
class RunningScp:
    server: DicomServer
    archive: Archive
    paths: Paths
    config: Config
    events: list[Event] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        return self.server.port

    def kinds(self) -> list[str]:
        with self.lock:
            return [e.kind for e in self.events]

    def of_kind(self, kind: str) -> list[Any]:
        with self.lock:
            return [e for e in self.events if e.kind == kind]

    def incoming_leftovers(self) -> list[Path]:
        return [p for p in self.archive.incoming_dir.iterdir() if p.is_file()]


def make_config(port: int, **local: Any) -> Config:
    nodes = local.pop("nodes", {})
    return Config(local=LocalNode(AET, bind=HOST, port=port, timeouts=SHORT, **local), nodes=nodes)


@contextmanager
def running_scp(home: Path, config: Config | None = None) -> Iterator[RunningScp]:
    """Start our SCP over a fresh archive in ``home``; stop it and close the archive after."""
    config = config or make_config(free_port())
    paths = resolve_paths(home)
    paths.ensure()
    archive = Archive.open(paths, config)
    holder: list[RunningScp] = []

    def report(event: Event) -> None:
        with holder[0].lock:
            holder[0].events.append(event)

    server = DicomServer(ScpContext(archive, config, report=report))
    scp = RunningScp(server, archive, paths, config)
    holder.append(scp)
    server.start()
    try:
        yield scp
    finally:
        server.stop(grace=5)
        archive.close()


def node(name: str, aet: str, port: int, host: str = HOST) -> RemoteNode:
    return RemoteNode(name=name, ae_title=aet, host=host, port=port)


def with_nodes(config: Config, *nodes: RemoteNode) -> Config:
    return replace(config, nodes={n.name: n for n in nodes})


def dataset_bytes(path: Path) -> bytes:
    """The bytes of a Part 10 file after its File Meta Information (PS3.10 7.1)."""
    data = path.read_bytes()
    assert data[128:132] == b"DICM", f"{path} is not a Part 10 file"
    assert data[132:136] == b"\x02\x00\x00\x00", f"{path} lacks (0002,0000) group length"
    (length,) = struct.unpack("<I", data[140:144])
    return data[144 + length:]


def echo(port: int, calling: str = "ECHOSCU", called: str = AET, check: bool = True) -> Any:
    return run_tool("echoscu", "-aet", calling, "-aec", called, HOST, str(port), timeout=30, check=check)
