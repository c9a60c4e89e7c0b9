"""The preview in real terminals: xterm (sixel), kitty (kitty protocol), mlterm (iTerm2), tmux (half-blocks).

Each test runs ``tui-pacs preview`` inside the terminal on an Xvfb display,
tees the bytes it printed, takes a screenshot and finds the expected pixels
on screen. The expected pixels come from decoding the printed bytes, which
in turn are checked against :func:`render` of the DICOM file, so the chain
file -> bytes -> screen is covered. Missing programs fail under CI=1.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.integration.terminal_session import (
    best_match,
    preview_script,
    quadrants,
    running,
    screenshot,
    terminal_environment,
    wait_for,
    write_grey_image,
    xvfb_display,
)
from tests.support.tools import require_tool
from tests.unit.imaging.graphics_readers import (
    png_pixels,
    read_halfblocks,
    read_iterm,
    read_kitty,
    read_sixel,
)
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState


@pytest.fixture
def pattern(tmp_path: Path) -> Path:
    """Quadrants of flat grey and a ramp: edges and gradients both show up on screen."""
    return write_grey_image(tmp_path / "pattern.dcm", quadrants(60, 80))


@pytest.fixture
def display() -> Iterator[str]:
    with xvfb_display() as name:
        yield name


def _find_on_screen(display: str, workdir: Path, expected: np.ndarray, tolerance: int, timeout: float = 30) -> None:
    """Poll screenshots until the expected pixels appear (terminals paint asynchronously)."""
    deadline = time.monotonic() + timeout
    best = (10**9, (0, 0))
    while time.monotonic() < deadline:
        screen = screenshot(display, workdir)
        best = best_match(screen, expected)
        if best[0] <= tolerance:
            return
        time.sleep(0.5)
    raise AssertionError(f"image not found on screen: best max difference {best[0]} at {best[1]}")


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[:, :, None], 3, axis=2).astype(np.int64) if image.ndim == 2 else image.astype(np.int64)


def test_xterm_vt340_shows_the_sixel(display: str, tmp_path: Path, pattern: Path) -> None:
    xterm = require_tool("xterm")
    script = preview_script(tmp_path, [["--protocol", "sixel", "--size", "12x6", str(pattern)]], "xterm")
    command = [xterm, "-ti", "vt340", "-xrm", "XTerm*numColorRegisters: 1024", "-geometry", "60x20+0+0",
               "-bg", "black", "-fg", "white", "-b", "0", "-e", "sh", str(script)]
    log = tmp_path / "xterm.log"
    with running(command, terminal_environment(display, tmp_path / "home"), log) as process:
        wait_for(tmp_path / "xterm.done", process, log)
        printed = (tmp_path / "xterm-0.out").read_bytes()
        pixels, painted = read_sixel(printed)
        assert painted.all()
        rendered = render(pattern, 0, ViewState(fit=(pixels.shape[1], pixels.shape[0])))
        assert rendered.shape == pixels.shape[:2]
        assert np.abs(pixels[..., 0].astype(int) - rendered).max() <= 2  # one sixel level (2.55)
        _find_on_screen(display, tmp_path, pixels.astype(np.int64), tolerance=2)


def test_kitty_shows_the_image_and_replaces_the_old_one(display: str, tmp_path: Path, pattern: Path) -> None:
    kitty = require_tool("kitty")
    flat = write_grey_image(tmp_path / "flat.dcm", np.full((20, 20), 4000, dtype=np.uint16))  # shows as 249
    # The flat image is larger than the pattern and drawn at the same place (cursor home), so any
    # part of it left behind would show around the pattern.
    script = preview_script(tmp_path, [["--protocol", "kitty", "--size", "20x10", str(flat)],
                                       "printf '\\033[H'",
                                       ["--protocol", "kitty", "--size", "12x6", str(pattern)]], "kitty")
    command = [kitty, "--config", "NONE", "-o", "background=#000000", "-o", "window_padding_width=0",
               "-o", "remember_window_size=no", "-o", "initial_window_width=500",
               "-o", "initial_window_height=400", "sh", str(script)]
    log = tmp_path / "kitty.log"
    with running(command, terminal_environment(display, tmp_path / "home"), log) as process:
        wait_for(tmp_path / "kitty.done", process, log, timeout=90)
        commands, images = read_kitty((tmp_path / "kitty-2.out").read_bytes().rstrip(b"\r\n"))
        assert commands[0] == {"a": "d", "d": "I", "i": "1", "q": "2"} and commands[1]["i"] == "1"
        png, mode = png_pixels(images[1])
        assert mode == "L"
        assert np.array_equal(png, render(pattern, 0, ViewState(fit=(png.shape[1], png.shape[0]))))
        _find_on_screen(display, tmp_path, _as_rgb(png), tolerance=1, timeout=60)
        screen = screenshot(display, tmp_path)
        # The first image (all 249) had the same id: it was deleted, not left on screen.
        assert int((np.abs(screen - 249).max(axis=2) <= 1).sum()) == 0


def test_mlterm_shows_the_iterm2_image(display: str, tmp_path: Path, pattern: Path) -> None:
    mlterm = require_tool("mlterm")
    script = preview_script(tmp_path, [["--protocol", "iterm", "--size", "12x6", str(pattern)]], "mlterm")
    command = [mlterm, "-g", "60x20+0+0", "--bg", "black", "--fg", "white", "--sb=false", "-e", "sh", str(script)]
    log = tmp_path / "mlterm.log"
    with running(command, terminal_environment(display, tmp_path / "home"), log) as process:
        wait_for(tmp_path / "mlterm.done", process, log)
        _, png_data = read_iterm((tmp_path / "mlterm-0.out").read_bytes().rstrip(b"\r\n"))
        png, _ = png_pixels(png_data)
        assert np.array_equal(png, render(pattern, 0, ViewState(fit=(png.shape[1], png.shape[0]))))
        _find_on_screen(display, tmp_path, _as_rgb(png), tolerance=2)


def test_tmux_without_passthrough_falls_back_to_half_blocks(tmp_path: Path, pattern: Path) -> None:
    """Auto detection inside tmux (passthrough off by default): truecolour half-blocks, exact in capture-pane."""
    tmux = require_tool("tmux")
    socket = f"tui-pacs-test-{tmp_path.name}"
    env = terminal_environment(":0", tmp_path / "home")
    env["COLORTERM"] = "truecolor"
    script = preview_script(tmp_path, [["--size", "16x8", str(pattern)]], "tmux")
    base = [tmux, "-L", socket, "-f", "/dev/null"]
    subprocess.run([*base, "new-session", "-d", "-x", "40", "-y", "20", "-e", "COLORTERM=truecolor",
                    "-e", f"TUI_PACS_HOME={env['TUI_PACS_HOME']}", "-e", f"XDG_RUNTIME_DIR={env['XDG_RUNTIME_DIR']}",
                    "sh", str(script)], env=env, check=True, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "tmux.done").exists():
            assert time.monotonic() < deadline, "the preview did not finish inside tmux"
            time.sleep(0.2)
        captured = subprocess.run([*base, "capture-pane", "-p", "-e", "-t", "0"], env=env, capture_output=True,
                                  check=True, timeout=30).stdout
    finally:
        subprocess.run([*base, "kill-server"], env=env, timeout=30, check=False)
    printed = (tmp_path / "tmux-0.out").read_bytes()
    assert b"\x1b_G" not in printed and b"\x1bP" not in printed  # no pixel protocol leaked into tmux
    expected = render(pattern, 0, ViewState(fit=(16, 16)))
    on_screen = read_halfblocks(captured)
    assert on_screen.shape[:2] == expected.shape
    assert np.array_equal(on_screen[..., 0], expected.astype(np.int64))
    assert np.array_equal(read_halfblocks(printed), on_screen)
