"""Readers that turn terminal graphics bytes back into pixels, written for the tests.

They are deliberately independent of the encoders (they parse the bytes
as a terminal would), so an encoder bug cannot hide behind a shared
helper.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

# --- kitty -----------------------------------------------------------------------------------


def read_kitty(data: bytes) -> tuple[list[dict[str, str]], dict[int, bytes]]:
    """All APC G commands (control dicts) and, per image id, the reassembled payload.

    Follows the protocol's chunking: a command with ``m=1`` continues into
    the next, whose control keys are only ``m``; the payload is base64.
    """
    commands: list[dict[str, str]] = []
    images: dict[int, bytes] = {}
    pending: list[bytes] = []
    pending_id: int | None = None
    position = 0
    for match in re.finditer(rb"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\", data):
        assert match.start() == position, f"unexpected bytes between kitty commands at {position}"
        position = match.end()
        control = dict(item.split("=", 1) for item in match.group(1).decode("ascii").split(","))
        payload = match.group(2) or b""
        assert len(payload) <= 4096, "a chunk may carry at most 4096 bytes"
        commands.append(control)
        if pending_id is None and control.get("a") in ("T", "t"):
            pending_id = int(control["i"])
        elif pending_id is not None:
            assert set(control) == {"m"}, f"continuation chunks carry only m=: {control}"
        if pending_id is not None:
            pending.append(payload)
            if control.get("m", "0") == "0":
                images[pending_id] = base64.standard_b64decode(b"".join(pending))
                pending, pending_id = [], None
    assert position == len(data), "trailing bytes after the last kitty command"
    assert pending_id is None, "the last chunk did not have m=0"
    return commands, images


def png_pixels(png: bytes) -> tuple[np.ndarray, str]:
    image = Image.open(io.BytesIO(png))
    image.load()
    return np.asarray(image), image.mode


# --- iTerm2 ----------------------------------------------------------------------------------


def read_iterm(data: bytes) -> tuple[dict[str, str], bytes]:
    match = re.fullmatch(rb"\x1b\]1337;File=([^:]*):([A-Za-z0-9+/=]*)\x07", data)
    assert match, "not one OSC 1337 File sequence ended by BEL"
    arguments = dict(item.split("=", 1) for item in match.group(1).decode("ascii").split(";"))
    return arguments, base64.standard_b64decode(match.group(2))


# --- sixel -----------------------------------------------------------------------------------


def read_sixel(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode one sixel DCS string to (RGB pixels 0..255, painted mask).

    Implements what a VT340 does with the subset of sixel the encoder may
    use: raster attributes, colour introducers in HLS-less RGB percent
    form, repeats, carriage return ``$`` and new line ``-``.
    """
    start = data.index(b"\x1bP")
    q = data.index(b"q", start)
    end = data.index(b"\x1b\\", q)
    body = data[q + 1 : end].decode("ascii")
    raster = re.match(r'"(\d+);(\d+);(\d+);(\d+)', body)
    assert raster, "raster attributes missing"
    width, height = int(raster.group(3)), int(raster.group(4))
    body = body[raster.end() :]
    palette: dict[int, tuple[int, int, int]] = {}
    pixels = np.zeros((height + 6, width, 3), dtype=np.float64)
    painted = np.zeros((height + 6, width), dtype=bool)
    x = band = 0
    colour = 0
    i = 0
    token = re.compile(r"#(\d+)(?:;(\d+);(\d+);(\d+);(\d+))?|!(\d+)(.)|([?-~])|(\$)|(-)")
    while i < len(body):
        match = token.match(body, i)
        assert match, f"unexpected sixel data at {i}: {body[i:i + 20]!r}"
        i = match.end()
        if match.group(1) is not None:
            colour = int(match.group(1))
            if match.group(2) is not None:
                assert match.group(2) == "2", "only RGB colour definitions are expected"
                palette[colour] = tuple(int(match.group(k)) for k in (3, 4, 5))  # type: ignore[assignment]
            continue
        if match.group(6) is not None:
            count, char = int(match.group(6)), match.group(7)
        elif match.group(8) is not None:
            count, char = 1, match.group(8)
        elif match.group(9) is not None:
            x = 0
            continue
        else:
            x, band = 0, band + 1
            continue
        bits = ord(char) - 63
        rgb = np.array(palette[colour], dtype=np.float64) * 255.0 / 100.0
        for row in range(6):
            if bits & (1 << row):
                y = band * 6 + row
                pixels[y, x : x + count] = rgb
                painted[y, x : x + count] = True
        x += count
    assert x <= width
    return np.rint(pixels[:height]).astype(np.uint8), painted[:height]


# --- half-blocks -----------------------------------------------------------------------------


def xterm256_rgb(index: int) -> tuple[int, int, int]:
    """xterm's colour for a 256-colour index (16..255), computed from its definition."""
    if 16 <= index <= 231:
        levels = [0, 95, 135, 175, 215, 255]
        index -= 16
        return levels[index // 36], levels[(index // 6) % 6], levels[index % 6]
    if 232 <= index <= 255:
        value = 8 + 10 * (index - 232)
        return value, value, value
    raise AssertionError(f"the encoder used a system colour {index}")


def read_halfblocks(data: bytes) -> np.ndarray:
    """Rebuild the pixels from half-block text: fg is the upper pixel, bg the lower (-1: none)."""
    rows = []
    # Lines end in CRLF from the encoder, LF from tmux capture-pane; lines without cells are not image.
    for line in (text for text in re.split(r"\r?\n", data.decode("utf-8")) if "\u2580" in text):
        fg: tuple[int, ...] = (-1, -1, -1)
        bg: tuple[int, ...] = (-1, -1, -1)
        upper, lower = [], []
        for match in re.finditer(r"\x1b\[([\d;]*)m|(\u2580)", line):
            if match.group(2):
                upper.append(fg)
                lower.append(bg)
                continue
            codes = [int(c) for c in match.group(1).split(";") if c]
            k = 0
            while k < len(codes):
                code = codes[k]
                if code in (38, 48) and codes[k + 1] == 2:
                    colour = tuple(codes[k + 2 : k + 5])
                    k += 5
                elif code in (38, 48) and codes[k + 1] == 5:
                    colour = xterm256_rgb(codes[k + 2])
                    k += 3
                elif code == 39:
                    fg = (-1, -1, -1)
                    k += 1
                    continue
                elif code in (0, 49):
                    colour = (-1, -1, -1)
                    k += 1
                    if code == 0:
                        fg = bg = colour
                        continue
                    bg = colour
                    continue
                else:
                    raise AssertionError(f"unexpected SGR {code}")
                if code == 38:
                    fg = colour
                else:
                    bg = colour
        rows.append(upper)
        rows.append(lower)
    return np.array(rows, dtype=np.int64)
