"""What the viewer chose: the parameters of :func:`tui_pacs.imaging.render.render` besides the data.

A frozen value so the CLI, the TUI and the tests can pass, compare and
cache it; changing the window or the zoom makes a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

VoiFunction = Literal["LINEAR", "LINEAR_EXACT", "SIGMOID"]


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2): centre and width in modality-LUT output units."""

    center: float
    width: float
    explanation: str = ""

    def __post_init__(self) -> None:
        if not self.width >= 1:
            # PS3.3 C.11.2.1.2.1: Window Width shall be >= 1 for LINEAR (> 0 for the others);
            # one rule for all keeps the pipeline free of divisions by zero.
            object.__setattr__(self, "width", 1.0)

    @classmethod
    def parse(cls, text: str) -> Window:
        """Read ``CENTER/WIDTH`` (as typed on the command line), e.g. ``40/400``."""
        try:
            center_text, width_text = text.split("/")
            return cls(float(center_text), float(width_text))
        except ValueError as exc:
            raise ValueError(f"window must be CENTER/WIDTH, e.g. 40/400, not {text!r}") from exc


@dataclass(frozen=True)
class ViewState:
    """How to turn one frame into display pixels.

    ``window`` None means the object's first window (or VOI LUT), else a
    default from the pixel values. ``fit`` is the box in pixels the image
    is scaled into (keeping its aspect ratio, up or down); None keeps the
    stored size.
    """

    window: Window | None = None
    voi_function: VoiFunction | None = None
    """Overrides the object's VOI LUT Function (PS3.3 C.11.2.1.3) when set."""
    invert: bool = False
    """Invert after the presentation LUT, on top of MONOCHROME1 handling."""
    fit: tuple[int, int] | None = None
    """(width, height) of the target box in pixels."""
    use_voi_lut: bool = True
    """Prefer the object's VOI LUT Sequence over the computed default when no window is set."""

    def with_window(self, window: Window | None) -> ViewState:
        return replace(self, window=window)

    def with_fit(self, fit: tuple[int, int] | None) -> ViewState:
        return replace(self, fit=fit)

    def toggled_invert(self) -> ViewState:
        return replace(self, invert=not self.invert)
