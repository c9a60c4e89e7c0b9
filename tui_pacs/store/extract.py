"""Read an instance's header and turn it into an :class:`InstanceRecord`.

Only the header is parsed (``stop_before_pixels``), and only the tags the
index needs (``specific_tags``), because this runs for every received and
imported instance. pydicom decodes text with the Specific Character Set, so
the record holds Unicode whatever the sender's encoding (PS3.5 6.1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from tui_pacs.domain.attributes import ATTRIBUTES
from tui_pacs.domain.errors import InvalidUID
from tui_pacs.domain.matching import casefold_name, normalise_time
from tui_pacs.domain.uids import require_uid
from tui_pacs.store.errors import NotDicom
from tui_pacs.store.records import InstanceRecord

log = logging.getLogger(__name__)

_EXTRA_KEYWORDS = ("SpecificCharacterSet", "SOPClassUID", "PatientID", "ReferringPhysicianName")
HEADER_TAGS = [Tag(k) for k in sorted({a.keyword for a in ATTRIBUTES.values()} | set(_EXTRA_KEYWORDS))
               if k not in ("TransferSyntaxUID", "ModalitiesInStudy", "SOPClassesInStudy")
               and not k.startswith("NumberOf")]


def read_header(source: str | Path | BinaryIO) -> Dataset:
    """Parse the file meta and the indexed tags; :class:`NotDicom` for anything unusable."""
    try:
        ds = dcmread(source, stop_before_pixels=True, specific_tags=HEADER_TAGS)
    except (InvalidDicomError, EOFError) as exc:
        raise NotDicom(f"not a DICOM file ({_reason(exc)})") from exc
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, NotImplementedError) as exc:
        raise NotDicom(f"malformed DICOM ({_reason(exc)})") from exc
    return ds


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def _text(ds: Dataset, keyword: str) -> str:
    """A text value as Unicode; multi-valued elements joined with backslash as on the wire."""
    try:
        value = ds.get(keyword)
    except Exception as exc:  # a value that cannot be decoded is dropped, not fatal
        log.debug("cannot read %s: %s", keyword, exc)
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        if value is None or value == "":
            return None
        if isinstance(value, (list, MultiValue)):
            value = value[0]
        return int(value)
    except (ValueError, TypeError):
        return None


def _date(ds: Dataset, keyword: str) -> str:
    text = _text(ds, keyword).replace(".", "")
    return text if len(text) == 8 and text.isdigit() else ""


def _time(ds: Dataset, keyword: str) -> str:
    text = _text(ds, keyword)
    return (normalise_time(text) or "") if text else ""


def utc_now() -> str:
    """ISO 8601 UTC timestamp used for received_at and job times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_from_dataset(ds: Dataset, *, path: str = "", file_size: int = 0, source_ae: str = "",
                        transfer_syntax: str | None = None, received_at: str | None = None) -> InstanceRecord:
    """Build the index rows for ``ds``; the four UIDs are validated, anything else is best effort."""
    try:
        sop_uid = require_uid(_text(ds, "SOPInstanceUID"), "SOP Instance UID")
        sop_class = require_uid(_text(ds, "SOPClassUID"), "SOP Class UID")
        study_uid = require_uid(_text(ds, "StudyInstanceUID"), "Study Instance UID")
        series_uid = require_uid(_text(ds, "SeriesInstanceUID"), "Series Instance UID")
    except InvalidUID as exc:
        raise NotDicom(exc.message) from exc
    if transfer_syntax is None:
        meta = getattr(ds, "file_meta", None)
        transfer_syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if not transfer_syntax:
        transfer_syntax = "1.2.840.10008.1.2"  # a file without meta is Implicit VR LE (PS3.5 10.1)
    received = received_at or utc_now()
    name = _text(ds, "PatientName")
    referring = _text(ds, "ReferringPhysicianName")
    reading = _text(ds, "NameOfPhysiciansReadingStudy")
    patient: dict[str, Any] = {
        "patient_id": _text(ds, "PatientID"),
        "issuer": _text(ds, "IssuerOfPatientID"),
        "patient_name": name,
        "patient_name_ci": casefold_name(name),
        "birth_date": _date(ds, "PatientBirthDate"),
        "birth_time": _time(ds, "PatientBirthTime"),
        "sex": _text(ds, "PatientSex"),
        "other_ids": _text(ds, "OtherPatientIDs"),
        "ethnic_group": _text(ds, "EthnicGroup"),
        "comments": _text(ds, "PatientComments"),
    }
    study: dict[str, Any] = {
        "study_uid": study_uid,
        "study_date": _date(ds, "StudyDate"),
        "study_time": _time(ds, "StudyTime"),
        "accession": _text(ds, "AccessionNumber"),
        "study_id": _text(ds, "StudyID"),
        "description": _text(ds, "StudyDescription"),
        "referring": referring,
        "referring_ci": casefold_name(referring),
        "reading": reading,
        "reading_ci": casefold_name(reading),
        "patient_age": _text(ds, "PatientAge"),
        "patient_size": _text(ds, "PatientSize"),
        "patient_weight": _text(ds, "PatientWeight"),
        "received_at": received,
    }
    series: dict[str, Any] = {
        "series_uid": series_uid,
        "modality": _text(ds, "Modality"),
        "series_number": _int(ds, "SeriesNumber"),
        "series_date": _date(ds, "SeriesDate"),
        "series_time": _time(ds, "SeriesTime"),
        "description": _text(ds, "SeriesDescription"),
        "body_part": _text(ds, "BodyPartExamined"),
        "pps_start_date": _date(ds, "PerformedProcedureStepStartDate"),
    }
    instance: dict[str, Any] = {
        "sop_uid": sop_uid,
        "sop_class_uid": sop_class,
        "instance_number": _int(ds, "InstanceNumber"),
        "content_date": _date(ds, "ContentDate"),
        "content_time": _time(ds, "ContentTime"),
        "rows": _int(ds, "Rows"),
        "columns": _int(ds, "Columns"),
        "frames": _int(ds, "NumberOfFrames"),
        "transfer_syntax": transfer_syntax,
        "path": path,
        "file_size": file_size,
        "received_at": received,
        "source_ae": source_ae,
    }
    return InstanceRecord(patient, study, series, instance)


def iter_keywords(record: InstanceRecord) -> Iterable[tuple[str, Any]]:
    """Every (table, column) value of a record, for debugging and tests."""
    for table in ("patient", "study", "series", "instance"):
        yield from ((f"{table}.{k}", v) for k, v in getattr(record, table).items())
