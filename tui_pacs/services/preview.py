"""The viewer's state for one series: which slice and frame, which window, and the rendering.

Pixels come from :func:`tui_pacs.imaging.render.render` through a
:class:`~tui_pacs.imaging.prefetch.SeriesPrefetcher`, so scrolling through a
series finds the next slices already decoded. Window presets are per
modality (CT has the usual clinical windows; everything else uses the
object's own windows, then a default from the pixel values).

Blocking: the UI calls :meth:`PreviewSession.image` from a thread worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pacs.imaging.viewstate import ViewState, Window

if TYPE_CHECKING:  # numpy and the decoders load with the first preview
    import numpy as np

# Clinical CT windows in Hounsfield units (centre/width), the common radiology defaults.
CT_PRESETS = (
    Window(40, 400, "soft tissue"),
    Window(40, 80, "brain"),
    Window(-600, 1500, "lung"),
    Window(400, 1800, "bone"),
    Window(60, 360, "abdomen"),
)


@dataclass(frozen=True)
class SeriesInfo:
    """What the status line shows about the loaded object."""

    modality: str
    frames: int
    description: str
    presets: tuple[Window, ...]


class PreviewSession:
    """One series (or one instance) open in the viewer."""

    def __init__(self, paths: list[Path], index: int = 0) -> None:
        from tui_pacs.imaging.prefetch import SeriesPrefetcher

        self.paths = paths
        self.index = max(0, min(index, len(paths) - 1))
        self.frame = 0
        self.view = ViewState()
        self.preset = -1  # -1: the object's own window or the automatic one
        self._lock = threading.Lock()
        self._prefetcher: Any = SeriesPrefetcher([str(p) for p in paths], self.view)
        self._info: dict[int, SeriesInfo] = {}

    def close(self) -> None:
        self._prefetcher.close()

    @property
    def path(self) -> Path:
        return self.paths[self.index]

    def info(self) -> SeriesInfo:
        """Modality, frame count and presets of the current instance (header only, cached)."""
        if self.index not in self._info:
            from tui_pacs.imaging.decode import number_of_frames, read_display_header
            from tui_pacs.imaging.lut import window_presets

            ds = read_display_header(self.path)
            modality = str(ds.get("Modality", "") or "")
            own = tuple(window_presets(ds))
            presets = own + (CT_PRESETS if modality == "CT" else ())
            self._info[self.index] = SeriesInfo(modality, number_of_frames(ds),
                                                str(ds.get("SeriesDescription", "") or ""), presets)
        return self._info[self.index]

    def image(self, box: tuple[int, int]) -> np.ndarray:
        """The current slice/frame rendered into a (width, height) pixel box."""
        with self._lock:
            view = self.view.with_fit(box)
            if self.frame == 0 and len(self.paths) > 1:
                if view != self._prefetcher.view:
                    self._prefetcher.set_view(view)
                ready: np.ndarray = self._prefetcher.get(self.index)
                return ready
            from tui_pacs.imaging.render import render

            image: np.ndarray = render(self.path, self.frame, view)
            return image

    # -- navigation and window (cheap; the next image() call shows the change) --------------

    def step_slice(self, delta: int) -> None:
        self.index = max(0, min(len(self.paths) - 1, self.index + delta))
        self.frame = 0

    def step_frame(self, delta: int) -> None:
        frames = self.info().frames
        self.frame = (self.frame + delta) % max(1, frames)

    def cycle_preset(self) -> str:
        presets = self.info().presets
        if not presets:
            return "automatic window"
        self.preset = self.preset + 1 if self.preset + 1 < len(presets) else -1
        if self.preset < 0:
            self.view = self.view.with_window(None)
            return "object/automatic window"
        window = presets[self.preset]
        self.view = self.view.with_window(window)
        return f"{window.explanation or 'preset'} {window.center:g}/{window.width:g}"

    def adjust_window(self, centre_steps: int = 0, width_steps: int = 0) -> Window:
        """Fine steps of 5 % of the width, from the window now shown (blocking: may decode)."""
        current = self.view.window or self._shown_window()
        step = max(1.0, current.width * 0.05)
        window = Window(current.center + centre_steps * step, max(1.0, current.width + width_steps * step), "manual")
        self.view = self.view.with_window(window)
        return window

    def toggle_invert(self) -> None:
        self.view = self.view.toggled_invert()

    def reset(self) -> None:
        self.view = ViewState()
        self.preset = -1
        self.frame = 0

    def describe_window(self) -> str:
        window = self.view.window
        text = f"W {window.center:g}/{window.width:g}" if window else "W auto"
        return text + (" inverted" if self.view.invert else "")

    def _shown_window(self) -> Window:
        """The window the automatic choice uses: the object's first, else one from the pixel values."""
        own = [window for window in self.info().presets if window not in CT_PRESETS]
        if own:
            return own[0]
        from tui_pacs.imaging.decode import decode_frame
        from tui_pacs.imaging.lut import default_window, modality_lut

        decoded = decode_frame(self.path, self.frame)
        values = modality_lut(decoded.pixels.astype("float64"), decoded.dataset)
        return default_window(values)


def preload() -> None:
    """Import the decoders and LUTs ahead of the first preview (the UI calls this after its first frame).

    numpy, pydicom's pixel handlers and the imaging modules take a few hundred
    milliseconds to import; paying that while the user reads the worklist
    keeps the first preview within its budget.
    """
    import tui_pacs.imaging.decode
    import tui_pacs.imaging.lut
    import tui_pacs.imaging.prefetch
    import tui_pacs.imaging.render
    import tui_pacs.store.tagtree  # noqa: F401
