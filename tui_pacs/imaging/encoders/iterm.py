"""iTerm2 inline images (OSC 1337 File=) with a PNG payload; also understood by WezTerm and mlterm."""

from __future__ import annotations

import base64

import numpy as np

from tui_pacs.imaging.encoders.base import Placement
from tui_pacs.imaging.encoders.png import png_bytes


class ItermEncoder:
    """``ESC ] 1337 ; File=inline=1;size=N;width=Wpx;height=Hpx : base64 BEL``."""

    name = "iterm"

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        data = png_bytes(image)
        height, width = image.shape[:2]
        if placement.scale_to_cells:
            size = f"width={placement.columns};height={placement.rows}"
        else:
            size = f"width={width}px;height={height}px"
        head = f"\x1b]1337;File=inline=1;size={len(data)};{size};preserveAspectRatio=1:"
        return head.encode("ascii") + base64.standard_b64encode(data) + b"\x07"

    def clear(self, placement: Placement) -> bytes:
        """Inline images are cells of text: overwriting or clearing the cells removes them."""
        return b""
