"""The real CLI in a real terminal: ``tui-pacs demo`` inside tmux, driven by send-keys.

A private tmux socket (``-L``) keeps this away from any tmux the developer
runs; only that socket's server is stopped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")


class Tmux:
    def __init__(self) -> None:
        assert TMUX, "tmux is needed for the real-terminal test (apt-get install tmux)"
        self.socket = f"tuitest-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=check,
                              timeout=20)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "tui").stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "tui", key)
            time.sleep(0.3)  # focus changes land between keys, as with a person typing

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen was:\n{screen}")

    def alive(self) -> bool:
        return self.run("has-session", "-t", "tui", check=False).returncode == 0

    def kill(self) -> None:
        """Stop this socket's server only, and remove its socket file (tmux may leave it)."""
        self.run("kill-server", check=False)
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / self.socket).unlink(missing_ok=True)


@pytest.fixture
def tmux():
    session = Tmux()
    try:
        yield session
    finally:
        session.kill()


def test_demo_in_a_real_terminal(tmux, tmp_path):
    script = Path(sys.executable).with_name("tui-pacs")
    command = f"{script} demo" if script.exists() else f"{sys.executable} -m tui_pacs demo"
    # COLUMNS/LINES from the test runner would override the pane size Textual sees.
    env = f"-u COLUMNS -u LINES TMPDIR={tmp_path} TERM=xterm-256color"
    tmux.run("new-session", "-d", "-s", "tui", "-x", "160", "-y", "50", f"env {env} {command}")
    tmux.wait_for("Studies 1-8 of 8", timeout=30)
    # The header names the node once its SCP is listening, which can come after the first page.
    screen = tmux.wait_for("embedded node", timeout=30)
    assert "Müller, Jürgen" in screen
    tmux.keys("2", "C-e")
    tmux.wait_for("✓")
    tmux.keys("/", "Enter")
    tmux.wait_for("4 study match(es), done")
    tmux.keys("C-r", "3")
    tmux.wait_for("1 jobs · 0 active", timeout=30)
    tmux.keys("1")
    tmux.wait_for("Studies 1-9 of 9")  # the retrieved study arrived in the local database
    tmux.keys("4")
    tmux.wait_for("DEMOPACS")  # its C-STORE association in the live table or the log
    tmux.keys("C-q")
    deadline = time.monotonic() + 15
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not tmux.alive(), "the workstation did not exit on Ctrl+Q"
    assert not list(tmp_path.glob("tui-pacs-demo-*")), "the demo left its temporary home behind"
