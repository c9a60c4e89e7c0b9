"""Colour images to 8-bit RGB: RGB and YBR forms, PALETTE COLOR (PS3.3 C.7.6.3.1.2, C.7.6.3.1.5/6).

pydicom's decoders already undo Planar Configuration (C.7.6.3.1.3) and,
because frames are decoded with ``raw=False``, convert YBR_FULL,
YBR_FULL_422 and the other YBR forms to RGB using what each codec did
(a JPEG decoder may already have converted). What is left here: palette
look-up, scaling more than 8 bits per sample down to 8, and the optional
window and inversion a viewer applies to colour too.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut

from tui_pacs.imaging.errors import ImagingError
from tui_pacs.imaging.lut import apply_window
from tui_pacs.imaging.viewstate import ViewState


def is_palette(ds: Dataset) -> bool:
    return str(ds.get("PhotometricInterpretation", "")).strip().upper() == "PALETTE COLOR"


def is_colour(ds: Dataset, pixels: np.ndarray) -> bool:
    return is_palette(ds) or pixels.ndim == 3 or int(ds.get("SamplesPerPixel", 1) or 1) > 1


def colour_to_display(pixels: np.ndarray, ds: Dataset, view: ViewState) -> np.ndarray:
    """A decoded colour frame to (rows, cols, 3) uint8 RGB."""
    if is_palette(ds):
        rgb = palette_to_rgb(pixels, ds)
        bits = 8
    else:
        rgb = pixels
        bits = int(ds.get("BitsStored", 8) or 8)
    if rgb.ndim != 3 or rgb.shape[-1] < 3:
        raise ImagingError(f"colour pixel data has an unexpected shape {rgb.shape}")
    rgb = rgb[..., :3]
    if view.window is not None:
        out = apply_window(rgb.astype(np.float64), view.window, "LINEAR")
        out = np.rint(out).astype(np.uint8)
    else:
        out = to_8bit(rgb, bits)
    if view.invert:
        out = 255 - out
    return out


def palette_to_rgb(pixels: np.ndarray, ds: Dataset) -> np.ndarray:
    """PALETTE COLOR indices through the Red/Green/Blue Palette LUTs (also segmented, C.7.9.2), 8-bit."""
    try:
        rgb = apply_color_lut(pixels, ds)
    except (ValueError, AttributeError, KeyError) as exc:
        raise ImagingError(f"the palette colour lookup table is unusable: {exc}") from exc
    descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
    bits = int(descriptor[2]) if descriptor is not None else rgb.dtype.itemsize * 8
    if bits > 8 and rgb.dtype.itemsize > 1 and int(rgb.max(initial=0)) <= 255:
        bits = 8  # PS3.3 C.7.6.3.1.5: some writers declare 16 bits for 8-bit entries
    return to_8bit(rgb, bits)


def to_8bit(values: np.ndarray, bits: int) -> np.ndarray:
    """Scale unsigned samples of ``bits`` bits to 0..255."""
    if values.dtype == np.uint8 and bits <= 8:
        return values
    top = float((1 << max(1, bits)) - 1)
    scaled = np.rint(np.clip(values.astype(np.float64), 0, top) * (255.0 / top))
    return scaled.astype(np.uint8)
