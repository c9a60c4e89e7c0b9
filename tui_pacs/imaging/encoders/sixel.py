"""DEC sixel, encoded with numpy: greyscale in up to 101 levels, colour through a 256-entry palette.

Sixel colour registers are percentages (``#n;2;r;g;b`` with 0..100), so a
terminal cannot show more than 101 distinct greys; greyscale images are
quantised to ``grey_levels`` (64..101) evenly spaced levels. Colour
images are reduced to at most 256 colours by Pillow's octree quantiser
(no dithering: dithering noise costs bytes and hides detail).

Each band of six pixel rows becomes, for every colour present in it, one
run-length encoded line (``!n`` repeats) of sixel characters; trailing
empty sixels are dropped. All of that is done on arrays; Python only
joins one bytes object per (band, colour) line. The image is framed by
DEC mode 2026 (synchronised update) so terminals that know it paint it at
once instead of band by band.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from tui_pacs.imaging.encoders.base import Placement

BEGIN_SYNC = b"\x1b[?2026h"
END_SYNC = b"\x1b[?2026l"
MIN_GREY_LEVELS, MAX_GREY_LEVELS = 64, 101


class SixelEncoder:
    """Sixel encoder; ``grey_levels`` trades fidelity (101) for bytes (64)."""

    name = "sixel"

    def __init__(self, grey_levels: int = MAX_GREY_LEVELS, colours: int = 256, synchronised: bool = True) -> None:
        if not MIN_GREY_LEVELS <= grey_levels <= MAX_GREY_LEVELS:
            raise ValueError(f"grey_levels must be {MIN_GREY_LEVELS}..{MAX_GREY_LEVELS}")
        self.grey_levels = grey_levels
        self.colours = max(2, min(256, colours))
        self.synchronised = synchronised

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        if image.ndim == 3 and not _is_grey(image):
            indices, palette = quantise_colour(image, self.colours)
        else:
            grey = image if image.ndim == 2 else image[:, :, 0]
            indices, palette = quantise_grey(grey, self.grey_levels)
        body = encode_indexed(indices, palette)
        return (BEGIN_SYNC + body + END_SYNC) if self.synchronised else body

    def clear(self, placement: Placement) -> bytes:
        """Sixel pixels live in the text cells; clearing the cells clears them."""
        return b""


def quantise_grey(grey: np.ndarray, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Grey 0..255 to level indices and the (levels, 3) palette in percent."""
    indices = ((grey.astype(np.uint32) * (levels - 1) + 127) // 255).astype(np.uint8)
    percent = np.rint(np.arange(levels) * 100.0 / (levels - 1)).astype(np.int64)
    return indices, np.repeat(percent[:, None], 3, axis=1)


def quantise_colour(rgb: np.ndarray, colours: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB to palette indices (octree, no dither) and the palette in percent."""
    image = Image.fromarray(np.ascontiguousarray(rgb[:, :, :3], dtype=np.uint8))
    quantised = image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    indices = np.asarray(quantised, dtype=np.uint8)
    raw_palette = quantised.getpalette() or []
    count = int(indices.max(initial=0)) + 1
    palette = np.asarray(raw_palette[: 3 * count], dtype=np.float64).reshape(-1, 3)
    return indices, np.rint(palette * 100.0 / 255.0).astype(np.int64)


def encode_indexed(indices: np.ndarray, palette: np.ndarray) -> bytes:
    """A complete sixel DCS string for an index image and a percent palette."""
    height, width = indices.shape
    colours = palette.shape[0]
    head = b'\x1bP0;1;0q"1;1;%d;%d' % (width, height)
    if height == 0 or width == 0:
        return head + b"\x1b\\"
    used = np.flatnonzero(np.bincount(indices.ravel(), minlength=colours))
    registers = b"".join(b"#%d;2;%d;%d;%d" % (c, *palette[c].tolist()) for c in used.tolist())
    line, column, codes = _sixel_entries(indices, colours)
    return head + registers + _sixel_data(line, column, codes, colours) + b"-\x1b\\"


def _sixel_entries(indices: np.ndarray, colours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-blank sixels as (line, column, code), sorted by line then column.

    A line is one (band, colour) pair, numbered ``band * colours + colour``.
    For each band and column, every row's colour is compared with the
    band's other five rows: the first row of each colour gets the 6-bit
    code of all rows sharing it. A stable sort by line then keeps the
    columns in order (numpy radix-sorts 16-bit keys).
    """
    height, width = indices.shape
    bands = (height + 5) // 6
    padded = np.full((6, bands, width), colours, dtype=np.uint16)  # padding rows: an extra colour
    padded.reshape(6, bands * width)[:, : height // 6 * width] = (
        indices[: height // 6 * 6].reshape(height // 6, 6, width).transpose(1, 0, 2).reshape(6, -1))
    for row in range(height // 6 * 6, height):
        padded[row % 6, row // 6] = indices[row]
    rows = padded  # (row in band, band, column): each row's plane is contiguous
    codes = np.zeros((6, bands, width), dtype=np.uint8)
    first = np.ones((6, bands, width), dtype=bool)
    for j in range(6):
        for k in range(6):
            same = rows[k] == rows[j]
            codes[j] |= same.view(np.uint8) << np.uint8(k)
            if k < j:
                first[j] &= ~same
    codes = np.ascontiguousarray(codes.transpose(1, 2, 0))  # (band, column, row)
    colour = np.ascontiguousarray(rows.transpose(1, 2, 0))
    keep = (np.ascontiguousarray(first.transpose(1, 2, 0)) & (colour < colours)).ravel()
    position = np.flatnonzero(keep)
    band_of = position // (6 * width)
    line = band_of * colours + colour.ravel()[position].astype(np.int64)
    key_type = np.uint16 if bands * colours <= np.iinfo(np.uint16).max else np.int64
    order = np.argsort(line.astype(key_type), kind="stable")
    position = position[order]
    return line[order], (position // 6) % width, codes.ravel()[position]


def _sixel_data(line: np.ndarray, column: np.ndarray, codes: np.ndarray, colours: int) -> bytes:
    """Sixel entries as the data part of the DCS string, built as one array.

    Per line: ``$`` (same band) or ``-`` (next band) before it, ``#n`` to
    select its colour, then runs. Each entry either continues the run
    before it or starts a new one, preceded by a run of blank sixels
    ("?") for the gap; runs of 4 or more become ``!n<char>``; trailing
    blanks are never written.
    """
    if codes.size == 0:
        return b""
    values = codes.astype(np.int64) + 63
    new_line = np.empty(codes.size, dtype=bool)
    new_line[0] = True
    new_line[1:] = line[1:] != line[:-1]
    gap = np.empty(codes.size, dtype=np.int64)
    gap[0] = column[0]
    gap[1:] = column[1:] - column[:-1] - 1
    gap[new_line] = column[new_line]
    continues = ~new_line & (gap == 0)
    continues[1:] &= values[1:] == values[:-1]
    starts = np.flatnonzero(~continues)
    run_lengths = np.diff(np.append(starts, codes.size))
    starts_line = new_line[starts]
    band = line[starts] // colours
    previous_band = np.empty_like(band)
    previous_band[0] = band[0]
    previous_band[1:] = band[:-1]
    # Up to four events per run: line separator, colour selection, blank gap, the run itself.
    value = np.zeros((starts.size, 4), dtype=np.int64)
    length = np.ones((starts.size, 4), dtype=np.int64)
    kind = np.zeros((starts.size, 4), dtype=np.int8)  # 0 run, 1 "#n", 2 literal
    valid = np.zeros((starts.size, 4), dtype=bool)
    valid[1:, 0] = starts_line[1:]
    value[:, 0] = np.where(band == previous_band, ord("$"), ord("-"))
    length[:, 0] = np.maximum(band - previous_band, 1)
    kind[:, 0] = 2
    valid[:, 1] = starts_line
    value[:, 1] = line[starts] % colours
    kind[:, 1] = 1
    start_gaps = gap[starts]
    valid[:, 2] = start_gaps > 0
    value[:, 2] = 63
    length[:, 2] = start_gaps
    valid[:, 3] = True
    value[:, 3] = values[starts]
    length[:, 3] = run_lengths
    keep = valid.ravel()
    return _encode_events(value.ravel()[keep], length.ravel()[keep], kind.ravel()[keep]).tobytes()


def _digits(numbers: np.ndarray) -> np.ndarray:
    return 1 + (numbers >= 10) + (numbers >= 100) + (numbers >= 1000) + (numbers >= 10000)


def _encode_events(values: np.ndarray, lengths: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Events to bytes: runs (``!n<char>`` from 4 on), colour selections ``#n``, literal repeats."""
    header = kinds == 1
    long_run = (lengths >= 4) & (kinds == 0)
    plain = ~header & ~long_run
    run_digits = _digits(lengths)
    colour_digits = _digits(values)
    size = np.where(long_run, 2 + run_digits, np.where(header, 1 + colour_digits, lengths))
    ends = np.cumsum(size)
    offsets = ends - size
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    plain_lengths = lengths[plain]
    fill_base = np.repeat(offsets[plain], plain_lengths)
    within = np.arange(fill_base.size) - np.repeat(np.cumsum(plain_lengths) - plain_lengths, plain_lengths)
    out[fill_base + within] = np.repeat(values[plain], plain_lengths)
    _write_numbers(out, offsets[long_run], lengths[long_run], run_digits[long_run], ord("!"))
    out[offsets[long_run] + 1 + run_digits[long_run]] = values[long_run]
    _write_numbers(out, offsets[header], values[header], colour_digits[header], ord("#"))
    return out


def _write_numbers(out: np.ndarray, offsets: np.ndarray, numbers: np.ndarray, digits: np.ndarray, prefix: int) -> None:
    out[offsets] = prefix
    for place in range(int(digits.max(initial=0))):
        has = digits > place
        power = 10 ** (digits[has] - 1 - place)
        out[offsets[has] + 1 + place] = (numbers[has] // power) % 10 + ord("0")


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]))
