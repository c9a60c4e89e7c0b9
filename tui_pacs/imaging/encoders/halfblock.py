"""Unicode half-block fallback: two pixels per cell with U+2580 UPPER HALF BLOCK.

The foreground colour paints the upper pixel, the background the lower, so
a pane of C x R cells shows C x 2R pixels; a cell is about twice as tall
as wide, so those pixels are about square. Truecolour SGR (``38;2``/``48;2``)
where the terminal has it; the 256-colour variant maps each pixel to the
nearest entry of the xterm 6x6x6 cube or 24-step grey ramp. Colours are
only re-sent when they change along a line, which keeps flat regions cheap.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from PIL import Image

from tui_pacs.imaging.encoders.base import Placement, as_rgb

UPPER_HALF = "\u2580"
RESET = "\x1b[0m"
CUBE_LEVELS = np.array([0, 95, 135, 175, 215, 255])
GREY_RAMP = 8 + 10 * np.arange(24)


class HalfBlockEncoder:
    """Truecolour half-blocks."""

    name = "blocks"

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        rgb = fit_to_cells(as_rgb(image), placement)
        top, bottom = _pairs(rgb)
        fg = [[f"38;2;{r};{g};{b}" for r, g, b in row] for row in top.tolist()]
        bg = [[f"48;2;{r};{g};{b}" if r >= 0 else "49" for r, g, b in row] for row in bottom.tolist()]
        return _lines(fg, bg)

    def clear(self, placement: Placement) -> bytes:
        return b""


class HalfBlock256Encoder:
    """Half-blocks in the xterm 256-colour palette, for terminals without truecolour."""

    name = "blocks256"

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        rgb = fit_to_cells(as_rgb(image), placement)
        indices = xterm256_index(rgb)
        top = indices[0::2]
        bottom = np.full(top.shape, -1, dtype=np.int64)
        bottom[: indices[1::2].shape[0]] = indices[1::2]
        top_rows = cast(list[list[int]], top.tolist())
        bottom_rows = cast(list[list[int]], bottom.tolist())
        fg = [[f"38;5;{i}" for i in row] for row in top_rows]
        bg = [[f"48;5;{i}" if i >= 0 else "49" for i in row] for row in bottom_rows]
        return _lines(fg, bg)

    def clear(self, placement: Placement) -> bytes:
        return b""


def fit_to_cells(rgb: np.ndarray, placement: Placement) -> np.ndarray:
    """Shrink to at most columns x 2*rows pixels (callers normally size it already)."""
    height, width = rgb.shape[:2]
    box_width, box_height = max(1, placement.columns), max(2, 2 * placement.rows)
    if width <= box_width and height <= box_height:
        return rgb
    scale = min(box_width / width, box_height / height)
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.Resampling.BOX))


def xterm256_palette() -> np.ndarray:
    """The (256, 3) RGB values xterm uses for colours 16..255 (0..15 left at their usual values)."""
    basic = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    cube = [(r, g, b) for r in CUBE_LEVELS for g in CUBE_LEVELS for b in CUBE_LEVELS]
    greys = [(v, v, v) for v in GREY_RAMP]
    return np.array(basic + cube + greys, dtype=np.int64)


def xterm256_index(rgb: np.ndarray) -> np.ndarray:
    """Nearest of the cube (16..231) or grey ramp (232..255) entries, per pixel (squared RGB distance)."""
    values = rgb.astype(np.int64)
    level = np.abs(values[..., None] - CUBE_LEVELS).argmin(axis=-1)  # nearest cube level per channel
    cube_index = 16 + 36 * level[..., 0] + 6 * level[..., 1] + level[..., 2]
    cube_rgb = CUBE_LEVELS[level]
    mean = values.mean(axis=-1)
    ramp = np.clip(np.rint((mean - 8) / 10), 0, 23).astype(np.int64)
    grey_rgb = GREY_RAMP[ramp][..., None]
    cube_error = ((values - cube_rgb) ** 2).sum(axis=-1)
    grey_error = ((values - grey_rgb) ** 2).sum(axis=-1)
    nearest: np.ndarray = np.where(grey_error < cube_error, 232 + ramp, cube_index)
    return nearest


def _pairs(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    top = rgb[0::2].astype(np.int64)
    bottom = np.full(top.shape, -1, dtype=np.int64)  # -1: an odd last row has no lower pixel
    lower = rgb[1::2]
    bottom[: lower.shape[0]] = lower
    return top, bottom


def _lines(fg: list[list[str]], bg: list[list[str]]) -> bytes:
    out: list[str] = []
    for fg_row, bg_row in zip(fg, bg, strict=True):
        current_fg = current_bg = ""
        for cell_fg, cell_bg in zip(fg_row, bg_row, strict=True):
            codes = []
            if cell_fg != current_fg:
                codes.append(cell_fg)
                current_fg = cell_fg
            if cell_bg != current_bg:
                codes.append(cell_bg)
                current_bg = cell_bg
            if codes:
                out.append("\x1b[" + ";".join(codes) + "m")
            out.append(UPPER_HALF)
        out.append(RESET + "\r\n")
    return "".join(out).encode("utf-8")
