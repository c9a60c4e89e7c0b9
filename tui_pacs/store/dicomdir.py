"""Reading DICOMDIR file-sets (FSR, PS3.10 and PS3.3 F): which files does a DICOMDIR reference?"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from tui_pacs.store.errors import NotDicom

log = logging.getLogger(__name__)


def is_dicomdir_name(path: Path) -> bool:
    return path.name.upper() == "DICOMDIR"


def _resolve_case_insensitive(root: Path, parts: list[str]) -> Path | None:
    """File IDs are upper case (PS3.10 8.2) but media are often copied with other cases."""
    current = root
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        try:
            matches = [entry for entry in os.listdir(current) if entry.upper() == part.upper()]
        except OSError:
            return None
        if not matches:
            return None
        current = current / matches[0]
    return current


def referenced_files(dicomdir: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The instance files a DICOMDIR references, and (path, reason) for the ones missing.

    Raises :class:`NotDicom` when the DICOMDIR itself cannot be read.
    """
    try:
        ds = dcmread(dicomdir)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise NotDicom(f"unreadable DICOMDIR ({exc})") from exc
    records = ds.get("DirectoryRecordSequence")
    if records is None:
        raise NotDicom("not a DICOMDIR (no Directory Record Sequence)")
    found: list[Path] = []
    missing: list[tuple[Path, str]] = []
    root = dicomdir.parent
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [str(file_id)] if isinstance(file_id, str) else [str(p) for p in file_id]
        # Guard against "..": a DICOMDIR must not make us read outside its file-set.
        if any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
            missing.append((root / "/".join(parts), "referenced file ID leaves the file-set"))
            continue
        resolved = _resolve_case_insensitive(root, parts)
        if resolved is None or not resolved.is_file():
            missing.append((root.joinpath(*parts), "referenced by DICOMDIR but missing"))
        else:
            found.append(resolved)
    return found, missing
