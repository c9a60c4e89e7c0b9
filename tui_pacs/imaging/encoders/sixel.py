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
    used = np.unique(indices)
    registers = b"".join(b"#%d;2;%d;%d;%d" % (c, *palette[c].tolist()) for c in used.tolist())
    line_ids, pieces = _run_length_lines(*_sixel_entries(indices, colours))
    headers = [b"#%d" % c for c in range(colours)]
    parts = [head, registers]
    previous_band = -1
    for line, piece in zip(line_ids.tolist(), pieces, strict=True):
        band, colour = divmod(line, colours)
        if band != previous_band:
            if previous_band >= 0:
                parts.append(b"-" * (band - previous_band))
            previous_band = band
        else:
            parts.append(b"$")
        parts.append(headers[colour])
        parts.append(piece)
    parts.append(b"-\x1b\\")
    return b"".join(parts)


def _sixel_entries(indices: np.ndarray, colours: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-blank sixels as (line, column, code), sorted by line then column.

    A line is one (band, colour) pair, numbered ``band * colours + colour``.
    Pixels are laid out band by band, column by column, row within band
    last; a stable sort by line keeps the columns in order, and the (up to
    six) pixels of one column and colour then sit next to each other and
    are summed into one 6-bit code.
    """
    height, width = indices.shape
    bands = (height + 5) // 6
    small = bands * (colours + 1) <= np.iinfo(np.uint16).max
    key_type = np.uint16 if small else np.int64  # 16-bit keys get numpy's radix sort
    padded = np.full((bands * 6, width), colours, dtype=key_type)  # padding rows: an extra colour
    padded[:height] = indices
    padded += (np.arange(bands * 6, dtype=key_type) // 6 * (colours + 1))[:, None]
    line = np.ascontiguousarray(padded.reshape(bands, 6, width).transpose(0, 2, 1)).ravel()
    order = np.argsort(line, kind="stable")
    sorted_line = line[order].astype(np.int64)
    position = order.astype(np.int32 if order.size < 2**31 else np.int64)
    column = (position // 6) % width
    bit = np.left_shift(np.int32(1), position % 6)
    boundary = np.empty(order.size, dtype=bool)
    boundary[0] = True
    boundary[1:] = (sorted_line[1:] != sorted_line[:-1]) | (column[1:] != column[:-1])
    starts = np.flatnonzero(boundary)
    codes = np.add.reduceat(bit, starts)
    entry_line, entry_column = sorted_line[starts], column[starts]
    band, colour = np.divmod(entry_line, colours + 1)
    real = colour < colours
    return band[real] * colours + colour[real], entry_column[real], codes[real]


def _run_length_lines(line: np.ndarray, column: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, list[bytes]]:
    """Sixel entries as characters, one bytes object per line.

    Each entry either continues the run before it or starts a new one,
    preceded by a run of blank sixels ("?") for the gap. Runs of 4 or more
    become ``!n<char>``; trailing blanks are never written. Returns the
    line numbers and their bytes.
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.int64), []
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
    # Up to three events per run, in order: end of previous line, blank gap, the run itself.
    events_value = np.zeros((starts.size, 3), dtype=np.int64)
    events_length = np.zeros((starts.size, 3), dtype=np.int64)
    events_valid = np.zeros((starts.size, 3), dtype=bool)
    events_valid[1:, 0] = new_line[starts[1:]]
    events_length[:, 0] = 1
    start_gaps = gap[starts]
    events_valid[:, 1] = start_gaps > 0
    events_value[:, 1] = 63
    events_length[:, 1] = start_gaps
    events_valid[:, 2] = True
    events_value[:, 2] = values[starts]
    events_length[:, 2] = run_lengths
    valid = events_valid.ravel()
    encoded = _encode_runs(events_value.ravel()[valid], events_length.ravel()[valid])
    return line[new_line], encoded.tobytes().split(b"\0")


def _encode_runs(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Runs to bytes: value 0 is a one-byte line separator, runs of 4+ are ``!n<char>``."""
    separator = values == 0
    long_run = (lengths >= 4) & ~separator
    digits = 1 + (lengths >= 10) + (lengths >= 100) + (lengths >= 1000) + (lengths >= 10000)
    size = np.where(long_run, 2 + digits, lengths)
    ends = np.cumsum(size)
    offsets = ends - size
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    short = ~long_run
    short_lengths = lengths[short]
    fill_base = np.repeat(offsets[short], short_lengths)
    within = np.arange(fill_base.size) - np.repeat(np.cumsum(short_lengths) - short_lengths, short_lengths)
    out[fill_base + within] = np.repeat(values[short], short_lengths)
    long_offsets, long_lengths, long_digits = offsets[long_run], lengths[long_run], digits[long_run]
    out[long_offsets] = ord("!")
    for place in range(int(long_digits.max(initial=0))):
        has = long_digits > place
        power = 10 ** (long_digits[has] - 1 - place)
        out[long_offsets[has] + 1 + place] = (long_lengths[has] // power) % 10 + ord("0")
    out[long_offsets + 1 + long_digits] = values[long_run]
    return out


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2]))
