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


def build_select(query: Query, *, order: Sequence[tuple[str, bool]] | None = None,
                 limit: int | None = None, offset: int = 0) -> SqlQuery:
    """The SELECT for ``query``; rows come back in the order of ``SqlQuery.keys``."""
    keys = tuple(query.returned_keys())
    columns = ", ".join(_select_expression(k) for k in keys)
    clauses, params = _where(query)
    sql = f"SELECT {columns} FROM {_FROM[query.level]}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY " + _order_by(sort_terms(query, order))
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params.extend((int(limit), int(offset)))
    return SqlQuery(sql, tuple(params), keys)


def build_count(query: Query) -> SqlQuery:
    """SELECT count(*) for the same identifier (for paging in the UI).

    A study query with no patient-level condition counts the study table
    alone: every study has its patient (a foreign key), so the join could
    only cost time, not change the count.
    """
    clauses, params = _where(query)
    sql = f"SELECT count(*) FROM {_narrow_from(query, ())}"
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


# -- paging: sort orders an index can serve, seek (keyset) pages, deferred joins --------------


@dataclass(frozen=True)
class SortTerm:
    """One ORDER BY term: a column expression of ``level``'s table and its direction."""

    expression: str
    descending: bool
    level: Level

    def sql(self, flip: bool = False) -> str:
        return f"{self.expression} {'ASC' if self.descending == flip else 'DESC'}"


def _term(level: Level, column: str, descending: bool) -> SortTerm:
    return SortTerm(f"{ALIAS[level]}.{column}", descending, level)


_DEFAULT_ORDER: dict[Level, tuple[SortTerm, ...]] = {
    Level.PATIENT: (_term(Level.PATIENT, "patient_name_ci", False), _term(Level.PATIENT, "patient_id", False),
                    _term(Level.PATIENT, "pk", False)),
    # Newest first: a backward walk of study_date_idx (date, time, rowid), no sorting.
    Level.STUDY: (_term(Level.STUDY, "study_date", True), _term(Level.STUDY, "study_time", True),
                  _term(Level.STUDY, "pk", True)),
    Level.SERIES: (SortTerm("se.series_number IS NULL", False, Level.SERIES),
                   _term(Level.SERIES, "series_number", False), _term(Level.SERIES, "pk", False)),
    Level.IMAGE: (SortTerm("i.instance_number IS NULL", False, Level.IMAGE),
                  _term(Level.IMAGE, "instance_number", False), _term(Level.IMAGE, "pk", False)),
}
SORT_KEY_PREFIX = "_sort"
"""Result keys ``_sort0``, ``_sort1``... carry each row's sort-term values in :func:`build_page` results."""
# Keys that sort together with the next column of the index that serves them.
_SORTS_WITH = {**dict(_DATE_TIME_PAIRS), "PatientID": "IssuerOfPatientID"}
DEFERRED_OFFSET = 500
"""From this offset on, :func:`build_page` skips rows in a primary-key-only subquery (see there)."""


def sort_terms(query: Query, order: Sequence[tuple[str, bool]] | None = None) -> tuple[SortTerm, ...]:
    """The whole ORDER BY of ``order`` (keyword, descending) pairs, made total and index-friendly.

    A date sorts with its time (StudyDate walks ``study_date_idx``) and a
    Patient ID with its issuer (the patient key); a patient-level key is
    followed by the patient's pk (so SQLite walks a patient index and each
    patient's studies in ``study_patient_idx`` with no sort step); the
    level's pk breaks every remaining tie. The added terms take the
    direction of the last key asked for, so a one-key order runs one way
    and an index serves it forwards or backwards.
    """
    if not order:
        return _DEFAULT_ORDER[query.level]
    terms: list[SortTerm] = []
    for keyword, descending in order:
        attr = attribute(keyword)
        if attr.level.depth > query.level.depth:
            raise InvalidQuery(f"cannot sort {query.level.value} results by {keyword}")
        terms.append(SortTerm(_ci_column(attr) if attr.match is Match.PERSON_NAME else column_of(attr),
                              descending, attr.level))
        pair = _SORTS_WITH.get(keyword)
        if pair is not None and pair not in (k for k, _ in order):
            terms.append(SortTerm(column_of(ATTRIBUTES[pair]), descending, attr.level))
    last = order[-1][1]
    if query.level is not Level.PATIENT and any(t.level is Level.PATIENT for t in terms):
        terms.append(_term(Level.PATIENT, "pk", last))
    terms.append(_term(query.level, "pk", last))
    return tuple(terms)


def _order_by(terms: Sequence[SortTerm], flip: bool = False) -> str:
    return ", ".join(term.sql(flip) for term in terms)


def _narrow_from(query: Query, terms: Sequence[SortTerm]) -> str:
    """The FROM clause, without the patient join when a study query never looks at the patient."""
    if query.level is Level.STUDY and not any(t.level is Level.PATIENT for t in terms) and not any(
        ATTRIBUTES[k].level is Level.PATIENT and not isinstance(c, Universal) for k, c in query.conditions.items()
    ):
        return "study st"
    return _FROM[query.level]


def can_seek(query: Query, order: Sequence[tuple[str, bool]] | None = None) -> bool:
    """Whether :func:`build_page` can seek (``after``/``before``) in this order.

    Seeking compares the row value of all sort terms, so the terms must run
    one way and never be NULL: true of every patient and study column, not
    of series and instance numbers (and those lists are short anyway).
    """
    terms = sort_terms(query, order)
    return query.level in (Level.PATIENT, Level.STUDY) and len({t.descending for t in terms}) == 1


def build_page(query: Query, *, order: Sequence[tuple[str, bool]] | None = None, limit: int,
               offset: int = 0, after: Sequence[Any] | None = None,
               before: Sequence[Any] | None = None) -> SqlQuery:
    """One page of ``query`` for a browser, each row with its sort-term values (``_sort0``...).

    * ``after``: the sort values of the last row of the page before; the
      page is the ``limit`` rows that follow it (seek, or keyset, paging:
      an index range, however deep the page is).
    * ``before``: the sort values of the first row of the page after; the
      ``limit`` rows before it, in order.
    * otherwise rows ``offset .. offset + limit``. A deep ``offset`` is
      skipped in a subquery that reads primary keys only, from covering
      indexes and without the patient join when nothing needs it; only the
      page's own rows are then joined and read in full.
    """
    terms = sort_terms(query, order)
    keys = (*query.returned_keys(), *(f"{SORT_KEY_PREFIX}{n}" for n in range(len(terms))))
    columns = ", ".join([*(_select_expression(k) for k in query.returned_keys()),
                         *(f"{t.expression} AS {SORT_KEY_PREFIX}{n}" for n, t in enumerate(terms))])
    clauses, params = _where(query)
    table = _FROM[query.level]
    pk = f"{ALIAS[query.level]}.pk"
    anchor = after if after is not None else before
    if anchor is not None:
        if not can_seek(query, order) or len(anchor) != len(terms):
            raise InvalidQuery("this order cannot be paged by seeking; use an offset")
        forward = after is not None
        # One row-value comparison: SQLite turns it into a range of the index serving the order.
        operator = ">" if forward != terms[0].descending else "<"
        row_value = ", ".join(t.expression for t in terms)
        clauses.append(f"({row_value}) {operator} ({', '.join('?' * len(terms))})")
        params.extend(anchor)
        sql = (f"SELECT {columns} FROM {table} WHERE {' AND '.join(clauses)} "
               f"ORDER BY {_order_by(terms, flip=not forward)} LIMIT ?")
        params.append(int(limit))
        if not forward:  # fetched backwards from the anchor; put the page back in order
            outer = ", ".join(SortTerm(f"{SORT_KEY_PREFIX}{n}", t.descending, t.level).sql()
                              for n, t in enumerate(terms))
            sql = f"SELECT * FROM ({sql}) ORDER BY {outer}"
        return SqlQuery(sql, tuple(params), keys)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    if offset >= DEFERRED_OFFSET:
        inner = (f"SELECT {pk} FROM {_narrow_from(query, terms)}{where} "
                 f"ORDER BY {_order_by(terms)} LIMIT ? OFFSET ?")
        sql = f"SELECT {columns} FROM {table} WHERE {pk} IN ({inner}) ORDER BY {_order_by(terms)}"
    else:
        sql = f"SELECT {columns} FROM {table}{where} ORDER BY {_order_by(terms)} LIMIT ? OFFSET ?"
    params.extend((int(limit), int(offset)))
    return SqlQuery(sql, tuple(params), keys)


def split_sort_keys(keys: Sequence[str], fetched: Sequence[Sequence[Any]]
                    ) -> tuple[list[dict[str, Any]], tuple[Any, ...], tuple[Any, ...]]:
    """The rows of a :func:`build_page` as records without their ``_sort`` columns, and the
    sort values of the first and the last row (the anchors of the pages before and after)."""
    shown = [n for n, key in enumerate(keys) if not key.startswith(SORT_KEY_PREFIX)]
    sort = [n for n, key in enumerate(keys) if key.startswith(SORT_KEY_PREFIX)]
    names = [keys[n] for n in shown]
    rows = [row_to_record(names, [row[n] for n in shown]) for row in fetched]
    if not fetched:
        return rows, (), ()
    return rows, tuple(fetched[0][n] for n in sort), tuple(fetched[-1][n] for n in sort)


def row_to_record(keys: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """One result row as keyword -> value (None becomes an empty string for text keys)."""
    return {k: ("" if v is None and not k.startswith("_") and _is_text(k) else v) for k, v in zip(keys, row)}


def _is_text(keyword: str) -> bool:
    attr = ATTRIBUTES.get(keyword)
    return attr is None or attr.match is not Match.NUMBER
