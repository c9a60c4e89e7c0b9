"""The protocol every graphics encoder follows, and the registry of them.

An encoder turns an 8-bit image (``(h, w)`` grey or ``(h, w, 3)`` RGB,
already scaled to the pixels it should occupy) into the bytes to write at
the cursor. Encoders do no terminal I/O and hold no state except the image
id they were given, so they are trivially testable by decoding the bytes
back.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

PROTOCOLS = ("kitty", "sixel", "iterm", "blocks", "blocks256")


@dataclass(frozen=True)
class Placement:
    """Where and as what the image goes.

    ``columns``/``rows`` are the cells the image may occupy: half-blocks
    need them to size the text; pixel protocols ignore them unless
    ``scale_to_cells`` asks the terminal to stretch into them.
    ``image_id`` lets kitty replace the previous image instead of stacking.
    """

    columns: int = 80
    rows: int = 24
    image_id: int = 1
    scale_to_cells: bool = False


class GraphicsEncoder(Protocol):
    """Turns display pixels into terminal bytes."""

    name: str

    def encode(self, image: np.ndarray, placement: Placement) -> bytes:
        """The bytes that draw ``image`` at the cursor."""
        ...

    def clear(self, placement: Placement) -> bytes:
        """The bytes that remove what :meth:`encode` drew (empty when text overwrite suffices)."""
        ...


_MODULES = {
    "kitty": "tui_pacs.imaging.encoders.kitty:KittyEncoder",
    "sixel": "tui_pacs.imaging.encoders.sixel:SixelEncoder",
    "iterm": "tui_pacs.imaging.encoders.iterm:ItermEncoder",
    "blocks": "tui_pacs.imaging.encoders.halfblock:HalfBlockEncoder",
    "blocks256": "tui_pacs.imaging.encoders.halfblock:HalfBlock256Encoder",
}


def encoder_for(protocol: str) -> GraphicsEncoder:
    """The encoder for a protocol name (see :data:`PROTOCOLS`)."""
    try:
        module_name, class_name = _MODULES[protocol].split(":")
    except KeyError:
        raise ValueError(f"unknown graphics protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}") from None
    encoder: GraphicsEncoder = getattr(importlib.import_module(module_name), class_name)()
    return encoder


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Grey (h, w) to (h, w, 3) without copying colour images."""
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3]
