"""``tui-pacs serve`` as a real process: events on stdout and on the control socket, clean stop.

A dcmtk client talks to it over loopback; the test attaches through the
UNIX socket exactly as the TUI does (``services.control.attach``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_scp_support import AET, HOST, echo
from tests.support.process import port_accepts
from tests.support.tools import free_port, run_tool, sample_files
from tui_pacs.config.paths import resolve_paths
from tui_pacs.domain.events import Event
from tui_pacs.services.control import ControlError, attach, send_command

pytestmark = pytest.mark.peer


def start_serve(home: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TUI_PACS_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tui_pacs", "serve", "--aet", AET, "--port", str(port), "--bind", HOST, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    socket_file = resolve_paths(home).socket_file
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.stderr.read() if process.stderr else ''}")
        if port_accepts(port) and socket_file.exists():
            return process
        time.sleep(0.1)
    process.kill()
    pytest.fail("serve did not start")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    return process.returncode, out, err


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    process = start_serve(tmp_path / "home", port)
    try:
        yield tmp_path / "home", port, process
    finally:
        if process.poll() is None:
            stop(process)


async def collect(home: Path, count: int, action) -> list[Event]:  # type: ignore[no-untyped-def]
    events: list[Event] = []

    async def reader() -> None:
        async for event in attach(resolve_paths(home)):
            events.append(event)
            if len(events) >= count:
                return

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.3)  # subscribed before the traffic starts
    await asyncio.to_thread(action)
    await asyncio.wait_for(task, 20)
    return events


async def test_attach_sees_association_and_store_events(served) -> None:  # type: ignore[no-untyped-def]
    home, port, _ = served
    files = sample_files("local")[:2]

    def traffic() -> None:
        run_tool("storescu", "-aec", AET, HOST, str(port), *map(str, files), timeout=30)

    events = await collect(home, 5, traffic)
    kinds = [e.kind for e in events]
    assert kinds == ["association.requested", "association.accepted", "instance.stored",
                     "instance.stored", "association.released"][: len(kinds)]
    assert events[2].patient_id == "TP0001" and events[2].study_uid  # type: ignore[attr-defined]
    status = await send_command(resolve_paths(home), "status")
    assert status["ae_title"] == AET and status["port"] == port
    assert status["jobs"] is True  # it runs the transfer queue (tests/integration/test_serve_jobs.py)
    assert status["archive"]["instance"] == 2
    assert status["counters"]["stored"] == 2


async def test_unknown_command_and_socket_permissions(served) -> None:  # type: ignore[no-untyped-def]
    home, _, _ = served
    paths = resolve_paths(home)
    assert stat.S_IMODE(paths.socket_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.runtime_dir.stat().st_mode) == 0o700
    with pytest.raises(ControlError, match="unknown command"):
        await send_command(paths, "no-such-command")
    assert await send_command(paths, "ping") == "pong"


def test_sigterm_stops_cleanly_and_prints_events(served) -> None:  # type: ignore[no-untyped-def]
    home, port, process = served
    echo(port)
    code, out, err = stop(process)
    assert code == 0, err
    assert "association.accepted" in out and "peer_ae=ECHOSCU" in out
    assert "server.stopped" in out
    assert not resolve_paths(home).socket_file.exists()
    assert not port_accepts(port)


def test_ctrl_c_stops_cleanly(served) -> None:  # type: ignore[no-untyped-def]
    _, port, process = served
    code, _, err = stop(process, signal.SIGINT)
    assert code == 0, err
    assert not port_accepts(port)


def test_second_server_on_same_home_refuses(served) -> None:  # type: ignore[no-untyped-def]
    home, _, _ = served
    env = {**os.environ, "TUI_PACS_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "tui_pacs", "serve", "--port", str(free_port()),
                             "--bind", HOST], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 1
    assert "already running" in result.stderr


def test_a_server_killed_while_receiving_starts_again_consistent(tmp_path: Path) -> None:
    """SIGKILL in the middle of a storescu run, then a start on the same home.

    The rows committed since the last clean point are still listed as
    unflushed; the start checks them (store/recovery.py) and clears the
    list. Nothing half-written is indexed, every row's file is whole, and
    the sender's retry completes the set.
    """
    from tests.integration.test_scp_fastpath import synthetic
    from tests.support.tools import dcmtk_env, require_tool

    home, port = tmp_path / "home", free_port()
    files = synthetic(tmp_path / "set", 400)
    process = start_serve(home, port, "--quiet")
    index_file = resolve_paths(home).index_file
    sender = subprocess.Popen([require_tool("storescu"), "-nh", "-aec", AET, HOST, str(port), *map(str, files)],
                              env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while indexed(index_file) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
        before = indexed(index_file)
    finally:
        sender.kill()
        sender.wait(30)
    assert 50 <= before < len(files)
    assert listed_unflushed(index_file) > 0

    process = start_serve(home, port, "--quiet")  # started means the archive is open: the check ran
    try:
        assert listed_unflushed(index_file) == 0
        assert indexed(index_file) >= before
        store = resolve_paths(home).store_dir
        with sqlite3.connect(index_file) as conn:
            for path, size in conn.execute("SELECT path, file_size FROM instance"):
                assert (store / path).stat().st_size == size, path
        assert not [p for p in (store / ".incoming").iterdir() if p.is_file()]
        run_tool("storescu", "-nh", "-aec", AET, HOST, str(port), *map(str, files), timeout=120)
        assert indexed(index_file) == len(files)
    finally:
        code, _, err = stop(process)
    assert code == 0, err
    assert "did not reach the disk" not in err  # SIGKILL keeps the page cache: no file was lost


def indexed(index_file: Path) -> int:
    if not index_file.exists():
        return 0
    with sqlite3.connect(index_file) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM instance").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def listed_unflushed(index_file: Path) -> int:
    with sqlite3.connect(index_file) as conn:
        return int(conn.execute("SELECT count(*) FROM unflushed").fetchone()[0])
