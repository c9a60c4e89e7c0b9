"""Paging the study list: offset pages, seek (keyset) pages and deep offsets agree, and indexes serve the sorts.

The worklist pages through the index a window at a time (``build_page``).
Whatever way a window is found (from the top by offset, by a primary-key
subquery for a deep offset, or by seeking from the edge row of the window
beside it), walking the whole list must give every study once, in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.ui.synthetic import fill_studies
from tui_pacs.config.paths import Paths, resolve_paths
from tui_pacs.domain.attributes import Level
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.services.local_browser import BROWSER_KEYS, PageRequest
from tui_pacs.store.query import (
    DEFERRED_OFFSET,
    SORT_KEY_PREFIX,
    Query,
    build_count,
    build_page,
    build_select,
    can_seek,
)
from tui_pacs.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate

STUDIES = 1_234  # crosses DEFERRED_OFFSET, and the last page is a short one
LIMIT = 100
SORTABLE = BROWSER_KEYS[Level.STUDY]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = resolve_paths(tmp_path_factory.mktemp("paging"))
    # 40 patients over 10 family names: many equal names, many studies per patient (ties everywhere).
    fill_studies(paths, STUDIES, patients=40)
    return paths.index_file


@pytest.fixture
def conn(index: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(index)
    yield connection
    connection.close()


def fetch(conn: sqlite3.Connection, query: Query, order: Sequence[tuple[str, bool]] | None, **window: Any
          ) -> list[dict[str, Any]]:
    select = build_page(query, order=order, limit=LIMIT, **window)
    return [dict(zip(select.keys, row)) for row in conn.execute(select.sql, select.params)]


def sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(v for k, v in row.items() if k.startswith(SORT_KEY_PREFIX))


def walk_by_offset(conn: sqlite3.Connection, query: Query, order: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while page := fetch(conn, query, order, offset=len(rows)):
        rows += page
    return rows


def walk_by_seeking(conn: sqlite3.Connection, query: Query, order: Any, *, backwards: bool = False
                    ) -> list[dict[str, Any]]:
    if not backwards:
        rows = fetch(conn, query, order)
        while page := fetch(conn, query, order, after=sort_key(rows[-1])):
            rows += page
        return rows
    total = conn.execute(*_count(query)).fetchone()[0]
    rows = fetch(conn, query, order, offset=max(0, total - LIMIT))  # the last page, as the End key loads it
    while page := fetch(conn, query, order, before=sort_key(rows[0])):
        rows = page + rows
    return rows


def _count(query: Query) -> tuple[str, tuple[Any, ...]]:
    count = build_count(query)
    return count.sql, count.params


def uids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["StudyInstanceUID"] for row in rows]


ORDERS = [None] + [((keyword, descending),) for keyword in SORTABLE for descending in (False, True)]


@pytest.mark.parametrize("order", ORDERS, ids=lambda o: "default" if o is None else f"{o[0][0]}-{'desc' if o[0][1] else 'asc'}")
def test_every_way_of_paging_walks_the_same_ordered_list(conn: sqlite3.Connection, order: Any) -> None:
    query = PageRequest(Level.STUDY).query()
    by_offset = walk_by_offset(conn, query, order)
    assert len(by_offset) == STUDIES and len(set(uids(by_offset))) == STUDIES
    # The rows are in the order asked for (the displayed key never goes the wrong way).
    if order is not None:
        (keyword, descending), = order
        shown = [row[keyword] for row in by_offset]
        assert shown == sorted(shown, reverse=descending)
    # One SELECT without a window (what C-FIND and ls run) has the same order.
    whole = build_select(query, order=order)
    assert [row[whole.keys.index("StudyInstanceUID")] for row in conn.execute(whole.sql, whole.params)] == \
        uids(by_offset)
    assert uids(walk_by_seeking(conn, query, order)) == uids(by_offset)
    assert uids(walk_by_seeking(conn, query, order, backwards=True)) == uids(by_offset)


def test_deep_offsets_with_a_patient_filter_and_a_study_sort(conn: sqlite3.Connection) -> None:
    # The skipping subquery keeps the patient join when a condition needs it.
    query = PageRequest(Level.STUDY, {"PatientSex": "F"}).query()
    order = (("StudyDescription", True),)
    rows = walk_by_offset(conn, query, order)
    expected = conn.execute("SELECT count(*) FROM study st JOIN patient p ON p.pk = st.patient_pk "
                            "WHERE p.sex = 'F'").fetchone()[0]
    assert len(rows) == expected > DEFERRED_OFFSET + LIMIT
    sexes = dict(conn.execute("SELECT st.study_uid, p.sex FROM study st JOIN patient p ON p.pk = st.patient_pk"))
    assert {sexes[uid] for uid in uids(rows)} == {"F"}
    assert uids(walk_by_seeking(conn, query, order)) == uids(rows)


def test_seeking_needs_one_direction_and_never_null_keys(conn: sqlite3.Connection) -> None:
    study = PageRequest(Level.STUDY).query()
    assert can_seek(study) and can_seek(study, [("PatientName", True)])
    mixed = [("PatientName", False), ("StudyDate", True)]
    assert not can_seek(study, mixed)
    with pytest.raises(InvalidQuery):
        build_page(study, order=mixed, limit=LIMIT, after=("A", "B", "C", 1, 2))
    series = PageRequest(Level.SERIES, parent_uid="1.2.3").query()  # nullable SeriesNumber
    assert not can_seek(series)
    # A mixed order still pages by offset.
    assert uids(walk_by_offset(conn, study, mixed))[:3] == uids(fetch(conn, study, mixed))[:3]


@pytest.mark.parametrize("order", ORDERS[1:], ids=lambda o: f"{o[0][0]}-{'desc' if o[0][1] else 'asc'}")
def test_an_index_serves_every_offered_sort(conn: sqlite3.Connection, order: Any) -> None:
    """The first window of any sort walks an index: no sort step over all the studies."""
    select = build_page(PageRequest(Level.STUDY).query(), order=order, limit=LIMIT)
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + select.sql, select.params)]
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_deep_offset_skips_over_covering_indexes(conn: sqlite3.Connection) -> None:
    select = build_page(PageRequest(Level.STUDY).query(), limit=LIMIT, offset=STUDIES - LIMIT)
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + select.sql, select.params)]
    assert any("COVERING INDEX study_date_idx" in step for step in plan), plan


# -- the schema migration that added the sort indexes ----------------------------------------------


def test_v4_index_migrates_to_v5_with_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "v4.sqlite"
    conn = sqlite3.connect(db, isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:4], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute("INSERT INTO patient (patient_id, patient_name, patient_name_ci, birth_date) "
                 "VALUES ('P1', 'Doe^Jo', 'DOE^JO', '19700101')")
    conn.execute("INSERT INTO study (patient_pk, study_uid, study_date, description) VALUES (1, '1.2.3', '20240101', 'X')")
    assert migrate(conn) == 4
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"patient_birth_date_idx", "study_modalities_idx", "study_description_idx",
            "study_num_series_idx", "study_num_instances_idx"} <= names
    rows = fetch(conn, PageRequest(Level.STUDY).query(), (("PatientBirthDate", False),))
    assert uids(rows) == ["1.2.3"]
    assert migrate(conn) == SCHEMA_VERSION  # already current: nothing to do
    conn.close()


def test_a_fresh_home_is_created_at_the_current_version(tmp_path: Path) -> None:
    from tui_pacs.store.archive import Archive

    paths: Paths = resolve_paths(tmp_path / "fresh")
    paths.ensure()
    Archive.open(paths).close()
    conn = sqlite3.connect(paths.index_file)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- the browser: the window beside the one shown is found by seeking ------------------------------


async def test_next_window_continues_after_the_last_row_shown_while_studies_arrive(tmp_path: Path) -> None:
    from tui_pacs.config.loader import load_config
    from tui_pacs.services.local_browser import LocalBrowser

    paths = resolve_paths(tmp_path / "home")
    fill_studies(paths, 250)
    browser = LocalBrowser(paths, load_config(paths.config_file))
    try:
        first = await browser.page(PageRequest(Level.STUDY))
        # A study arrives that sorts onto the first window (newest first): every later row moves down one.
        conn = sqlite3.connect(paths.index_file)
        with conn:
            conn.execute("INSERT INTO study (patient_pk, study_uid, study_date) VALUES (1, '1.2.999', '20991231')")
        conn.close()
        request = PageRequest(Level.STUDY, offset=LIMIT)
        beside = await browser.page(request, near=first)
        counted = await browser.page(request)  # the same window counted from the top
        assert beside.total == counted.total == 251
        # Seeking continues right after the row on screen; counting from the top repeats it.
        assert beside.rows[0]["StudyInstanceUID"] != first.rows[-1]["StudyInstanceUID"]
        assert counted.rows[0]["StudyInstanceUID"] == first.rows[-1]["StudyInstanceUID"]
        # Back one window from there: the rows just before the one on screen.
        second = await browser.page(PageRequest(Level.STUDY, offset=2 * LIMIT), near=beside)
        back = await browser.page(request, near=second)
        assert [r["StudyInstanceUID"] for r in back.rows] == [r["StudyInstanceUID"] for r in beside.rows]
        assert SORT_KEY_PREFIX + "0" not in back.rows[0]  # sort values stay out of the records
        top = await browser.page(PageRequest(Level.STUDY), near=back)  # the first window is the top
        assert top.rows[0]["StudyInstanceUID"] == "1.2.999"
    finally:
        await browser.close()
