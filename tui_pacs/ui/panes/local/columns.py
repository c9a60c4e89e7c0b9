"""How the local database shows each level: column labels, widths and cell text.

Dates appear as YYYY-MM-DD and person names as "Family, Given" because that
is how a worklist reads; the stored DICOM values stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tui_pacs.domain.attributes import Level


@dataclass(frozen=True)
class Column:
    keyword: str
    label: str
    width: int


COLUMNS: dict[Level, tuple[Column, ...]] = {
    Level.STUDY: (
        Column("PatientName", "Name", 18),
        Column("PatientID", "ID", 8),
        Column("PatientBirthDate", "Birth", 10),
        Column("StudyDate", "Date", 10),
        Column("ModalitiesInStudy", "Mod", 5),
        Column("StudyDescription", "Description", 20),
        Column("AccessionNumber", "Accession", 9),
        Column("NumberOfStudyRelatedSeries", "Se", 3),
        Column("NumberOfStudyRelatedInstances", "Im", 4),
    ),
    Level.SERIES: (
        Column("SeriesNumber", "#", 4),
        Column("Modality", "Mod", 4),
        Column("SeriesDescription", "Description", 28),
        Column("SeriesDate", "Date", 10),
        Column("BodyPartExamined", "Body part", 10),
        Column("NumberOfSeriesRelatedInstances", "Im", 5),
    ),
    Level.IMAGE: (
        Column("InstanceNumber", "#", 5),
        Column("Rows", "Rows", 5),
        Column("Columns", "Cols", 5),
        Column("NumberOfFrames", "Fr", 4),
        Column("SOPClassUID", "SOP class", 28),
        Column("TransferSyntaxUID", "Transfer syntax", 24),
    ),
}


# Below this many terminal columns the study list drops birth date and accession and
# narrows the text columns, so a row fits an 80x24 terminal without scrolling sideways.
NARROW_BELOW = 110
NARROW: dict[Level, tuple[Column, ...]] = {
    **COLUMNS,
    Level.STUDY: (
        Column("PatientName", "Name", 16),
        Column("PatientID", "ID", 8),
        Column("StudyDate", "Date", 10),
        Column("ModalitiesInStudy", "Mod", 5),
        Column("StudyDescription", "Description", 16),
        Column("NumberOfStudyRelatedSeries", "Se", 2),
        Column("NumberOfStudyRelatedInstances", "Im", 3),
    ),
}


def columns_for(level: Level, width: int) -> tuple[Column, ...]:
    """The columns that fit ``width`` terminal cells."""
    return (NARROW if width < NARROW_BELOW else COLUMNS)[level]


def person_name(value: str) -> str:
    """First (alphabetic) component group of a PN, as "Family, Given Middle"."""
    alphabetic = value.split("=")[0]
    parts = [p for p in alphabetic.split("^") if p]
    if not parts:
        return value.split("=")[-1].replace("^", " ") if value else ""
    return parts[0] + (", " + " ".join(parts[1:]) if len(parts) > 1 else "")


def cell_text(keyword: str, value: Any) -> str:
    """The display text of one value."""
    if value is None:
        return ""
    text = str(value)
    if keyword.endswith("Date") and len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if keyword.endswith("Name"):
        return person_name(text)
    if keyword in ("ModalitiesInStudy",):
        return text.replace("\\", ",")
    if keyword in ("SOPClassUID", "TransferSyntaxUID"):
        return _uid_name(text)
    return text


def _uid_name(uid: str) -> str:
    try:
        from pydicom.uid import UID

        name = UID(uid).name
        return name if name != uid else uid
    except Exception:  # noqa: BLE001 - a malformed UID still shows as itself
        return uid
