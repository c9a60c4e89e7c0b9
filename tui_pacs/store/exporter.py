"""Export to a DICOM file-set with a DICOMDIR (Media FSC, PS3.10 and PS3.11).

pydicom's FileSet builds the directory records and names the files with
PS3.10-conformant IDs (8 upper-case characters per component). This module
decides, per instance, whether its bytes can go as they are or must be
converted for the chosen profile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from pydicom import dcmread, dcmwrite
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet, RecordNode
from pydicom.uid import UID

from tui_pacs.domain.media import EXPLICIT_LE, MediaProfile

BIG_ENDIAN = "1.2.840.10008.1.2.2"
# OpenJPEG's default 6 resolution levels need at least 32 pixels a side; smaller images stay uncompressed.
_MIN_ENCODE_SIDE = 32
from tui_pacs.store.errors import StoreError

log = logging.getLogger(__name__)


@dataclass
class ExportReport:
    exported: int = 0
    converted: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dicomdir: Path | None = None


def _conform(ds: Dataset, profile: MediaProfile) -> bool:
    """Put ``ds`` in a syntax the profile allows; True if it was converted.

    Compressed profiles (-J2K) get uncompressed images encoded losslessly, so
    the UIDs stay valid (PS3.4: lossy re-encoding would need new ones).
    """
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    converted = False
    if syntax == BIG_ENDIAN:  # retired; no profile allows it
        _swap_to_little_endian(ds)
        syntax, converted = UID(EXPLICIT_LE), True
    has_pixels = "PixelData" in ds
    wants_encoding = (profile.encode_to is not None and has_pixels and not syntax.is_compressed
                      and min(int(ds.get("Rows", 0)), int(ds.get("Columns", 0))) >= _MIN_ENCODE_SIDE)
    if syntax in profile.allowed and not wants_encoding:
        return converted
    if has_pixels and syntax.is_compressed:
        ds.decompress(generate_instance_uid=False)
    if wants_encoding and profile.encode_to is not None:
        try:
            ds.compress(profile.encode_to, generate_instance_uid=False)
            return True
        except Exception as exc:  # noqa: BLE001 - the encoder refuses some pixel formats; Explicit LE is always allowed
            log.info("cannot encode %s to %s (%s); writing Explicit VR LE", ds.SOPInstanceUID,
                     profile.encode_to, exc)
    if syntax != EXPLICIT_LE:
        ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_LE)
        converted = True
    return converted


def _swap_to_little_endian(ds: Dataset) -> None:
    """Explicit VR Big Endian (retired) to little endian: pixels via numpy, the rest by re-encoding."""
    if "PixelData" in ds:
        pixels = ds.pixel_array
        ds.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    buffer = BytesIO()
    ds.file_meta.TransferSyntaxUID = UID(EXPLICIT_LE)
    dcmwrite(buffer, ds, implicit_vr=False, little_endian=True, enforce_file_format=True)
    buffer.seek(0)
    converted = dcmread(buffer)
    ds.clear()
    ds.update(converted)
    ds.set_original_encoding(False, True)


# Type 1 keys of the PATIENT/STUDY/SERIES/IMAGE directory records (PS3.3 F.5) that real
# instances often lack, and what the record gets instead. Only the DICOMDIR record is
# filled in; the instance file keeps its own (empty) value, like dcmmkdir --invent.
_INVENTED = {
    "PatientID": "UNKNOWN",
    "StudyDate": "19000101",
    "StudyTime": "000000",
    "StudyID": "0",
    "SeriesNumber": "0",
    "InstanceNumber": "0",
    "Modality": "OT",
}


def _add_with_records(fileset: FileSet, ds: Dataset) -> None:
    """Add ``ds`` with directory records built from a copy whose missing Type 1 keys are invented."""
    probe = Dataset()
    for element in ds:
        if element.keyword != "PixelData":
            probe.add(element)
    probe.file_meta = ds.file_meta
    for keyword, value in _INVENTED.items():
        if not str(probe.get(keyword, "") or "").strip():
            setattr(probe, keyword, value)
    records = list(fileset._recordify(probe))  # pydicom's own record creators, on the probe
    node = RecordNode(records[0])
    for record in records[1:]:
        child = RecordNode(record)
        child.parent = node
        node = child
    try:
        fileset.add_custom(ds, node)
    except Exception:
        # add_custom may fail after staging the records; unstage so the write stays consistent.
        for instance in list(fileset):
            if instance.SOPInstanceUID == ds.SOPInstanceUID:
                fileset.remove(instance)
        raise


def export_fileset(files: Sequence[tuple[str, str, str, str]], destination: Path, profile: MediaProfile,
                   progress: Callable[[int, int], None] | None = None) -> ExportReport:
    """Write ``files`` ((SOP UID, SOP class, syntax, path) rows) to ``destination`` with a DICOMDIR."""
    report = ExportReport()
    if destination.exists() and any(destination.iterdir()):
        if (destination / "DICOMDIR").exists():
            raise StoreError(f"{destination} already holds a file-set; choose an empty directory")
        raise StoreError(f"{destination} is not empty; choose an empty directory")
    destination.mkdir(parents=True, exist_ok=True)
    fileset = FileSet()
    fileset.ID = "TUIPACS"
    for done, (sop_uid, sop_class, _syntax, path) in enumerate(files, start=1):
        if profile.sop_classes is not None and sop_class not in profile.sop_classes:
            report.skipped.append((sop_uid, f"SOP class {sop_class} is not allowed by {profile.name}"))
            continue
        try:
            ds = dcmread(path)
            if _conform(ds, profile):
                report.converted += 1
            _add_with_records(fileset, ds)
            report.exported += 1
        except (OSError, ValueError, NotImplementedError, RuntimeError, AttributeError) as exc:
            report.skipped.append((sop_uid, " ".join(str(exc).split())[:240]))
        if progress is not None:
            progress(done, len(files))
    if report.exported:
        try:
            fileset.write(destination)
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot write the file-set to {destination}: {exc}") from exc
        report.dicomdir = destination / "DICOMDIR"
    return report
