"""The one query engine: a DICOM identifier at a level becomes parameterised SQL.

Used by the C-FIND SCP, ``tui-pacs ls`` and the UI browser. Matching follows
PS3.4 C.2.2.2 (see :mod:`tui_pacs.domain.matching`); all filtering happens in
SQLite, so a query over a million instances never loads rows to filter them
in Python. Values never appear in SQL text: they are bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tui_pacs.domain.attributes import (
    ATTRIBUTES,
    UNIQUE_KEY,
    Attribute,
    Level,
    Match,
    Root,
    attribute,
)
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.domain.matching import (
    Condition,
    OneOf,
    Range,
    Single,
    Universal,
    Wildcard,
    casefold_name,
    date_time_range,
    parse_condition,
    wildcard_to_glob,
)

ALIAS = {Level.PATIENT: "p", Level.STUDY: "st", Level.SERIES: "se", Level.IMAGE: "i"}
_FROM = {
    Level.PATIENT: "patient p",
    Level.STUDY: "study st JOIN patient p ON p.pk = st.patient_pk",
    Level.SERIES: "series se JOIN study st ON st.pk = se.study_pk JOIN patient p ON p.pk = st.patient_pk",
    Level.IMAGE: "instance i JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk "
    "JOIN patient p ON p.pk = st.patient_pk",
}
_DEFAULT_ORDER = {
    Level.PATIENT: "p.patient_name_ci, p.patient_id",
    Level.STUDY: "st.study_date DESC, st.study_time DESC, st.pk DESC",
    Level.SERIES: "se.series_number IS NULL, se.series_number, se.pk",
    Level.IMAGE: "i.instance_number IS NULL, i.instance_number, i.pk",
}
# Pairs that combine into one date-time range (PS3.4 C.2.2.2.5.2).
_DATE_TIME_PAIRS = (("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime"), ("ContentDate", "ContentTime"))
# Archive facts that are not DICOM keys but that ``ls`` and the UI show at instance level.
INTERNAL_COLUMNS = {
    "_path": "i.path",
    "_file_size": "i.file_size",
    "_received_at": "i.received_at",
    "_source_ae": "i.source_ae",
}


@dataclass(frozen=True)
class Query:
    """A query identifier: level, information model, and keyword -> match value.

    An empty match value asks for the key to be returned (universal matching).
    """

    level: Level
    keys: Mapping[str, str] = field(default_factory=dict)
    root: Root = Root.STUDY
    combined_datetime: bool = False
    """Treat date and time ranges as one date-time range (C.2.2.2.5.2 extended negotiation)."""
    conditions: Mapping[str, Condition] = field(init=False, repr=False, compare=False)
    """Each key's parsed match value, parsed once here so malformed values fail before any SQL."""

    def __post_init__(self) -> None:
        conditions: dict[str, Condition] = {}
        if not self.root.allows(self.level):
            raise InvalidQuery(f"the {self.root.value} root has no {self.level.value} level")
        for keyword in self.keys:
            if keyword in INTERNAL_COLUMNS:
                if self.level is not Level.IMAGE:
                    raise InvalidQuery(f"{keyword} is only available at IMAGE level")
                continue
            attr = attribute(keyword)
            if attr.level.depth > self.level.depth:
                raise InvalidQuery(
                    f"{keyword} is a {attr.level.value}-level key, below the query level {self.level.value}"
                )
            conditions[keyword] = parse_condition(attr, self.keys[keyword])
        object.__setattr__(self, "conditions", conditions)

    def returned_keys(self) -> list[str]:
        """The keys each result carries: those asked for plus the unique keys down to the level."""
        keys = list(self.keys)
        for level in Level:
            if level.depth <= self.level.depth and (self.root is Root.PATIENT or level is not Level.PATIENT):
                unique = UNIQUE_KEY[level]
                if unique not in keys:
                    keys.append(unique)
        return keys


@dataclass(frozen=True)
class SqlQuery:
    sql: str
    params: tuple[Any, ...]
    keys: tuple[str, ...]


def column_of(attr: Attribute) -> str:
    return f"{ALIAS[attr.level]}.{attr.column}"


def _ci_column(attr: Attribute) -> str:
    """Person names are matched on an upper-cased shadow column (DBx: case-insensitive PN)."""
    return f"{column_of(attr)}_ci"


def _condition_sql(attr: Attribute, cond: Condition) -> tuple[str, list[Any]]:
    col = column_of(attr)
    kind = attr.match
    if isinstance(cond, Universal):
        return "", []
    if kind is Match.PERSON_NAME:
        col = _ci_column(attr)
        if isinstance(cond, Wildcard):
            return f"{col} GLOB ?", [wildcard_to_glob(casefold_name(cond.pattern))]
        if isinstance(cond, Single):
            return f"{col} = ?", [casefold_name(cond.value)]
    if kind in (Match.MULTI_TEXT, Match.MULTI_UID) and isinstance(cond, (Single, OneOf)):
        values = (cond.value,) if isinstance(cond, Single) else cond.values
        if attr.keyword == "ModalitiesInStudy" and not any("*" in v or "?" in v for v in values):
            # Indexed rows (schema v4) instead of scanning the joined column.
            marks = ", ".join("?" * len(values))
            return (f"{ALIAS[attr.level]}.pk IN (SELECT study_pk FROM study_modality WHERE modality IN ({marks}))",
                    list(values))
        parts: list[str] = []
        params: list[Any] = []
        for item in values:
            if "*" in item or "?" in item:
                parts.append(f"('\\' || {col} || '\\') GLOB ?")
                params.append(f"*\\{wildcard_to_glob(item)}\\*")
            else:
                parts.append(f"instr('\\' || {col} || '\\', ?) > 0")
                params.append(f"\\{item}\\")
        return "(" + " OR ".join(parts) + ")", params
    if isinstance(cond, Wildcard):
        return f"{col} GLOB ?", [wildcard_to_glob(cond.pattern)]
    if isinstance(cond, OneOf):
        marks = ", ".join("?" * len(cond.values))
        return f"{col} IN ({marks})", list(cond.values)
    if isinstance(cond, Range):
        return _range_sql(col, cond)
    if isinstance(cond, Single):
        value: Any = int(cond.value) if kind is Match.NUMBER else cond.value
        return f"{col} = ?", [value]
    raise InvalidQuery(f"{attr.keyword}: unsupported match")  # pragma: no cover - exhaustive above


def _range_sql(expression: str, cond: Range) -> tuple[str, list[Any]]:
    # An empty stored value never falls inside a range.
    parts, params = [f"{expression} != ''"], []
    if cond.low is not None:
        parts.append(f"{expression} >= ?")
        params.append(cond.low)
    if cond.high is not None:
        parts.append(f"{expression} <= ?")
        params.append(cond.high)
    return " AND ".join(parts), params


def _where(query: Query) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    handled: set[str] = set()
    if query.combined_datetime:
        for date_key, time_key in _DATE_TIME_PAIRS:
            date_value, time_value = query.keys.get(date_key, ""), query.keys.get(time_key, "")
            if "-" in date_value and "-" in time_value:
                date_attr, time_attr = ATTRIBUTES[date_key], ATTRIBUTES[time_key]
                expression = f"({column_of(date_attr)} || {column_of(time_attr)})"
                sql, values = _range_sql(expression, date_time_range(date_key, date_value, time_value))
                clauses.append(sql)
                params.extend(values)
                handled.update((date_key, time_key))
    for keyword in query.keys:
        if keyword in handled or keyword in INTERNAL_COLUMNS:
            continue
        sql, values = _condition_sql(ATTRIBUTES[keyword], query.conditions[keyword])
        if sql:
            clauses.append(sql)
            params.extend(values)
    return clauses, params


def _select_expression(keyword: str) -> str:
    if keyword in INTERNAL_COLUMNS:
        return INTERNAL_COLUMNS[keyword]
    return column_of(ATTRIBUTES[keyword])


def _order_sql(query: Query, order: Sequence[tuple[str, bool]] | None) -> str:
    if not order:
        return _DEFAULT_ORDER[query.level]
    parts = []
    for keyword, descending in order:
        attr = attribute(keyword)
        if attr.level.depth > query.level.depth:
            raise InvalidQuery(f"cannot sort {query.level.value} results by {keyword}")
        col = _ci_column(attr) if attr.match is Match.PERSON_NAME else column_of(attr)
        parts.append(f"{col} {'DESC' if descending else 'ASC'}")
    parts.append(f"{ALIAS[query.level]}.pk")
    return ", ".join(parts)


def build_select(query: Query, *, order: Sequence[tuple[str, bool]] | None = None,
                 limit: int | None = None, offset: int = 0) -> SqlQuery:
    """The SELECT for ``query``; rows come back in the order of ``SqlQuery.keys``."""
    keys = tuple(query.returned_keys())
    columns = ", ".join(_select_expression(k) for k in keys)
    clauses, params = _where(query)
    sql = f"SELECT {columns} FROM {_FROM[query.level]}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY " + _order_sql(query, order)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params.extend((int(limit), int(offset)))
    return SqlQuery(sql, tuple(params), keys)


def build_count(query: Query) -> SqlQuery:
    """SELECT count(*) for the same identifier (for paging in the UI)."""
    clauses, params = _where(query)
    sql = f"SELECT count(*) FROM {_FROM[query.level]}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return SqlQuery(sql, tuple(params), ("count",))


def build_pk_select(query: Query) -> SqlQuery:
    """Primary keys of the matching rows at the query level (delete and export use it)."""
    clauses, params = _where(query)
    alias = ALIAS[query.level]
    sql = f"SELECT {alias}.pk FROM {_FROM[query.level]}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return SqlQuery(sql, tuple(params), ("pk",))


def row_to_record(keys: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """One result row as keyword -> value (None becomes an empty string for text keys)."""
    return {k: ("" if v is None and not k.startswith("_") and _is_text(k) else v) for k, v in zip(keys, row)}


def _is_text(keyword: str) -> bool:
    attr = ATTRIBUTES.get(keyword)
    return attr is None or attr.match is not Match.NUMBER
