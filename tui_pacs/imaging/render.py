"""The one pure function from (data set, frame, view state) to display pixels.

The CLI preview, the TUI viewer, the encoders' tests and the benchmarks all
call :func:`render`, so what the tests check is what users see.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from tui_pacs.imaging.colour import colour_to_display, is_colour
from tui_pacs.imaging.decode import DecodedFrame, Source, decode_frame
from tui_pacs.imaging.lut import grey_to_display
from tui_pacs.imaging.sizing import fit_size
from tui_pacs.imaging.viewstate import ViewState


def render(src: Source, frame: int, view: ViewState) -> np.ndarray:
    """Frame ``frame`` (0-based) of a data set or file as an 8-bit image.

    Returns ``(rows, cols)`` uint8 for greyscale and ``(rows, cols, 3)``
    uint8 RGB for colour, scaled into ``view.fit`` when it is set. Raises
    :class:`~tui_pacs.imaging.errors.ImagingError` with one reason when the
    object cannot be shown.
    """
    return render_decoded(decode_frame(src, frame), view)


def render_decoded(decoded: DecodedFrame, view: ViewState) -> np.ndarray:
    """The display pipeline on an already decoded frame (the prefetcher's second half)."""
    ds, pixels = decoded.dataset, decoded.pixels
    if is_colour(ds, pixels):
        image = colour_to_display(pixels, ds, view)
    else:
        if pixels.ndim == 3:  # a single-sample frame decoded with a trailing axis
            pixels = pixels[..., 0]
        image = grey_to_display(pixels, ds, view)
    if view.fit is not None:
        image = scale_to_fit(image, view.fit, pixel_aspect(ds))
    return image


def scale_to_fit(image: np.ndarray, box: tuple[int, int], aspect: float = 1.0) -> np.ndarray:
    """Scale into a (width, height) box keeping the shape; box-filter down, bilinear up."""
    height, width = image.shape[:2]
    new_width, new_height = fit_size(width, height, box[0], box[1], aspect)
    if (new_width, new_height) == (width, height) or new_width == 0:
        return image
    shrinking = new_width < width and new_height < height
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    scaled = Image.fromarray(image).resize((new_width, new_height), resample)
    return np.asarray(scaled)


def pixel_aspect(ds: Dataset) -> float:
    """Physical height/width of a pixel: Pixel Spacing (row, column), else Pixel Aspect Ratio."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = ds.get(keyword)
        if spacing is not None and len(spacing) == 2:
            try:
                row, column = float(spacing[0]), float(spacing[1])
            except (TypeError, ValueError):
                continue
            if row > 0 and column > 0:
                return row / column
    ratio = ds.get("PixelAspectRatio")
    if ratio is not None and len(ratio) == 2:
        try:
            vertical, horizontal = float(ratio[0]), float(ratio[1])
        except (TypeError, ValueError):
            return 1.0
        if vertical > 0 and horizontal > 0:
            return vertical / horizontal
    return 1.0
