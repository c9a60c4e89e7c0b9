"""Query latency of the index on a large archive: 100,000 studies and 1,000,000 instances.

    python bench/bench_query.py [--studies 100000] [--per-study 10] [--repeat 15]

Synthetic rows are inserted with SQL (the triggers keep the counts, as in
production). Each query runs through the same engine as the C-FIND SCP and
``tui-pacs ls``; the figure is the median wall time to fetch every row.
Goal: under 20 ms for selective queries, under 200 ms to return 1,000 matches.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from tui_pacs.domain.attributes import DEFAULT_KEYS, Level
from tui_pacs.store.index import Index
from tui_pacs.store.query import Query

SURNAMES = [f"NAME{n:03d}" for n in range(100)]


def populate(index: Index, studies: int, per_study: int) -> None:
    rng = random.Random(7)
    conn = index.connection()
    conn.execute("BEGIN")
    patients = studies // 2
    conn.executemany(
        "INSERT INTO patient (pk, patient_id, patient_name, patient_name_ci, birth_date, sex) VALUES (?,?,?,?,?,?)",
        ((p, f"PID{p:07d}", f"{SURNAMES[p % 100]}^FIRST{p}", f"{SURNAMES[p % 100]}^FIRST{p}",
          f"19{rng.randint(30, 99)}0101", "MF"[p % 2]) for p in range(1, patients + 1)),
    )
    study_rows = []
    for s in range(1, studies + 1):
        day = 20000101 + (s % 28) + 100 * ((s // 28) % 12) + 10000 * ((s // 336) % 25)
        study_rows.append((s, 1 + (s - 1) % patients, f"1.2.826.0.1.3680043.10.555.{s}", str(day), "120000.000000",
                           f"ACC{s:08d}", f"S{s}", "BENCH STUDY", f"{day}T000000Z"))
    conn.executemany(
        "INSERT INTO study (pk, patient_pk, study_uid, study_date, study_time, accession, study_id, description, "
        "received_at) VALUES (?,?,?,?,?,?,?,?,?)", study_rows)
    conn.executemany(
        "INSERT INTO series (pk, study_pk, series_uid, modality, series_number) VALUES (?,?,?,?,1)",
        ((s, s, f"1.2.826.0.1.3680043.10.555.{s}.1", ("CT", "MR", "US", "CR")[s % 4]) for s in range(1, studies + 1)),
    )
    conn.executemany(
        "INSERT INTO instance (series_pk, sop_uid, sop_class_uid, instance_number, transfer_syntax, path, file_size, "
        "received_at) VALUES (?,?,?,?,?,?,?,?)",
        ((s, f"1.2.826.0.1.3680043.10.555.{s}.1.{i}", "1.2.840.10008.5.1.4.1.1.2", i, "1.2.840.10008.1.2.1",
          f"x/{s}/{i}.dcm", 1000, "20240101T000000Z")
         for s in range(1, studies + 1) for i in range(1, per_study + 1)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def timed(index: Index, query: Query, repeat: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = len(index.find(query))
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--per-study", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        index = Index(Path(tmp) / "index.sqlite", Path(tmp) / "store").open()
        start = time.perf_counter()
        populate(index, args.studies, args.per_study)
        print(f"populated {args.studies} studies / {args.studies * args.per_study} instances in "
              f"{time.perf_counter() - start:.1f} s (SQL with triggers)")
        worklist = {k: "" for k in DEFAULT_KEYS[Level.STUDY]}
        cases = {
            "all studies": {},
            "PatientName=NAME042* (wildcard)": {"PatientName": "NAME042*"},
            "PatientName=name042^first84* (ci)": {"PatientName": "name042^first84*"},
            "StudyDate=20100301-20100305 (range)": {"StudyDate": "20100301-20100305"},
            "PatientID=PID0012345 (exact)": {"PatientID": "PID0012345"},
            "AccessionNumber=ACC00054321": {"AccessionNumber": "ACC00054321"},
            "ModalitiesInStudy=MR": {"ModalitiesInStudy": "MR"},
        }
        print(f"{'study-level query':<40} {'median ms':>10} {'matches':>9}")
        for label, keys in cases.items():
            ms, count = timed(index, Query(Level.STUDY, {**worklist, **keys}), args.repeat)
            print(f"{label:<40} {ms:10.1f} {count:9d}")
        ms, count = timed(index, Query(Level.IMAGE, {"StudyInstanceUID": "1.2.826.0.1.3680043.10.555.777",
                                                     "SOPInstanceUID": ""}), args.repeat)
        print(f"{'image level, one study':<40} {ms:10.1f} {count:9d}")
        first_page = Query(Level.STUDY, worklist)
        start = time.perf_counter()
        page = index.find(first_page, limit=100, offset=50_000)
        print(f"{'one UI page (100 rows at offset 50,000)':<40} {(time.perf_counter() - start) * 1000:10.1f} "
              f"{len(page):9d}")
        index.close()


if __name__ == "__main__":
    main()
