"""Finding external tools and loopback ports for tests that talk to real peers.

The design rule is that peer tests never silently skip in CI: a missing
dcmtk or Orthanc there is a broken machine, not an optional feature. On a
developer's laptop without them, the tests skip with a message that says
what to install.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

#: Where each tool comes from, for the skip/fail message.
_PACKAGE_OF = {
    "Orthanc": "orthanc",
    "sixel2png": "libsixel-bin",
    "Xvfb": "xvfb",
    "xwd": "x11-apps",
    "tmux": "tmux",
    "kitty": "kitty",
    "xterm": "xterm",
    "mlterm": "mlterm",
    "xdotool": "xdotool",
    "script": "bsdutils",
    "convert": "imagemagick",
}

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO_ROOT / "sample_data"


def require_tool(name: str) -> str:
    """Return the path of executable ``name``; fail under CI, skip elsewhere, if missing."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = _PACKAGE_OF.get(name, "dcmtk")
    message = f"{name} not found on PATH (Debian package {package}; ./scripts/test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so another process could take it;
    on a test machine that race is rare enough, and every peer start checks
    that its own process is the one answering.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dcmtk_env() -> dict[str, str]:
    """The environment for dcmtk tools and Orthanc: a copy with TCP_NODELAY=1.

    Debian's dcmtk 3.6.7 leaves Nagle's algorithm on unless told, which adds
    about 40 ms to every DIMSE round trip on loopback.
    """
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def run_tool(name: str, *args: str | os.PathLike[str], timeout: float = 60.0,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command-line peer tool with :func:`dcmtk_env`, capturing its output.

    With ``check`` a non-zero exit fails the test and shows the tool's output.
    """
    exe = require_tool(name)
    argv: Sequence[str] = [exe, *(os.fspath(a) for a in args)]
    log.debug("running %s", " ".join(argv))
    result = subprocess.run(argv, env=dcmtk_env(), capture_output=True, text=True,
                            errors="replace", timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(argv)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return result


def sample_files(set_name: str = "local") -> list[Path]:
    """The committed sample DICOM files of one set (``local`` or ``remote``), sorted."""
    return sorted((SAMPLE_DATA / set_name).rglob("*.dcm"))
