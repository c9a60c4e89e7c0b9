"""Synthetic index rows inserted with SQL: many studies without any DICOM files.

Used by the paging tests and ``bench/bench_ui.py``; the rows are only for
browsing (no instances, so nothing can be previewed or sent).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tui_pacs.config.paths import Paths
from tui_pacs.store.archive import Archive

FAMILIES = ("DOE", "SMITH", "MÜLLER", "NGUYEN", "GARCIA", "IVANOV", "TANAKA", "OKAFOR", "ROSSI", "BERG")
GIVEN = ("JOHN", "JANE", "ANNA", "MIN", "LUIS", "OLGA", "KENJI", "ADA", "LUCA", "INGRID")
MODALITIES = ("CT", "MR", "CR", "US", "DX", "XA", "NM", "PT")
ROOT = "1.2.826.0.1.3680043.10.1234.9"


def fill_studies(paths: Paths, studies: int, *, patients: int | None = None) -> None:
    """Insert ``studies`` studies over ``patients`` patients, dated back from 2024-12-31."""
    paths.ensure()
    Archive.open(paths).close()
    patients = patients or max(1, studies // 4)
    conn = sqlite3.connect(Path(paths.index_file))
    try:
        with conn:
            conn.executemany(
                "INSERT INTO patient (patient_id, patient_name, patient_name_ci, birth_date, sex, num_studies) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                [
                    (f"SYN{p:06d}", name, name.upper(), f"19{40 + p % 60:02d}{1 + p % 12:02d}{1 + p % 28:02d}",
                     "MF"[p % 2])
                    for p in range(patients)
                    for name in [f"{FAMILIES[p % 10]}^{GIVEN[(p // 10) % 10]}"]
                ],
            )
            first_pk = conn.execute("SELECT min(pk) FROM patient WHERE patient_id LIKE 'SYN%'").fetchone()[0]
            conn.executemany(
                "INSERT INTO study (patient_pk, study_uid, study_date, study_time, accession, description, "
                "modalities, num_series, num_instances, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (first_pk + s % patients, f"{ROOT}.{s + 1}", _date(s), f"{8 + s % 10:02d}{s % 60:02d}00",
                     f"SA{s:07d}", f"Synthetic {MODALITIES[s % 8]} study {s}", MODALITIES[s % 8],
                     1 + s % 4, 10 + s % 200, "2024-12-31T00:00:00Z")
                    for s in range(studies)
                ],
            )
            # ModalitiesInStudy filters look in study_modality (schema v4); triggers fill it from
            # series rows, and synthetic studies have none, so it is filled here.
            conn.execute("INSERT OR IGNORE INTO study_modality (modality, study_pk) "
                         "SELECT modalities, pk FROM study WHERE study_uid LIKE ? AND modalities != ''",
                         (f"{ROOT}.%",))
    finally:
        conn.close()


def _date(n: int) -> str:
    # 20 studies a day, going backwards from 2024-12-31 (a fixed date keeps snapshots stable).
    import datetime as dt

    day = dt.date(2024, 12, 31) - dt.timedelta(days=n // 20)
    return day.strftime("%Y%m%d")
