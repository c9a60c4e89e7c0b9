"""Real terminals for the graphics tests: an Xvfb display, a terminal running a script, screenshots.

Screenshots are taken with ``xwd -root`` and converted by ImageMagick, as a
person would check it; the image is then searched for near the top-left
corner of the screen (terminals differ in borders and padding).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.tools import require_tool


@contextmanager
def xvfb_display(width: int = 800, height: int = 600) -> Iterator[str]:
    """Start Xvfb on a free display (``-displayfd``) and yield its name, e.g. ``:5``."""
    executable = require_tool("Xvfb")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [executable, "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    try:
        number = b""
        deadline = time.monotonic() + 20
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read_end, 16)
            if not chunk:
                break
            number += chunk
        assert number.strip(), "Xvfb did not report a display number"
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_end)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def screenshot(display: str, workdir: Path) -> np.ndarray:
    """The whole screen as (h, w, 3) int RGB, via xwd and ImageMagick's convert."""
    xwd, convert = require_tool("xwd"), require_tool("convert")
    raw, png = workdir / "screen.xwd", workdir / "screen.png"
    with raw.open("wb") as out:
        subprocess.run([xwd, "-root", "-silent", "-display", display], stdout=out, check=True, timeout=30)
    subprocess.run([convert, f"xwd:{raw}", f"png:{png}"], check=True, timeout=30)
    return np.asarray(Image.open(png).convert("RGB")).astype(np.int64)


def best_match(screen: np.ndarray, expected: np.ndarray, search: int = 16) -> tuple[int, tuple[int, int]]:
    """Smallest max-abs-difference of ``expected`` placed within ``search`` pixels of the top-left."""
    height, width = expected.shape[:2]
    best = (10**9, (0, 0))
    for dy in range(search):
        for dx in range(search):
            region = screen[dy : dy + height, dx : dx + width]
            if region.shape != expected.shape:
                continue
            error = int(np.abs(region - expected).max())
            if error < best[0]:
                best = (error, (dy, dx))
    return best


def preview_script(workdir: Path, commands: list[list[str] | str], name: str) -> Path:
    """A shell script that hides the cursor, clears, runs each ``tui-pacs preview`` (teeing its bytes) and waits.

    A string in ``commands`` is a shell line run as is; the bytes of the
    preview at position ``n`` are kept in ``{name}-{n}.out``.
    """
    lines = ["printf '\\033[?25l\\033[H\\033[2J'"]
    for number, arguments in enumerate(commands):
        if isinstance(arguments, str):
            lines.append(arguments)
            continue
        command = [sys.executable, "-m", "tui_pacs", "preview", *arguments]
        out = workdir / f"{name}-{number}.out"
        lines.append(f"{shlex.join(command)} 2>>{shlex.quote(str(workdir / 'stderr.txt'))}"
                     f" | tee {shlex.quote(str(out))} > /dev/tty")
    lines.append(f"touch {shlex.quote(str(workdir / (name + '.done')))}")
    lines.append("sleep 120")
    script = workdir / f"{name}.sh"
    script.write_text("\n".join(lines) + "\n")
    return script


def terminal_environment(display: str, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DISPLAY=display, TUI_PACS_HOME=str(home), LIBGL_ALWAYS_SOFTWARE="1")
    runtime = Path(tempfile.mkdtemp(prefix="xdg-"))
    runtime.chmod(0o700)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env.pop("TUI_PACS_GRAPHICS", None)
    env.pop("TMUX", None)
    return env


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a terminal in its own session (so it and its children can be stopped together)."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        try:
            os.killpg(process.pid, 15)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def wait_for(path: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            error = log.read_text(errors="replace") if log.exists() else ""
            raise AssertionError(f"the terminal exited early ({process.returncode}): {error[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the terminal did not run the preview within {timeout} s")
        time.sleep(0.2)
