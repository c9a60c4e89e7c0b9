"""Parsing match values into conditions (PS3.4 C.2.2.2)."""

from __future__ import annotations

import pytest

from tui_pacs.domain.attributes import ATTRIBUTES, Level
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.matching import (
    OneOf,
    Range,
    Single,
    Universal,
    Wildcard,
    date_time_range,
    normalise_time,
    parse_condition,
    wildcard_to_glob,
)


def cond(keyword: str, value: str) -> object:
    return parse_condition(ATTRIBUTES[keyword], value)


def test_universal() -> None:
    assert cond("PatientName", "") == Universal()
    assert cond("PatientName", "*") == Universal()
    assert cond("StudyDate", "-") == Universal()


def test_kinds() -> None:
    assert cond("PatientName", "DOE*") == Wildcard("DOE*")
    assert cond("PatientID", "12?4") == Wildcard("12?4")
    assert cond("PatientID", "1234") == Single("1234")
    assert cond("StudyInstanceUID", "1.2\\1.3") == OneOf(("1.2", "1.3"))
    assert cond("ModalitiesInStudy", "CT\\MR") == OneOf(("CT", "MR"))
    assert cond("SeriesNumber", "007") == Single("7")


def test_date_ranges() -> None:
    assert cond("StudyDate", "20200101-20201231") == Range("20200101", "20201231")
    assert cond("StudyDate", "-20201231") == Range(None, "20201231")
    assert cond("StudyDate", "20200101-") == Range("20200101", None)
    assert cond("StudyDate", "2020.01.01") == Single("20200101")  # ACR-NEMA form
    for bad in ("2020", "20200101-2020", "a-b", "20200101--20200102"):
        with pytest.raises(InvalidQuery):
            cond("StudyDate", bad)


def test_times_cover_their_precision() -> None:
    assert normalise_time("10") == "100000.000000"
    assert normalise_time("10", upper=True) == "105959.999999"
    assert normalise_time("1015", upper=True) == "101559.999999"
    assert normalise_time("101530.5") == "101530.500000"
    assert normalise_time("10:15:30") == "101530.000000"
    assert normalise_time("2500") is None
    assert cond("StudyTime", "1015") == Range("101500.000000", "101559.999999")
    assert cond("StudyTime", "101530.000000") == Single("101530.000000")


def test_combined_date_time_range() -> None:
    got = date_time_range("StudyDate", "20200101-20200102", "2200-0600")
    assert got == Range("20200101220000.000000", "20200102060059.999999")
    with pytest.raises(InvalidQuery):
        date_time_range("StudyDate", "20200101", "2200-0600")


def test_uid_wildcards_are_refused() -> None:
    with pytest.raises(InvalidQuery):
        cond("SOPInstanceUID", "1.2.*")


def test_glob_escapes_brackets() -> None:
    assert wildcard_to_glob("A[1]*") == "A[[]1]*"


def test_every_attribute_has_a_level_and_column() -> None:
    for attr in ATTRIBUTES.values():
        assert attr.column and isinstance(attr.level, Level)
