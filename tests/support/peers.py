"""Real DICOM peers on free loopback ports: dcmtk storescp, dcmqrscp and Orthanc.

Tests talk to real implementations instead of mocks (see the design notes):
each context manager starts a peer in its own temporary directory, waits
until its port accepts connections, yields a small description of it, and
stops it (SIGTERM, then SIGKILL, whole process group) when the block ends.

Use the fixtures ``storescp``, ``dcmqrscp`` and ``orthanc`` for the common
case, or the context managers ``run_storescp``, ``run_dcmqrscp`` and
``run_orthanc`` when a test needs a non-default set-up (a C-MOVE
destination, ``--fork``, two Orthancs)::

    def test_send(storescp: StoreSCP) -> None:
        send(host="127.0.0.1", port=storescp.port, called_aet=storescp.aet, ...)
        assert len(storescp.received()) == 1

    def test_move(tmp_path: Path) -> None:
        with run_orthanc(tmp_path, modalities={"us": ("TUIPACS", "127.0.0.1", my_port)}) as pacs:
            pacs.rest.upload(sample_file)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.orthanc import OrthancRest, orthanc_config
from tests.support.process import PeerProcess
from tests.support.tools import dcmtk_env, free_port, require_tool, run_tool

HOST = "127.0.0.1"


@dataclass(frozen=True)
class StoreSCP:
    """A running dcmtk ``storescp`` that writes what it receives to ``storage``."""

    aet: str
    port: int
    storage: Path
    process: PeerProcess
    host: str = HOST

    def received(self) -> list[Path]:
        """Files received so far (storescp writes each instance as one file)."""
        return sorted(p for p in self.storage.rglob("*") if p.is_file())


@dataclass(frozen=True)
class QRSCP:
    """A running dcmtk ``dcmqrscp`` (Query/Retrieve SCP) over ``storage``."""

    aet: str
    port: int
    storage: Path
    config_file: Path
    process: PeerProcess
    host: str = HOST

    def index(self, files: Iterable[Path]) -> None:
        """Register existing files in the archive with ``dcmqridx`` (it does not copy them)."""
        index_files(self.storage, files)


def index_files(storage: Path, files: Iterable[Path]) -> None:
    """Index DICOM files into a dcmqrscp storage area with ``dcmqridx``.

    dcmqridx records the paths, so the files must stay where they are for as
    long as the SCP serves them.
    """
    paths = [str(p) for p in files]
    if paths:
        run_tool("dcmqridx", str(storage), *paths)


@dataclass(frozen=True)
class Orthanc:
    """A running Orthanc with its DICOM port, HTTP port and REST client."""

    aet: str
    port: int
    http_port: int
    workdir: Path
    process: PeerProcess
    host: str = HOST

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.base_url}/dicom-web"

    @property
    def rest(self) -> OrthancRest:
        return OrthancRest(self.base_url)


def _workdir(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def run_storescp(base: Path, *, aet: str = "STORESCP", fork: bool = False,
                 extra_args: Sequence[str] = (), timeout: float = 20.0) -> Iterator[StoreSCP]:
    """Start ``storescp +xa`` (accepts every transfer syntax) writing into ``base/storescp/in``."""
    exe = require_tool("storescp")
    workdir = _workdir(base, "storescp")
    storage = _workdir(workdir, "in")
    port = free_port()
    argv = [exe, "--aetitle", aet, "+xa", "-od", str(storage), *(["--fork"] if fork else []),
            *extra_args, str(port)]
    process = PeerProcess("storescp", argv, workdir=workdir, env=dcmtk_env())
    try:
        process.wait_for_port(port, timeout=timeout)
        yield StoreSCP(aet=aet, port=port, storage=storage, process=process)
    finally:
        process.stop()


def dcmqrscp_config(*, port: int, aet: str, storage: Path,
                    move_destinations: Mapping[str, int] | None = None) -> str:
    """The text of a dcmqrscp config: one read/write archive open to ``ANY`` peer.

    ``move_destinations`` maps AE titles to loopback ports; dcmqrscp only
    C-MOVEs to AEs listed in its HostTable.
    """
    hosts = [f"dest{i} = ({dest_aet}, {HOST}, {dest_port})"
             for i, (dest_aet, dest_port) in enumerate((move_destinations or {}).items())]
    return "\n".join([
        f"NetworkTCPPort = {port}",
        "MaxPDUSize = 16384",
        "MaxAssociations = 16",
        "HostTable BEGIN", *hosts, "HostTable END",
        "VendorTable BEGIN", "VendorTable END",
        "AETable BEGIN",
        f'{aet} {storage} RW (500, 1024mb) ANY',
        "AETable END",
        "",
    ])


@contextmanager
def run_dcmqrscp(base: Path, *, aet: str = "DCMQRSCP", files: Iterable[Path] = (),
                 move_destinations: Mapping[str, int] | None = None,
                 timeout: float = 20.0) -> Iterator[QRSCP]:
    """Start ``dcmqrscp`` with its own config; ``files`` are indexed before it starts.

    It forks a child per association (its default): dcmtk 3.6.7's
    ``--single-process`` mode exits after the first association. The
    children share the peer's process group, so stopping the peer ends them.
    """
    exe = require_tool("dcmqrscp")
    workdir = _workdir(base, "dcmqrscp")
    storage = _workdir(workdir, "archive")
    port = free_port()
    config_file = workdir / "dcmqrscp.cfg"
    config_file.write_text(dcmqrscp_config(port=port, aet=aet, storage=storage,
                                           move_destinations=move_destinations))
    argv = [exe, "-c", str(config_file), "--disable-host-lookup", str(port)]
    index_files(storage, files)
    process = PeerProcess("dcmqrscp", argv, workdir=workdir, env=dcmtk_env())
    try:
        process.wait_for_port(port, timeout=timeout)
        yield QRSCP(aet=aet, port=port, storage=storage, config_file=config_file,
                    process=process)
    finally:
        process.stop()


@contextmanager
def run_orthanc(base: Path, *, aet: str = "ORTHANC",
                modalities: Mapping[str, tuple[str, str, int]] | None = None,
                dicomweb: bool = True, extra_config: Mapping[str, Any] | None = None,
                timeout: float = 60.0, graceful_stop: bool = False) -> Iterator[Orthanc]:
    """Start Orthanc with a config of its own under ``base/orthanc``.

    ``modalities`` maps a name to ``(AE title, host, port)`` so Orthanc can
    C-MOVE or C-STORE to it. Ready means REST ``/system`` answers and the
    DICOM port accepts connections. A clean shutdown takes Orthanc about
    3.5 s, so by default it gets 0.5 s after SIGTERM before SIGKILL; pass
    ``graceful_stop=True`` when a test restarts Orthanc on the same directory.
    """
    exe = require_tool("Orthanc")
    workdir = _workdir(base, "orthanc")
    dicom_port, http_port = free_port(), free_port()
    while http_port == dicom_port:
        http_port = free_port()
    config = orthanc_config(workdir, aet=aet, dicom_port=dicom_port, http_port=http_port,
                            modalities=modalities, dicomweb=dicomweb, extra=extra_config)
    config_file = workdir / "orthanc.json"
    config_file.write_text(json.dumps(config, indent=2))
    process = PeerProcess("orthanc", [exe, str(config_file)], workdir=workdir, env=dcmtk_env())
    try:
        rest = OrthancRest(f"http://{HOST}:{http_port}", timeout=5.0)
        process.wait_until(rest.answers, timeout=timeout, what="answer on REST /system")
        process.wait_for_port(dicom_port, timeout=timeout)
        yield Orthanc(aet=aet, port=dicom_port, http_port=http_port, workdir=workdir,
                      process=process)
    finally:
        process.stop(grace=10.0 if graceful_stop else 0.5)


# --- pytest fixtures: one fresh peer per test, in the test's tmp_path -----------------


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreSCP]:
    """A dcmtk Storage SCP (AE ``STORESCP``) accepting all transfer syntaxes."""
    with run_storescp(tmp_path) as scp:
        yield scp


@pytest.fixture
def dcmqrscp(tmp_path: Path) -> Iterator[QRSCP]:
    """A dcmtk Query/Retrieve SCP (AE ``DCMQRSCP``) with an empty archive; use ``.index()``."""
    with run_dcmqrscp(tmp_path) as scp:
        yield scp


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    """An empty Orthanc (AE ``ORTHANC``) with DICOMweb at ``/dicom-web/``."""
    with run_orthanc(tmp_path) as server:
        yield server
