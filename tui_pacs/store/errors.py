"""Errors of the archive layer."""

from __future__ import annotations

from tui_pacs.domain.errors import TuiPacsError


class StoreError(TuiPacsError):
    """The archive could not do what was asked."""

    title = "Archive error"


class NotDicom(StoreError):
    """A file is not DICOM, is truncated or lacks what an instance needs (C000 on the wire)."""

    title = "Not a usable DICOM file"


class OutOfResources(StoreError):
    """The disk is full or the quota is reached (A700 on the wire)."""

    title = "Out of resources"


class IndexCorrupt(StoreError):
    """The SQLite index cannot be opened or is from a newer version."""

    title = "Index unusable"
