"""The preview's full-resolution view (``f``) in a real xterm: a sixel at the terminal's size, then back.

The workstation (``python -m tui_pacs``) runs in ``xterm -ti vt340`` on an
Xvfb display, on a fresh home into which ``tui-pacs import`` put one image.
xdotool types what a person would: Enter on the study, ``p`` on its series,
``f``, Enter to return. Every byte the TUI prints is tee'd (util-linux
``script``), so each step waits for what the TUI printed instead of for a
fixed time; the sixel it wrote is decoded, checked against :func:`render`
of the file, and then found pixel for pixel in a screenshot.
Missing programs fail under CI=1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.integration.terminal_session import (
    best_match,
    quadrants,
    running,
    screenshot,
    send_keys,
    stopping_tui,
    terminal_window,
    tui_environment,
    tui_script,
    wait_for_output,
    write_grey_image,
    xvfb_display,
)
from tests.support.tools import REPO_ROOT, free_port, require_tool
from tests.unit.imaging.graphics_readers import read_sixel
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState

COLUMNS, ROWS = 100, 40
"""The xterm's size in cells; with the ``fixed`` font (6x13) that is 600x520 pixels, inside the 800x600 screen."""
CAPTION = b"(press Enter to return)"
STATUS = re.compile(rb"(\d+)x(\d+) px \xc2\xb7 sixel")  # the preview's status line: "... · 66x55 px · sixel"


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A 480x400 study of quadrants (flat greys and a ramp), larger than the pane's view of it."""
    from pydicom.uid import generate_uid

    return write_grey_image(
        tmp_path / "quadrants.dcm", quadrants(400, 480),
        StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(),
        PatientName="Fullres^Test", PatientID="FR1", StudyDate="20240101", AccessionNumber="FRACC",
        Modality="OT", SeriesNumber=1, InstanceNumber=1, SeriesDescription="Quadrants")


@pytest.fixture
def home(tmp_path: Path, image: Path) -> Path:
    """A home holding ``image``, imported by the CLI; its node listens on loopback only."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'[local]\nbind = "127.0.0.1"\nport = {free_port()}\n', encoding="utf-8")
    env = {**os.environ, "TUI_PACS_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "tui_pacs", "import", str(image)], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and "imported 1 instances" in result.stdout, result.stdout + result.stderr
    return home


@pytest.fixture
def display() -> Iterator[str]:
    with xvfb_display() as name:
        yield name


def _find_on_screen(display: str, workdir: Path, expected: np.ndarray, tolerance: int,
                    timeout: float = 30) -> tuple[int, int]:
    """Poll screenshots until ``expected`` appears near the top-left; its (y, x) on screen."""
    deadline = time.monotonic() + timeout
    best = (10**9, (0, 0))
    while time.monotonic() < deadline:
        best = best_match(screenshot(display, workdir), expected)
        if best[0] <= tolerance:
            return best[1]
        time.sleep(0.3)
    raise AssertionError(f"the full-resolution image is not on screen: best max difference {best[0]} at {best[1]}")


def _matching(screen: np.ndarray, expected: np.ndarray, at: tuple[int, int]) -> float:
    """The fraction of ``expected``'s pixels shown (within 2 levels) at ``at`` on ``screen``."""
    y, x = at
    region = screen[y : y + expected.shape[0], x : x + expected.shape[1]]
    return float((np.abs(region - expected).max(axis=2) <= 2).mean())


def _wait_until_gone(display: str, workdir: Path, expected: np.ndarray, at: tuple[int, int],
                     timeout: float = 30) -> None:
    """Poll screenshots until the full-resolution image no longer shows (the TUI's screen is back)."""
    deadline = time.monotonic() + timeout
    shown = 1.0
    while time.monotonic() < deadline:
        shown = _matching(screenshot(display, workdir), expected, at)
        if shown < 0.25:
            return
        time.sleep(0.3)
    raise AssertionError(f"the full-resolution image stayed on screen ({shown:.0%} of it) after Enter")


def _full_resolution(display: str, out: Path, done: Path, process: subprocess.Popen[bytes],
                     start: int) -> tuple[np.ndarray, int]:
    """Press ``f``; the sixel the TUI printed (decoded, every pixel painted) and the offset past its caption."""
    send_keys(display, "f")
    end = wait_for_output(out, CAPTION, start, done, process)
    printed = out.read_bytes()[start:end]
    assert b"\x1bP" in printed, "no DCS (sixel) before the caption"
    pixels, painted = read_sixel(printed[printed.rindex(b"\x1bP") :])
    assert painted.all(), "the sixel leaves pixels unpainted"
    return pixels.astype(np.int64), end


def test_full_resolution_sixel_in_xterm_and_back(display: str, tmp_path: Path, image: Path, home: Path) -> None:
    xterm = require_tool("xterm")
    script = tui_script(tmp_path, "tui")
    out, done = tmp_path / "tui.out", tmp_path / "tui.done"
    command = [xterm, "-ti", "vt340", "-geometry", f"{COLUMNS}x{ROWS}+0+0",
               "-bg", "black", "-fg", "white", "-b", "0", "-e", "sh", str(script)]
    log = tmp_path / "xterm.log"
    with running(command, tui_environment(display, home), log) as process, stopping_tui(tmp_path, "tui"):
        _, width, height = terminal_window(display, process)
        cell_width, cell_height = width // COLUMNS, height // ROWS
        assert (cell_width * COLUMNS, cell_height * ROWS) == (width, height), "xterm has a border or odd size"

        at = wait_for_output(out, b"Studies 1-1 of 1", 0, done, process)
        send_keys(display, "Return")  # the study's series
        at = wait_for_output(out, b"Series 1-1 of 1", at, done, process)
        send_keys(display, "p")
        at = wait_for_output(out, b" px \xc2\xb7 sixel", at, done, process)  # the preview is up; the probe saw sixel
        statuses = STATUS.findall(out.read_bytes()[:at])
        pane_width, pane_height = (int(value) for value in statuses[-1])

        # f: the TUI steps aside and the slice is drawn as one sixel at the terminal's size.
        pixels, at = _full_resolution(display, out, done, process, at)
        shown_height, shown_width = pixels.shape[:2]
        # The slice fitted to the whole terminal but two rows (the caption line below it, and one spare).
        expected = render(image, 0, ViewState(fit=(width, height - 2 * cell_height)))
        assert expected.shape == (shown_height, shown_width)
        assert np.abs(pixels[..., 0] - expected).max() <= 2  # one sixel level (2.55)
        assert shown_width >= width - 1 or shown_height >= height - 2 * cell_height - 1, (shown_width, shown_height)
        # So it is bigger than the pane's view: in image pixels, and on screen (half-blocks: 1x2 per cell).
        assert shown_width > pane_width and shown_height > pane_height
        assert shown_width > pane_width * cell_width and shown_height > (pane_height + 1) // 2 * cell_height
        position = _find_on_screen(display, tmp_path, pixels, tolerance=2)

        # Enter: back in the TUI, which repaints its screen and takes keys again.
        send_keys(display, "Return")
        at = wait_for_output(out, b"slice 1/1", at, done, process)
        _wait_until_gone(display, tmp_path, pixels, position)
        send_keys(display, "i")
        at = wait_for_output(out, b"inverted", at, done, process)

        # A second round shows the view as it is now (inverted), and returns again.
        inverted, at = _full_resolution(display, out, done, process, at)
        assert inverted.shape == pixels.shape
        assert np.abs(inverted + pixels - 255).max() <= 3  # each side within a sixel level of exact
        _find_on_screen(display, tmp_path, inverted, tolerance=2)
        send_keys(display, "Return")
        at = wait_for_output(out, b"slice 1/1", at, done, process)
        _wait_until_gone(display, tmp_path, inverted, position)

        send_keys(display, "ctrl+q")
        deadline = time.monotonic() + 30
        while not done.exists():
            assert time.monotonic() < deadline, "the workstation did not exit on Ctrl+Q"
            assert process.poll() is None, "the terminal closed before the workstation exited"
            time.sleep(0.1)
        assert (tmp_path / "tui.rc").read_text().strip() == "0"
