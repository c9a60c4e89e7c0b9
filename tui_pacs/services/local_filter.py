"""The local browser's filter bar language, turned into a query identifier.

People type ``DOE*``, ``mod=CT date=-7d`` or ``PatientID=TP0001`` rather than
fill a form, so the bar accepts a small language:

* ``key=value`` where ``key`` is a short alias (``name``, ``id``, ``date``,
  ``mod``, ``acc``, ``desc``, ``birth``, ``sex``) or any patient/study-level
  DICOM keyword; values use DICOM matching (PS3.4 C.2.2.2: wildcards ``*``
  and ``?``, ``low-high`` ranges for dates);
* a bare word is a Patient's Name unless it looks like a date, which makes it
  the Study Date;
* relative dates (``today``, ``yesterday``, ``-7d``, ``-2w``, ``-3m``,
  ``-1y``) become the date range from that day up to today, because a
  worklist is usually searched backwards from now.

Nothing here touches SQL; the result is keys for :class:`~tui_pacs.store.query.Query`.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex

from tui_pacs.domain.attributes import ATTRIBUTES, Level, attribute
from tui_pacs.domain.errors import InvalidQuery

ALIASES: dict[str, str] = {
    "name": "PatientName",
    "id": "PatientID",
    "pid": "PatientID",
    "birth": "PatientBirthDate",
    "dob": "PatientBirthDate",
    "sex": "PatientSex",
    "date": "StudyDate",
    "mod": "ModalitiesInStudy",
    "modality": "ModalitiesInStudy",
    "acc": "AccessionNumber",
    "desc": "StudyDescription",
    "ref": "ReferringPhysicianName",
    "uid": "StudyInstanceUID",
}

_RELATIVE = re.compile(r"-(\d{1,4})([dwmy])")
_DATE_LIKE = re.compile(r"(\d{8}|\d{4}-\d{2}-\d{2})?-?(\d{8}|\d{4}-\d{2}-\d{2})?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _shift(today: dt.date, amount: int, unit: str) -> dt.date:
    if unit == "d":
        return today - dt.timedelta(days=amount)
    if unit == "w":
        return today - dt.timedelta(weeks=amount)
    months = amount * (12 if unit == "y" else 1)
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    day = min(today.day, 28)
    return dt.date(year, month + 1, day)


def expand_date(value: str, today: dt.date | None = None) -> str:
    """Turn a relative or ISO-dashed date into a DICOM date or range; others pass unchanged."""
    today = today or dt.date.today()
    text = value.strip().lower()
    if text == "today":
        return today.strftime("%Y%m%d")
    if text == "yesterday":
        return (today - dt.timedelta(days=1)).strftime("%Y%m%d")
    match = _RELATIVE.fullmatch(text)
    if match:
        start = _shift(today, int(match.group(1)), match.group(2))
        return f"{start:%Y%m%d}-{today:%Y%m%d}"
    # 2024-01-31 is not DICOM but everyone types it.
    return _ISO_DATE.sub(r"\1\2\3", value.strip())


def _looks_like_date(token: str) -> bool:
    lowered = token.lower()
    if lowered in ("today", "yesterday") or _RELATIVE.fullmatch(lowered):
        return True
    return bool(re.search(r"\d", token)) and bool(_DATE_LIKE.fullmatch(token)) and len(token) >= 8


def parse_filter(text: str, level: Level = Level.STUDY, today: dt.date | None = None) -> dict[str, str]:
    """Keyword -> DICOM match value for the bar's ``text``; :class:`InvalidQuery` when malformed."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise InvalidQuery(f"filter: {exc}") from None
    keys: dict[str, str] = {}
    for token in tokens:
        if "=" in token:
            name, _, value = token.partition("=")
            keyword = ALIASES.get(name.lower(), name)
            if keyword not in ATTRIBUTES:
                raise InvalidQuery(f"unknown filter key {name!r}; try name, id, date, mod, acc, desc")
        elif _looks_like_date(token):
            keyword, value = "StudyDate", token
        else:
            keyword, value = "PatientName", token
        attr = attribute(keyword)
        if attr.level.depth > level.depth:
            raise InvalidQuery(f"{keyword} cannot filter {level.value.lower()} rows")
        if attr.vr == "DA":
            value = expand_date(value, today)
        if keyword == "PatientName" and value and not any(c in value for c in "*?"):
            # People type the start of a name; an exact match on "DOE" would find nobody.
            value += "*"
        keys[keyword] = value
    return keys
