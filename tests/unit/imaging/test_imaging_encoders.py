"""Every encoder's bytes decoded back to pixels by readers written for the tests (and sixel2png)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import bundled
from graphics_readers import (
    png_pixels,
    read_halfblocks,
    read_iterm,
    read_kitty,
    read_sixel,
    xterm256_rgb,
)

from tests.support.tools import require_tool
from tui_pacs.imaging.encoders import Placement, encoder_for
from tui_pacs.imaging.encoders.halfblock import xterm256_index
from tui_pacs.imaging.encoders.sixel import SixelEncoder
from tui_pacs.imaging.render import render
from tui_pacs.imaging.viewstate import ViewState

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def ct() -> np.ndarray:
    """A real CT, windowed: noisy enough that the PNG spans several kitty chunks."""
    return render(bundled("693_J2KI.dcm"), 0, ViewState())


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return render(bundled("examples_rgb_color.dcm"), 0, ViewState())


# --- kitty ---------------------------------------------------------------------------------


def test_kitty_round_trip_greyscale(ct: np.ndarray) -> None:
    data = encoder_for("kitty").encode(ct, Placement(image_id=7))
    commands, images = read_kitty(data)
    assert commands[0] == {"a": "d", "d": "I", "i": "7", "q": "2"}  # the old image goes first
    first = commands[1]
    assert first["a"] == "T" and first["f"] == "100" and first["i"] == "7" and first["q"] == "2"
    assert len(commands) > 3, "a 512x512 CT must need several 4096-byte chunks"
    assert all(c["m"] == "1" for c in commands[1:-1]) and commands[-1]["m"] == "0"
    pixels, mode = png_pixels(images[7])
    assert mode == "L"  # greyscale stays one channel
    assert np.array_equal(pixels, ct)


def test_kitty_round_trip_colour_and_scaling(photo: np.ndarray) -> None:
    data = encoder_for("kitty").encode(photo, Placement(columns=30, rows=10, image_id=3, scale_to_cells=True))
    commands, images = read_kitty(data)
    assert commands[1]["c"] == "30" and commands[1]["r"] == "10"
    pixels, mode = png_pixels(images[3])
    assert mode == "RGB" and np.array_equal(pixels, photo)


def test_kitty_small_image_is_one_chunk_and_clear_deletes() -> None:
    tiny = np.zeros((2, 2), dtype=np.uint8)
    commands, images = read_kitty(encoder_for("kitty").encode(tiny, Placement(image_id=1)))
    assert len(commands) == 2 and commands[1]["m"] == "0"
    assert np.array_equal(png_pixels(images[1])[0], tiny)
    clear_commands, _ = read_kitty(encoder_for("kitty").clear(Placement(image_id=9)))
    assert clear_commands == [{"a": "d", "d": "I", "i": "9", "q": "2"}]


# --- iTerm2 --------------------------------------------------------------------------------


def test_iterm_round_trip(ct: np.ndarray, photo: np.ndarray) -> None:
    for image in (ct, photo):
        arguments, png = read_iterm(encoder_for("iterm").encode(image, Placement()))
        assert arguments["inline"] == "1" and int(arguments["size"]) == len(png)
        assert arguments["width"] == f"{image.shape[1]}px" and arguments["height"] == f"{image.shape[0]}px"
        assert np.array_equal(png_pixels(png)[0], image)


# --- sixel ---------------------------------------------------------------------------------


def _sixel_body(data: bytes) -> bytes:
    assert data.startswith(b"\x1b[?2026h") and data.endswith(b"\x1b[?2026l"), "one synchronised update"
    body = data[len(b"\x1b[?2026h") : -len(b"\x1b[?2026l")]
    assert body.count(b"\x1bP") == 1
    return body


@pytest.mark.parametrize("levels", [64, 101])
def test_sixel_greyscale_round_trip_within_one_level(ct: np.ndarray, levels: int) -> None:
    data = SixelEncoder(grey_levels=levels).encode(ct, Placement())
    pixels, painted = read_sixel(_sixel_body(data))
    assert painted.all()
    step = 255 / (levels - 1)
    error = np.abs(pixels[..., 0].astype(int) - ct)
    assert error.max() <= step / 2 + 1.5  # half a level, plus percent rounding of the register
    registers = {int(n) for n in __import__("re").findall(rb"#(\d+);2;", data)}
    assert len(registers) <= levels and len(registers) > levels // 2


def test_sixel_odd_sizes_and_flat_areas() -> None:
    image = np.zeros((13, 7), dtype=np.uint8)  # 13 rows: the last band is partial
    image[5:9, 2:6] = 255
    pixels, painted = read_sixel(_sixel_body(SixelEncoder().encode(image, Placement())))
    assert pixels.shape[:2] == (13, 7) and painted.all()
    assert np.array_equal(pixels[..., 0], image)
    wide = np.full((6, 300), 200, dtype=np.uint8)  # a run longer than 255 uses "!300"
    data = SixelEncoder().encode(wide, Placement())
    assert b"!300" in data
    assert np.array_equal(read_sixel(_sixel_body(data))[0][..., 0], np.full((6, 300), 199, dtype=np.uint8))  # 200 -> 78% -> 198.9


def test_sixel_colour_through_a_palette(photo: np.ndarray) -> None:
    data = SixelEncoder().encode(photo, Placement())
    pixels, painted = read_sixel(_sixel_body(data))
    assert painted.all()
    registers = __import__("re").findall(rb"#(\d+);2;", data)
    assert 16 < len(registers) <= 256
    assert np.abs(pixels.astype(int) - photo).mean() < 4


def test_sixel_agrees_with_sixel2png(tmp_path: Path, ct: np.ndarray, photo: np.ndarray) -> None:
    """Debian's libsixel decoder as a second opinion on the same bytes."""
    executable = require_tool("sixel2png")
    for name, image in (("ct", ct[:301, :257]), ("photo", photo)):
        data = _sixel_body(SixelEncoder().encode(np.ascontiguousarray(image), Placement()))
        source, target = tmp_path / f"{name}.six", tmp_path / f"{name}.png"
        source.write_bytes(data)
        subprocess.run([executable, "-i", str(source), "-o", str(target)], check=True, timeout=60)
        theirs = np.asarray(__import__("PIL.Image").Image.open(target).convert("RGB")).astype(int)
        ours, _ = read_sixel(data)
        assert theirs.shape == ours.shape
        assert np.abs(theirs - ours.astype(int)).max() <= 1


# --- half-blocks ---------------------------------------------------------------------------


def test_halfblocks_truecolour_rebuild_exactly() -> None:
    image = RNG.integers(0, 256, (9, 12, 3)).astype(np.uint8)  # odd height: last row has no lower pixel
    data = encoder_for("blocks").encode(image, Placement(columns=12, rows=5))
    pixels = read_halfblocks(data)
    assert pixels.shape == (10, 12, 3)
    assert np.array_equal(pixels[:9], image.astype(np.int64))
    assert (pixels[9] == -1).all()


def test_halfblocks_greyscale_and_fit_to_cells(ct: np.ndarray) -> None:
    data = encoder_for("blocks").encode(ct, Placement(columns=40, rows=20))
    pixels = read_halfblocks(data)
    assert pixels.shape == (40, 40, 3)
    assert (pixels[..., 0] == pixels[..., 2]).all()
    assert len(data.decode().split("\r\n")) == 21


def test_halfblocks_256_colours_use_the_nearest_xterm_entry() -> None:
    image = RNG.integers(0, 256, (8, 16, 3)).astype(np.uint8)
    pixels = read_halfblocks(encoder_for("blocks256").encode(image, Placement(columns=16, rows=4)))
    palette = np.array([xterm256_rgb(i) for i in range(16, 256)])
    for y in range(8):
        for x in range(16):
            best = ((palette - image[y, x].astype(int)) ** 2).sum(axis=1).min()
            got = ((pixels[y, x] - image[y, x].astype(int)) ** 2).sum()
            assert got == best
    assert xterm256_index(np.array([[[128, 128, 128]]], dtype=np.uint8))[0, 0] == 244
