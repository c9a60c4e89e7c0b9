"""Writes to the index go through one connection, whichever thread writes."""

from __future__ import annotations

import threading

from tui_pacs.store.archive import Archive


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
