"""A peer server process: start it, wait until its port answers, always stop it.

Each peer runs in its own process group (``start_new_session``) so that
stopping it also stops what it forked (``storescp --fork``, ``dcmqrscp``'s
per-association children). Output goes to a log file in the peer's work
directory rather than a pipe, so a chatty peer can never block on a full
pipe, and a failure can quote the end of it.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_LIVE: set[PeerProcess] = set()
_ATEXIT_REGISTERED = False


class PeerStartError(RuntimeError):
    """A peer did not come up; the message carries the end of its output."""


class PeerProcess:
    """One running peer server, owned by the test that started it."""

    def __init__(self, name: str, argv: Sequence[str], *, workdir: Path,
                 env: dict[str, str], cwd: Path | None = None) -> None:
        global _ATEXIT_REGISTERED
        self.name = name
        self.argv = list(argv)
        self.log_path = workdir / f"{name}.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        log.debug("starting %s: %s", name, " ".join(self.argv))
        self.popen = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, env=env, cwd=cwd or workdir, start_new_session=True,
        )
        _LIVE.add(self)
        if not _ATEXIT_REGISTERED:  # a last line of defence if a test run is interrupted
            atexit.register(stop_all)
            _ATEXIT_REGISTERED = True

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self, limit: int = 4000) -> str:
        """The end of what the peer wrote to stdout/stderr so far."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-limit:]

    def fail(self, reason: str) -> PeerStartError:
        return PeerStartError(
            f"{self.name} ({' '.join(self.argv)}): {reason}\n--- its output ---\n{self.output()}"
        )

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Poll ``ready`` until true; raise with the peer's output if it exits or times out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise self.fail(f"exited with status {self.popen.returncode} before {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise self.fail(f"no {what} within {timeout:.0f} s")
            time.sleep(0.05)

    def wait_for_port(self, port: int, *, timeout: float = 20.0) -> None:
        """Wait until 127.0.0.1:``port`` accepts a TCP connection."""
        self.wait_until(lambda: port_accepts(port), timeout=timeout,
                        what=f"listener on 127.0.0.1:{port}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace`` seconds; idempotent."""
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                log.debug("%s still running %.1f s after SIGTERM; killing it", self.name, grace)
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10.0)
        # Forked children (storescp --fork) may outlive the parent: sweep the group.
        _signal_group(self.popen.pid, signal.SIGKILL)
        self._log_file.close()
        _LIVE.discard(self)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_all() -> None:
    """Stop every peer still running (used at exit and by the session finish hook)."""
    for peer in list(_LIVE):
        peer.stop()


def live_peers() -> list[PeerProcess]:
    """Peers started by this process and not stopped yet."""
    return [peer for peer in _LIVE if peer.popen.poll() is None]
