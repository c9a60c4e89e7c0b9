"""The query/retrieve information model: which attributes live at which level.

One catalogue serves the C-FIND SCP, ``tui-pacs ls`` and the UI browser. Keys
are the required, unique and optional keys of PS3.4 C.6.1 (patient root) and
C.6.2 (study root), including every optional key the DBx conformance
statement lists, plus a few computed ones (counts, ModalitiesInStudy,
SOPClassesInStudy).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tui_pacs.domain.errors import InvalidQuery


class Level(str, Enum):
    """Query/Retrieve Level (0008,0052), PS3.4 C.6."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"

    @property
    def depth(self) -> int:
        return _DEPTH[self]

    @classmethod
    def parse(cls, text: str) -> Level:
        """Accept ``patient``, ``STUDY``, ``instance`` (an alias of IMAGE) and so on."""
        value = text.strip().upper()
        if value == "INSTANCE":
            value = "IMAGE"
        try:
            return cls(value)
        except ValueError:
            raise InvalidQuery(f"unknown query level {text!r}") from None


_DEPTH = {Level.PATIENT: 0, Level.STUDY: 1, Level.SERIES: 2, Level.IMAGE: 3}


class Root(str, Enum):
    """The information model a query is asked in (PS3.4 C.6.1 / C.6.2)."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"

    def allows(self, level: Level) -> bool:
        """Study Root has no PATIENT level (PS3.4 C.6.2.1)."""
        return not (self is Root.STUDY and level is Level.PATIENT)


class Match(Enum):
    """How a key's value is matched (PS3.4 C.2.2.2), decided by its VR."""

    UID = "uid"  # single value or a UID list; no wildcards (C.2.2.2.2)
    TEXT = "text"  # single value or wildcard, case-sensitive
    PERSON_NAME = "pn"  # single value or wildcard, case-insensitive (DBx statement)
    DATE = "date"  # single value or range (C.2.2.2.5)
    TIME = "time"
    NUMBER = "number"  # IS/US: single value only
    MULTI_TEXT = "multi"  # stored multi-valued CS: matches if any stored value matches
    MULTI_UID = "multi_uid"


@dataclass(frozen=True)
class Attribute:
    """One queryable attribute and where the index keeps it."""

    keyword: str
    level: Level
    column: str
    match: Match
    vr: str
    unique: bool = False


def _a(keyword: str, level: Level, column: str, match: Match, vr: str, unique: bool = False) -> Attribute:
    return Attribute(keyword, level, column, match, vr, unique)


P, ST, SE, IM = Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE

ATTRIBUTES: dict[str, Attribute] = {
    a.keyword: a
    for a in (
        # Patient level (PS3.4 Table C.6-1)
        _a("PatientID", P, "patient_id", Match.TEXT, "LO", unique=True),
        _a("PatientName", P, "patient_name", Match.PERSON_NAME, "PN"),
        _a("IssuerOfPatientID", P, "issuer", Match.TEXT, "LO"),
        _a("PatientBirthDate", P, "birth_date", Match.DATE, "DA"),
        _a("PatientBirthTime", P, "birth_time", Match.TIME, "TM"),
        _a("PatientSex", P, "sex", Match.TEXT, "CS"),
        _a("OtherPatientIDs", P, "other_ids", Match.TEXT, "LO"),
        _a("EthnicGroup", P, "ethnic_group", Match.TEXT, "SH"),
        _a("PatientComments", P, "comments", Match.TEXT, "LT"),
        _a("NumberOfPatientRelatedStudies", P, "num_studies", Match.NUMBER, "IS"),
        _a("NumberOfPatientRelatedSeries", P, "num_series", Match.NUMBER, "IS"),
        _a("NumberOfPatientRelatedInstances", P, "num_instances", Match.NUMBER, "IS"),
        # Study level (PS3.4 Table C.6-2)
        _a("StudyInstanceUID", ST, "study_uid", Match.UID, "UI", unique=True),
        _a("StudyDate", ST, "study_date", Match.DATE, "DA"),
        _a("StudyTime", ST, "study_time", Match.TIME, "TM"),
        _a("AccessionNumber", ST, "accession", Match.TEXT, "SH"),
        _a("StudyID", ST, "study_id", Match.TEXT, "SH"),
        _a("StudyDescription", ST, "description", Match.TEXT, "LO"),
        _a("ReferringPhysicianName", ST, "referring", Match.PERSON_NAME, "PN"),
        _a("NameOfPhysiciansReadingStudy", ST, "reading", Match.PERSON_NAME, "PN"),
        _a("PatientAge", ST, "patient_age", Match.TEXT, "AS"),
        _a("PatientSize", ST, "patient_size", Match.TEXT, "DS"),
        _a("PatientWeight", ST, "patient_weight", Match.TEXT, "DS"),
        _a("ModalitiesInStudy", ST, "modalities", Match.MULTI_TEXT, "CS"),
        _a("SOPClassesInStudy", ST, "sop_classes", Match.MULTI_UID, "UI"),
        _a("NumberOfStudyRelatedSeries", ST, "num_series", Match.NUMBER, "IS"),
        _a("NumberOfStudyRelatedInstances", ST, "num_instances", Match.NUMBER, "IS"),
        # Series level (PS3.4 Table C.6-3)
        _a("SeriesInstanceUID", SE, "series_uid", Match.UID, "UI", unique=True),
        _a("Modality", SE, "modality", Match.TEXT, "CS"),
        _a("SeriesNumber", SE, "series_number", Match.NUMBER, "IS"),
        _a("SeriesDate", SE, "series_date", Match.DATE, "DA"),
        _a("SeriesTime", SE, "series_time", Match.TIME, "TM"),
        _a("SeriesDescription", SE, "description", Match.TEXT, "LO"),
        _a("BodyPartExamined", SE, "body_part", Match.TEXT, "CS"),
        _a("PerformedProcedureStepStartDate", SE, "pps_start_date", Match.DATE, "DA"),
        _a("NumberOfSeriesRelatedInstances", SE, "num_instances", Match.NUMBER, "IS"),
        # Composite object instance level (PS3.4 Table C.6-4)
        _a("SOPInstanceUID", IM, "sop_uid", Match.UID, "UI", unique=True),
        _a("SOPClassUID", IM, "sop_class_uid", Match.UID, "UI"),
        _a("InstanceNumber", IM, "instance_number", Match.NUMBER, "IS"),
        _a("ContentDate", IM, "content_date", Match.DATE, "DA"),
        _a("ContentTime", IM, "content_time", Match.TIME, "TM"),
        _a("Rows", IM, "rows", Match.NUMBER, "US"),
        _a("Columns", IM, "columns", Match.NUMBER, "US"),
        _a("NumberOfFrames", IM, "frames", Match.NUMBER, "IS"),
        _a("TransferSyntaxUID", IM, "transfer_syntax", Match.UID, "UI"),
    )
}

UNIQUE_KEY = {a.level: a.keyword for a in ATTRIBUTES.values() if a.unique}

# Keys shown when nobody asked for any (``tui-pacs ls`` and the UI browser).
DEFAULT_KEYS: dict[Level, tuple[str, ...]] = {
    Level.PATIENT: ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                    "NumberOfPatientRelatedStudies"),
    Level.STUDY: ("PatientName", "PatientID", "StudyDate", "ModalitiesInStudy", "StudyDescription",
                  "AccessionNumber", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
                  "StudyInstanceUID"),
    Level.SERIES: ("PatientName", "StudyDate", "Modality", "SeriesNumber", "SeriesDescription",
                   "NumberOfSeriesRelatedInstances", "SeriesInstanceUID"),
    Level.IMAGE: ("PatientName", "Modality", "SeriesNumber", "InstanceNumber", "SOPClassUID",
                  "TransferSyntaxUID", "SOPInstanceUID"),
}


def attribute(keyword: str) -> Attribute:
    """The catalogue entry for ``keyword``; :class:`InvalidQuery` if it is not queryable."""
    try:
        return ATTRIBUTES[keyword]
    except KeyError:
        raise InvalidQuery(f"{keyword!r} is not a supported query key") from None


def is_supported(keyword: str) -> bool:
    return keyword in ATTRIBUTES
