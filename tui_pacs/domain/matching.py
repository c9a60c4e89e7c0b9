"""Matching rules of PS3.4 C.2.2.2, as pure values the query engine turns into SQL.

A match value (the string a C-FIND identifier, ``-k KEY=VALUE`` or the UI's
filter bar holds) is parsed into one :class:`Condition`:

- empty or ``*``: universal matching (C.2.2.2.3), the key is only returned;
- ``\\``-separated UIDs: list of UID matching (C.2.2.2.2);
- ``*``/``?`` in text: wildcard matching (C.2.2.2.4);
- ``A-B``, ``-B``, ``A-`` for DA/TM/DT: range matching (C.2.2.2.5);
- anything else: single value matching (C.2.2.2.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui_pacs.domain.attributes import Attribute, Match
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.uids import is_valid_uid, printable


@dataclass(frozen=True)
class Universal:
    """Matches everything; the key is returned."""


@dataclass(frozen=True)
class Single:
    value: str


@dataclass(frozen=True)
class Wildcard:
    """A pattern with ``*`` (any run, also empty) and ``?`` (exactly one character)."""

    pattern: str


@dataclass(frozen=True)
class OneOf:
    """A list of values (UID list matching; multi-valued CS such as ``CT\\MR``)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """Inclusive bounds in the normalised stored form; ``None`` means open."""

    low: str | None
    high: str | None


Condition = Universal | Single | Wildcard | OneOf | Range

_DATE_RE = re.compile(r"\d{8}")
_TIME_RE = re.compile(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?")


def parse_condition(attr: Attribute, raw: str) -> Condition:
    """Parse ``raw`` as a match value for ``attr``; :class:`InvalidQuery` if malformed."""
    value = raw.strip()
    if attr.match is not Match.PERSON_NAME:
        value = value.strip()
    if value in ("", "*"):
        return Universal()
    kind = attr.match
    if kind in (Match.UID, Match.MULTI_UID):
        uids = tuple(v.strip() for v in value.split("\\"))
        for uid in uids:
            if not is_valid_uid(uid):
                raise InvalidQuery(f"{attr.keyword}: {printable(uid)} is not a valid UID")
        return Single(uids[0]) if len(uids) == 1 else OneOf(uids)
    if kind is Match.DATE:
        return _date_condition(attr.keyword, value)
    if kind is Match.TIME:
        return _time_condition(attr.keyword, value)
    if kind is Match.NUMBER:
        if not re.fullmatch(r"[+-]?\d+", value):
            raise InvalidQuery(f"{attr.keyword}: {printable(value)} is not a whole number")
        return Single(str(int(value)))
    if kind is Match.MULTI_TEXT:
        parts = tuple(v.strip() for v in value.split("\\") if v.strip())
        return OneOf(parts)
    if "*" in value or "?" in value:
        return Wildcard(value)
    if "\\" in value and kind is Match.TEXT:
        # C.2.2.2.1: a value with backslashes is a list of single values to match (VM > 1 key).
        return OneOf(tuple(value.split("\\")))
    return Single(value)


def _split_range(value: str) -> tuple[str, str] | None:
    if value.count("-") != 1:
        return None
    low, high = value.split("-")
    return low.strip(), high.strip()


def normalise_date(keyword: str, text: str) -> str:
    """YYYYMMDD; the ACR-NEMA form YYYY.MM.DD is accepted and converted."""
    compact = text.replace(".", "") if re.fullmatch(r"\d{4}\.\d{2}\.\d{2}", text) else text
    if not _DATE_RE.fullmatch(compact):
        raise InvalidQuery(f"{keyword}: {printable(text)} is not a date (YYYYMMDD)")
    return compact


def _date_condition(keyword: str, value: str) -> Condition:
    parts = _split_range(value)
    if parts is None:
        return Single(normalise_date(keyword, value))
    low, high = parts
    if not low and not high:
        return Universal()
    return Range(normalise_date(keyword, low) if low else None, normalise_date(keyword, high) if high else None)


def normalise_time(text: str, *, upper: bool = False) -> str | None:
    """HHMMSS.ffffff, the stored form; partial times fill with the low end, or the high end for ``upper``.

    A query of ``-10`` means "up to the end of 10 o'clock" (PS3.4 C.2.2.2.5.1
    ranges are inclusive, and a time given to the hour covers the hour).
    """
    match = _TIME_RE.fullmatch(text.replace(":", ""))
    if not match:
        return None
    hh, mm, ss, frac = match.groups()
    fill_mm, fill_ss, fill_frac = ("59", "59", "999999") if upper else ("00", "00", "000000")
    mm = mm or fill_mm
    ss = ss or fill_ss
    frac = (frac + ("9" if upper else "0") * 6)[:6] if frac else fill_frac
    if int(hh) > 23 or int(mm) > 59 or int(ss) > 60:
        return None
    return f"{hh}{mm}{ss}.{frac}"


def _time(keyword: str, text: str, *, upper: bool = False) -> str:
    result = normalise_time(text, upper=upper)
    if result is None:
        raise InvalidQuery(f"{keyword}: {printable(text)} is not a time (HHMMSS.FFFFFF)")
    return result


def _time_condition(keyword: str, value: str) -> Condition:
    parts = _split_range(value)
    if parts is None:
        # A single partial time ("10") matches the whole span it names.
        low, high = _time(keyword, value), _time(keyword, value, upper=True)
        return Single(low) if low == high else Range(low, high)
    low_text, high_text = parts
    if not low_text and not high_text:
        return Universal()
    return Range(
        _time(keyword, low_text) if low_text else None,
        _time(keyword, high_text, upper=True) if high_text else None,
    )


def date_time_range(keyword: str, date_value: str, time_value: str) -> Range:
    """Combined date and time range matching (PS3.4 C.2.2.2.5.2).

    ``StudyDate=20200101-20200102`` with ``StudyTime=2200-0600`` means from
    2020-01-01 22:00 to 2020-01-02 06:00, not two independent ranges. The
    result compares against the stored ``date || time`` concatenation.
    """
    dates = _split_range(date_value)
    times = _split_range(time_value)
    if dates is None or times is None:
        raise InvalidQuery(f"{keyword}: combined date-time matching needs ranges in both date and time")
    d_low, d_high = dates
    t_low, t_high = times
    low = normalise_date(keyword, d_low) + (_time(keyword, t_low) if t_low else "000000.000000") if d_low else None
    high = (
        normalise_date(keyword, d_high) + (_time(keyword, t_high, upper=True) if t_high else "235960.999999")
        if d_high
        else None
    )
    return Range(low, high)


def wildcard_to_glob(pattern: str) -> str:
    """A DICOM wildcard as an SQLite GLOB pattern (``*`` and ``?`` mean the same; ``[`` is escaped)."""
    return pattern.replace("[", "[[]")


def casefold_name(name: str) -> str:
    """The form person names are compared in: case-insensitive, as the DBx statement specifies."""
    return name.upper()
