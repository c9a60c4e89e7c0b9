"""PNG payloads for kitty and iTerm2: greyscale stays one channel, which is a third of the bytes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# zlib level 6 costs ~3x level 1 in time for ~10% fewer bytes on CT; SUB filtering suits gradients.
COMPRESS_LEVEL = 6


def png_bytes(image: np.ndarray, compress_level: int = COMPRESS_LEVEL) -> bytes:
    """Encode an 8-bit grey or RGB array as PNG."""
    array = np.ascontiguousarray(image if image.ndim == 2 else image[:, :, :3], dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()
