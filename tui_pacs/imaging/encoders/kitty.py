"""The kitty graphics protocol: PNG payload, chunked base64, direct placement.

Sequences are APC ``ESC _ G <control> ; <payload> ESC \\``. The PNG
(``f=100``) is base64 encoded and sent in chunks of at most 4096 bytes
with ``m=1`` on every chunk but the last (the protocol's limit). Every
image carries the placement's id (``i=``): the old image with that id is
deleted (``a=d,d=I``) before the new one is transmitted and displayed
(``a=T``), so stepping through a series leaves nothing behind. ``q=2``
silences the terminal's replies, which would otherwise arrive as input.
"""

from __future__ import annotations

import base64

import numpy as np

from tui_pacs.imaging.encoders.base import Placement
from tui_pacs.imaging.encoders.png import png_bytes

CHUNK = 4096
APC = b"\x1b_G"
ST = b"\x1b\\"


class KittyEncoder:
    """Encoder for kitty (and terminals that implement its graphics protocol)."""

    name = "kitty"

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        payload = base64.standard_b64encode(png_bytes(image))
        control = f"a=T,f=100,i={placement.image_id},q=2"
        if placement.scale_to_cells:
            control += f",c={placement.columns},r={placement.rows}"
        parts = [self.clear(placement)]
        chunks = [payload[start : start + CHUNK] for start in range(0, len(payload), CHUNK)] or [b""]
        for number, chunk in enumerate(chunks):
            more = 1 if number < len(chunks) - 1 else 0
            head = f"{control},m={more}" if number == 0 else f"m={more}"
            parts.append(APC + head.encode("ascii") + b";" + chunk + ST)
        return b"".join(parts)

    def clear(self, placement: Placement) -> bytes:
        """Delete the image with this id and free its data (``d=I``)."""
        return APC + f"a=d,d=I,i={placement.image_id},q=2".encode("ascii") + ST
