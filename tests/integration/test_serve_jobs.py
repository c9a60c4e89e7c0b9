"""``tui-pacs serve`` runs the transfer queue: jobs submitted on its control socket, by the CLI
or by a bare client, run in the server and go on after the client has gone.

Real processes throughout: the server is ``python -m tui_pacs serve`` on a free
loopback port with its own TUI_PACS_HOME, the peers are dcmtk's ``storescp``
(``--sleep-after 1`` makes it take a second per instance, so a job is still
running when a test acts on it) and ``dcmqrscp``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from tests.integration.test_scu_helpers import cli, write_config
from tests.support.peers import StoreSCP, run_dcmqrscp, run_storescp
from tests.support.process import PeerProcess
from tests.support.tools import REPO_ROOT, free_port, sample_files
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.domain.events import Event, JobProgress
from tui_pacs.services.control import ControlError, attach, send_command

pytestmark = pytest.mark.peer

AET = "SERVED"


def start_serve(home: Path, port: int) -> PeerProcess:
    """``tui-pacs serve`` with its output in a log file (a pipe could fill and stall it)."""
    env = {**os.environ, "TUI_PACS_HOME": str(home)}
    env.pop("TUI_PACS_CONFIG", None)
    argv = [sys.executable, "-m", "tui_pacs", "serve", "--aet", AET, "--port", str(port), "--bind", "127.0.0.1"]
    process = PeerProcess("tui-pacs-serve", argv, workdir=home, env=env, cwd=REPO_ROOT)
    socket_file = resolve_paths(home).socket_file
    process.wait_for_port(port, timeout=30)
    process.wait_until(socket_file.exists, timeout=30, what="control socket")
    return process


def ask(home: Path, command: str, **arguments: Any) -> Any:
    return asyncio.run(send_command(resolve_paths(home), command, **arguments))


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def job(home: Path, job_id: int) -> dict[str, Any]:
    return ask(home, "jobs.show", job_id=job_id)["job"]  # type: ignore[no-any-return]


def final(home: Path, job_id: int, timeout: float = 90.0) -> dict[str, Any]:
    return wait_for(lambda: (row := job(home, job_id))["state"] in ("done", "failed", "cancelled") and row,
                    f"job {job_id} ending", timeout)  # type: ignore[no-any-return]


class EventLog:
    """The server's events, collected on a thread through the control socket, as the TUI sees them."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.events: list[Event] = []
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_for(lambda: self._task is not None, "event log subscribed", 10)
        time.sleep(0.3)  # the subscribe command reached the server

    def _run(self) -> None:
        async def collect() -> None:
            async for event in attach(self.paths):
                self.events.append(event)

        self._task = self._loop.create_task(collect())
        with contextlib.suppress(asyncio.CancelledError, ControlError, OSError):
            self._loop.run_until_complete(self._task)

    def job_states(self, job_id: int) -> list[str]:
        return [e.state for e in list(self.events) if isinstance(e, JobProgress) and e.job_id == job_id]

    def close(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


@pytest.fixture
def slow_peer(tmp_path: Path) -> Iterator[StoreSCP]:
    with run_storescp(tmp_path, extra_args=["--sleep-after", "1"]) as scp:
        yield scp


@pytest.fixture
def server(tmp_path: Path, slow_peer: StoreSCP) -> Iterator[tuple[Path, PeerProcess]]:
    """A home whose config names the slow peer ``peer``, with ``tui-pacs serve`` running on it."""
    home = tmp_path / "home"
    write_config(home, {"peer": (slow_peer.aet, slow_peer.port)}, ae_title=AET)
    process = start_serve(home, free_port())
    try:
        yield home, process
    finally:
        process.stop()


def test_send_over_the_socket_finishes_after_the_client_disconnected(server, slow_peer) -> None:  # type: ignore[no-untyped-def]
    home, serve = server
    files = sample_files("local")[:4]
    # One command on its own connection, closed as soon as the reply is read.
    submitted = ask(home, "send", node="peer", paths=[str(p) for p in files])
    assert submitted["state"] == "queued" and submitted["kind"] == "send" and submitted["total"] == 0
    running = wait_for(lambda: (row := job(home, submitted["id"]))["state"] == "running" and row, "job running")
    assert f":{serve.pid}:" in running["owner"]  # claimed by the server process
    done = final(home, submitted["id"])
    assert done["state"] == "done", done["error"]
    assert (done["completed"], done["total"]) == (len(files), len(files))
    assert len(slow_peer.received()) == len(files)
    assert serve.popen.poll() is None


def test_cli_send_goes_on_in_the_server_when_the_cli_is_killed(server, slow_peer) -> None:  # type: ignore[no-untyped-def]
    home, _ = server
    files = sample_files("local")[:5]
    env = dict(os.environ, TUI_PACS_HOME=str(home))
    # As in a terminal session: SIGHUP not ignored, whatever this test runner inherited (nohup).
    inherited = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        client = subprocess.Popen([sys.executable, "-m", "tui_pacs", "send", "peer", *map(str, files)],
                                  cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGHUP, inherited)
    try:
        started = wait_for(lambda: [j for j in ask(home, "jobs.list") if j["completed"] >= 1], "first instance sent")
        client.send_signal(signal.SIGHUP)  # what the SSH session's end does to it
        _, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == -signal.SIGHUP
    assert f"job {started[0]['id']} send peer: handed to the running server" in err
    done = final(home, started[0]["id"])
    assert done["state"] == "done", done["error"]
    assert len(slow_peer.received()) == len(files)


def test_cli_send_through_the_server_waits_and_reports(tmp_path: Path, server, slow_peer) -> None:  # type: ignore[no-untyped-def]
    home, _ = server
    files = sample_files("local")[:2]
    # A node added after the server started: the server reads it from the config file.
    added = cli(home, "nodes", "add", "later", "--aet", slow_peer.aet, "--host", "127.0.0.1",
                "--port", str(slow_peer.port))
    assert added.returncode == 0, added.stderr
    sent = cli(home, "send", "later", *map(str, files))
    assert sent.returncode == 0, sent.stderr
    assert "handed to the running server" in sent.stderr
    assert f"send later: done, {len(files)}/{len(files)} instances" in sent.stdout
    listed = cli(home, "jobs", "--json")
    assert listed.returncode == 0 and '"node": "later"' in listed.stdout and '"state": "done"' in listed.stdout
    unknown = cli(home, "send", "nowhere", str(files[0]))
    assert unknown.returncode == 1
    assert "Unknown node: no node named 'nowhere'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_cli_cancel_and_retry_reach_the_server(server, slow_peer) -> None:  # type: ignore[no-untyped-def]
    home, serve = server
    files = sample_files("local")[:8]
    events = EventLog(resolve_paths(home))
    try:
        queued = cli(home, "send", "peer", "--no-wait", *map(str, files))
        assert queued.returncode == 0, queued.stderr
        job_id = int(queued.stdout.split()[1])
        assert "in the running server" in queued.stdout
        wait_for(lambda: job(home, job_id)["completed"] >= 1, "first instance sent")

        cancelled = cli(home, "jobs", "cancel", str(job_id))
        assert cancelled.returncode == 0, cancelled.stderr
        assert "the server's worker is stopping it" in cancelled.stdout
        row = final(home, job_id)
        assert row["state"] == "cancelled" and row["completed"] < len(files)
        wait_for(lambda: "cancelled" in events.job_states(job_id), "cancelled event")
        before_retry = len(events.job_states(job_id))

        retried = cli(home, "jobs", "retry", str(job_id))
        assert retried.returncode == 0, retried.stderr
        assert f"job {job_id} send peer: done, {len(files)}/{len(files)}" in retried.stdout
        # The server ran the retry: its queue published the run on its bus.
        after = events.job_states(job_id)[before_retry:]
        assert "running" in after and after[-1] == "done"
        shown = cli(home, "jobs", "show", str(job_id))
        assert shown.returncode == 0 and "done" in shown.stdout
    finally:
        events.close()
    assert serve.popen.poll() is None


def test_running_job_resumes_after_the_server_restarts(tmp_path: Path, slow_peer) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    write_config(home, {"peer": (slow_peer.aet, slow_peer.port)}, ae_title=AET)
    files = sample_files("local")[:5]
    # No server yet: --no-wait only queues the row.
    queued = cli(home, "send", "peer", "--no-wait", *map(str, files))
    assert queued.returncode == 0, queued.stderr
    assert "no server is running" in queued.stdout
    job_id = int(queued.stdout.split()[1])
    port = free_port()
    serve = start_serve(home, port)
    try:
        wait_for(lambda: job(home, job_id)["completed"] >= 1, "the server picked the queued job up")
        serve.stop()  # SIGTERM in the middle of the job
        listed = cli(home, "jobs", "--json")
        assert listed.returncode == 0, listed.stderr
        assert '"state": "queued"' in listed.stdout and "interrupted" in listed.stdout
        serve = start_serve(home, port)
        done = final(home, job_id)
        assert done["state"] == "done", done["error"]
        assert done["completed"] == len(files)
    finally:
        serve.stop()


def test_get_and_move_through_the_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    with run_dcmqrscp(tmp_path, files=sample_files("remote"), move_destinations={AET: port}) as qr:
        write_config(home, {"qr": (qr.aet, qr.port)}, ae_title=AET, port=port)
        serve = start_serve(home, port)
        try:
            got = cli(home, "get", "qr", "-k", "PatientID=RP1003")
            assert got.returncode == 0, got.stderr
            assert "handed to the running server" in got.stderr and "get qr: done" in got.stdout
            # C-MOVE to this node: the server's own SCP receives what the peer sends.
            moved = cli(home, "move", "qr", "-k", "PatientID=RP1001", "-k", "StudyDate=20220110")
            assert moved.returncode == 0, moved.stderr
            assert "5/5" in moved.stdout and "handed to the running server" in moved.stderr
            status = ask(home, "status")
            assert status["counters"]["stored"] >= 5  # the moved instances came in through the SCP
        finally:
            serve.stop()
    listed = cli(home, "ls", "--json")
    assert "RP1003" in listed.stdout and "RP1001" in listed.stdout


def test_nodes_added_while_serving_reach_the_scp(tmp_path: Path) -> None:
    """`tui-pacs nodes add` while `serve` runs: the new node may call us (known-AEs-only) and is a
    C-MOVE destination, without a restart; before it was added, both are refused (A801 for the move)."""
    home = tmp_path / "home"
    port = free_port()
    write_config(home, {"mover": ("MOVER", free_port())}, ae_title=AET, port=port)
    config = home / "config.toml"
    config.write_text(config.read_text().replace("port = ", 'access = "known"\nport = ', 1))
    sample = sample_files("local")[0]
    assert cli(home, "import", str(sample)).returncode == 0
    uid = str(pydicom.dcmread(sample, stop_before_pixels=True).StudyInstanceUID)

    def echo_as(calling: str) -> int:
        return subprocess.run(["echoscu", "-aet", calling, "-aec", AET, "127.0.0.1", str(port)],
                              capture_output=True, timeout=30).returncode

    def move_to(destination: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["movescu", "-aet", "MOVER", "-aec", AET, "-aem", destination, "-S",
                               "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={uid}",
                               "127.0.0.1", str(port)], capture_output=True, text=True, timeout=60)

    with run_storescp(tmp_path, aet="LATEDEST") as dest:
        serve = start_serve(home, port)
        try:
            assert echo_as("LATEDEST") != 0  # not a known AE yet
            assert "MoveDestinationUnknown" in move_to("LATEDEST").stderr  # A801
            added = cli(home, "nodes", "add", "late", "--aet", "LATEDEST", "--host", "127.0.0.1",
                        "--port", str(dest.port))
            assert added.returncode == 0, added.stderr
            assert echo_as("LATEDEST") == 0
            moved = move_to("LATEDEST")
            assert moved.returncode == 0 and "MoveDestinationUnknown" not in moved.stderr, moved.stderr
            wait_for(dest.received, "the moved instance at the new destination")
        finally:
            serve.stop()
