"""Writes to the index go through one connection, whichever thread writes."""

from __future__ import annotations

import threading

from tui_pacs.store.archive import Archive
from tui_pacs.store.index import AddOutcome


def test_every_thread_writes_through_one_connection(archive: Archive) -> None:
    """A connection drops its page cache when another one has written: the group commit's
    index stage, led by whichever association's thread, must not switch connections."""
    index = archive.index
    used = []

    def write() -> None:
        with index.transaction() as conn:
            used.append(conn)

    threads = [threading.Thread(target=write) for _ in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    write()
    assert len({id(conn) for conn in used}) == 1
    assert used[0] is not index.connection()  # readers keep their own


def test_a_transaction_reads_what_it_wrote(archive: Archive) -> None:
    """Inside a transaction the thread's reads go to the writer, so they see its rows."""
    index = archive.index
    with index.transaction() as conn:
        conn.execute("INSERT INTO patient (patient_id, issuer, patient_name, patient_name_ci) "
                     "VALUES ('W1', '', 'W^ONE', 'w^one')")
        assert index.connection() is conn
        assert index.connection().execute("SELECT count(*) FROM patient WHERE patient_id = 'W1'").fetchone()[0] == 1
    reader = index.connection()
    assert reader is not conn
    assert reader.execute("SELECT count(*) FROM patient WHERE patient_id = 'W1'").fetchone()[0] == 1


def test_an_instance_of_a_known_series_is_one_statement(archive: Archive, write_instance) -> None:  # type: ignore[no-untyped-def]
    """BEGIN, look-up, insert, COMMIT were four statements per received instance; a series
    already indexed needs only the insert, committed on its own."""
    from tui_pacs.domain.attributes import Level
    from tui_pacs.store.extract import read_header, record_from_header
    from tui_pacs.store.query import Query

    def record(n: int):  # type: ignore[no-untyped-def]
        path = write_instance(instance=n)
        made = record_from_header(read_header(path), file_size=1)
        made.instance["path"] = f"x/{n}.dcm"
        return made

    index = archive.index
    statements: list[str] = []
    assert index.add_each([record(1)])[0] == AddOutcome(inserted=True)  # a new series: the full path
    index._writer.set_trace_callback(statements.append)  # type: ignore[union-attr]
    assert index.add_each([record(2)])[0] == AddOutcome(inserted=True)
    # No BEGIN, look-up or COMMIT: only the insert (traced once more for each trigger it runs).
    assert statements and all(s.startswith("INSERT OR IGNORE INTO instance") for s in statements)
    statements.clear()
    again = index.add_each([record(2)])[0]  # a duplicate: ignored, then found by the look-up
    assert again == AddOutcome(inserted=False, duplicate=True, old_path="x/2.dcm")
    rows = index.find(Query(Level.SERIES, {"NumberOfSeriesRelatedInstances": ""}))
    assert [r["NumberOfSeriesRelatedInstances"] for r in rows] == [2]  # the triggers counted both, once


def test_a_mixed_batch_keeps_each_outcome_in_its_place(archive: Archive, write_instance) -> None:  # type: ignore[no-untyped-def]
    """New instances of a known series go in as one statement; a duplicate, an instance of a
    new series and the same instance twice take the other path; outcomes stay in order."""
    from tui_pacs.domain.attributes import Level
    from tui_pacs.store.extract import read_header, record_from_header
    from tui_pacs.store.query import Query

    def record(n: int, series: int = 1):  # type: ignore[no-untyped-def]
        made = record_from_header(read_header(write_instance(series=series, instance=n)), file_size=1)
        made.instance["path"] = f"x/{series}/{n}.dcm"
        return made

    index = archive.index
    assert index.add_each([record(1)]) == [AddOutcome(inserted=True)]
    statements: list[str] = []
    index._writer.set_trace_callback(statements.append)  # type: ignore[union-attr]
    batch = [record(2), record(1), record(1, series=2), record(3), record(3)]
    assert index.add_each(batch) == [
        AddOutcome(inserted=True),
        AddOutcome(inserted=False, duplicate=True, old_path="x/1/1.dcm"),
        AddOutcome(inserted=True),
        AddOutcome(inserted=True),
        AddOutcome(inserted=False, duplicate=True, old_path="x/1/3.dcm"),
    ]
    first = statements[0]
    assert first.startswith("INSERT OR IGNORE INTO instance") and first.count("SELECT pk FROM series") == 5
    counts = index.find(Query(Level.SERIES, {"NumberOfSeriesRelatedInstances": ""}))
    assert sorted(r["NumberOfSeriesRelatedInstances"] for r in counts) == [1, 3]
