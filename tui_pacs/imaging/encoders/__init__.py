"""Terminal graphics encoders, one module per protocol, all behind :class:`GraphicsEncoder`."""

from __future__ import annotations

from tui_pacs.imaging.encoders.base import GraphicsEncoder, Placement, encoder_for

__all__ = ["GraphicsEncoder", "Placement", "encoder_for"]
