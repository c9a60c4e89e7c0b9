"""Real terminals for the graphics tests: an Xvfb display, a terminal running a script, screenshots.

Screenshots are taken with ``xwd -root`` and converted by ImageMagick, as a
person would check it; the image is then searched for near the top-left
corner of the screen (terminals differ in borders and padding).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support.tools import REPO_ROOT, require_tool


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


# --- the workstation itself in a terminal, driven with keys ----------------------------------


def tui_script(workdir: Path, name: str) -> Path:
    """A shell script that runs the workstation (``python -m tui_pacs``) from this checkout and waits.

    The TUI runs under util-linux ``script``, which gives it a pty of the
    terminal's size (pixel fields included) and tees every byte it prints
    into ``{name}.out``; keys typed into the terminal reach the TUI unchanged.
    ``{name}.pid`` holds the TUI's process id (see :func:`stopping_tui`).
    When the TUI exits, ``{name}.rc`` holds its exit status and
    ``{name}.done`` appears.
    """
    script = require_tool("script")
    out, rc, done, pid = (shlex.quote(str(workdir / f"{name}.{suffix}")) for suffix in ("out", "rc", "done", "pid"))
    command = f"echo $$ > {pid}; exec {shlex.join([sys.executable, '-m', 'tui_pacs'])}"
    errors = shlex.quote(str(workdir / "stderr.txt"))
    lines = [
        f"cd {shlex.quote(str(REPO_ROOT))}",
        f"SHELL=/bin/sh {shlex.quote(script)} -q -f -e -c {shlex.quote(command)} {out} 2>>{errors}",
        f"echo $? > {rc}",
        f"touch {done}",
        "sleep 120",
    ]
    path = workdir / f"{name}.sh"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def stopping_tui(workdir: Path, name: str, timeout: float = 10) -> Iterator[None]:
    """Make sure the TUI of :func:`tui_script` is gone afterwards, also when a test failed halfway.

    The TUI has a session and pty of its own (``script``'s), so stopping the
    terminal does not stop it: it is sent SIGTERM, then SIGKILL, by its id.
    """
    try:
        yield
    finally:
        pid_file, done = workdir / f"{name}.pid", workdir / f"{name}.done"
        if pid_file.exists() and not done.exists():
            pid = int(pid_file.read_text())
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                    deadline = time.monotonic() + timeout
                    while not done.exists() and time.monotonic() < deadline:
                        os.kill(pid, 0)  # ProcessLookupError once it is gone
                        time.sleep(0.1)
                except ProcessLookupError:
                    break
                if done.exists():
                    break


def tui_environment(display: str, home: Path) -> dict[str, str]:
    """:func:`terminal_environment` for the TUI: this checkout's code, no inherited size."""
    env = terminal_environment(display, home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    for name in ("COLUMNS", "LINES"):  # they would override the pty size the TUI sees
        env.pop(name, None)
    return env


def terminal_window(display: str, process: subprocess.Popen[bytes]) -> tuple[str, int, int]:
    """Wait for the terminal's window, give it the keyboard focus; its id, width and height in pixels.

    Xvfb runs no window manager, so the focus stays where it is put and
    keys sent with XTEST (:func:`send_keys`) go to this window.
    """
    xdotool = require_tool("xdotool")
    env = {**os.environ, "DISPLAY": display}
    found = subprocess.run([xdotool, "search", "--sync", "--limit", "1", "--pid", str(process.pid)], env=env,
                           capture_output=True, text=True, check=True, timeout=60)
    window = found.stdout.split()[0]
    subprocess.run([xdotool, "windowfocus", "--sync", window], env=env, check=True, timeout=30)
    geometry = subprocess.run([xdotool, "getwindowgeometry", "--shell", window], env=env,
                              capture_output=True, text=True, check=True, timeout=30).stdout
    values = dict(line.split("=", 1) for line in geometry.split())
    return window, int(values["WIDTH"]), int(values["HEIGHT"])


def send_keys(display: str, *keys: str) -> None:
    """Type ``keys`` (xdotool names: ``Return``, ``p``, ``ctrl+q``) into the focused window, one by one.

    Real key events (XTEST), not ``XSendEvent``: xterm ignores sent events
    unless told otherwise (``allowSendEvents``).
    """
    xdotool = require_tool("xdotool")
    subprocess.run([xdotool, "key", "--clearmodifiers", *keys], env={**os.environ, "DISPLAY": display},
                   check=True, timeout=30)


def readable(data: bytes) -> str:
    """Terminal output with escape sequences (and sixel/kitty payloads) dropped, for error messages."""
    text = re.sub(rb"\x1b[P_\]].*?(?:\x1b\\|\x07)", b"", data, flags=re.DOTALL)
    text = re.sub(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]", b"", text)
    return re.sub(r"[ \t]+", " ", text.decode("utf-8", "replace"))


def wait_for_output(out: Path, needle: bytes, start: int, done: Path,
                    terminal: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> int:
    """Poll the tee'd output for ``needle`` at or after byte ``start``; the offset just past it.

    Fails at once when the TUI has exited (``done`` exists), showing the
    end of what it printed (a traceback, say), or when ``terminal`` has.
    """
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        data = out.read_bytes() if out.exists() else b""
        found = data.find(needle, start)
        if found >= 0:
            return found + len(needle)
        if terminal is not None and terminal.poll() is not None:
            raise AssertionError(f"the terminal exited ({terminal.returncode}) before {needle!r} was printed;"
                                 f" the TUI's last output:\n{readable(data[start:])[-3000:]}")
        if done.exists():
            data = out.read_bytes() if out.exists() else b""
            if (found := data.find(needle, start)) >= 0:
                return found + len(needle)
            raise AssertionError(f"the TUI exited before printing {needle!r}; its last output:\n"
                                 f"{readable(data[start:])[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not printed within {timeout} s; the TUI's output since:\n"
                                 f"{readable(data[start:])[-3000:]}")
        time.sleep(0.1)


def quadrants(rows: int, columns: int) -> np.ndarray:
    """16-bit test pixels: quadrants of flat grey and a ramp, so edges and gradients both show."""
    pixels = np.zeros((rows, columns), dtype=np.uint16)
    half_r, half_c = rows // 2, columns // 2
    pixels[:half_r, :half_c] = 900
    pixels[:half_r, half_c:] = 3300
    pixels[half_r:, :half_c] = np.linspace(0, 4095, half_c)[None, :]
    pixels[half_r:, half_c:] = 2100
    return pixels


def write_grey_image(path: Path, pixels: np.ndarray, **attributes: object) -> Path:
    """A Secondary Capture instance of 16-bit ``pixels`` windowed over 0-4095, plus ``attributes``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit, ds.PixelRepresentation = 15, 0
    ds.WindowCenter, ds.WindowWidth = "2048", "4096"
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path
