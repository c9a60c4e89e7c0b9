"""The imaging layer's error: a file that cannot be shown, with one clear reason."""

from __future__ import annotations

from tui_pacs.domain.errors import TuiPacsError


class ImagingError(TuiPacsError):
    """Pixel data that cannot be decoded or displayed (no pixels, unsupported syntax, bad frame)."""

    title = "Cannot show image"
