"""C-FIND benchmark: dcmtk findscu against ``tui-pacs serve`` and Orthanc on the same studies.

Both archives hold the same 2,000 studies (one small instance each, 97
patients). Each query is a whole findscu run, association set-up included,
repeated ten times; the median is reported, with the ratio Orthanc/tui-pacs
(above 1 means tui-pacs is faster).

A second table is our SCU's side: ``find_all`` (what ``tui-pacs find`` and
the workstation's query pane run), association included, against findscu
asking the same SCP in the same run, for both SCPs (findscu/tui-pacs: above
1 means our SCU is faster). findscu's time includes its process start.

    python bench/bench_find.py [--studies 2000] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import ENV, HOST, Orthanc, TuiPacs
from bench.synth import write_set

QUERIES = {
    "all studies": ["PatientName", "PatientID", "StudyDate", "StudyDescription", "StudyInstanceUID"],
    "PatientName=BENCH^1*": ["PatientName=BENCH^1*", "PatientID", "StudyInstanceUID"],
    "exact PatientID": ["PatientID=B3-42", "PatientName", "StudyInstanceUID"],
    "StudyDate range": ["StudyDate=20230101-20241231", "StudyInstanceUID"],
}


def findscu(aet: str, port: int, keys: list[str]) -> tuple[float, int]:
    argv = ["findscu", "-S", "-aec", aet, "-k", "QueryRetrieveLevel=STUDY"]
    for key in keys:
        argv += ["-k", key]
    start = time.perf_counter()
    result = subprocess.run([*argv, HOST, str(port)], env=ENV, capture_output=True, text=True, timeout=120)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"findscu into {aet} failed: {result.stderr[-400:]}")
    matches = result.stderr.count("Find Response:") or result.stdout.count("Find Response:")
    return seconds, matches


def our_find(aet: str, port: int, keys: list[str]) -> tuple[float, int]:
    """Our SCU's C-FIND at STUDY level (Study Root) with findscu's keys: seconds, matches."""
    from tui_pacs.config.model import RemoteNode, Timeouts
    from tui_pacs.domain.attributes import Level, Root
    from tui_pacs.net.scu.find import RemoteQuery, find_all

    node = RemoteNode("bench", aet, HOST, port, timeouts=Timeouts(dimse=120))
    identifier = dict(key.split("=", 1) if "=" in key else (key, "") for key in keys)
    start = time.perf_counter()
    matches = find_all("BENCHSCU", node, RemoteQuery(Level.STUDY, Root.STUDY, identifier))
    return time.perf_counter() - start, len(matches)


def median_runs(runs: int, *queries: Callable[[], tuple[float, int]]) -> list[tuple[float, int]]:
    """Each query run ``runs`` times, taking turns: its median time in ms and its match count."""
    times: list[list[float]] = [[] for _ in queries]
    counts = [0] * len(queries)
    for _ in range(runs):
        for n, query in enumerate(queries):
            seconds, counts[n] = query()
            times[n].append(seconds)
    return [(statistics.median(t) * 1000, c) for t, c in zip(times, counts, strict=True)]


def fill_tui_pacs(home: Path, folder: Path) -> None:
    from tui_pacs.config.loader import load_config
    from tui_pacs.config.paths import resolve_paths
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.importer import import_paths

    paths = resolve_paths(home)
    paths.ensure()
    with Archive.open(paths, load_config(paths.config_file)) as archive:
        import_paths(archive, [folder])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-find-", dir=os.environ.get("BENCH_TMP")) as tmp:
        base = Path(tmp)
        folder = base / "studies"
        write_set(folder, count=args.studies, size=32, per_study=1, tag=3)
        ours = TuiPacs(base / "tui-pacs", 1)
        fill_tui_pacs(base / "tui-pacs" / "home", folder)
        theirs = Orthanc(base / "orthanc", 1)
        ours.start()
        theirs.start()
        try:
            subprocess.run(["storescu", "-nh", "-aec", theirs.aet, "+sd", "+r", HOST, str(theirs.port),
                            str(folder)], env=ENV, check=True, capture_output=True, timeout=600)
            assert ours.count() == theirs.count() == args.studies, (ours.count(), theirs.count())
            print(f"{args.studies} studies in each archive; median of {args.repeat} findscu runs (ms)")
            print(f"{'query':<24} {'matches':>8} {'tui-pacs':>9} {'orthanc':>9} {'orthanc/tui-pacs':>17}")
            for title, keys in QUERIES.items():
                (a, n_ours), (b, n_theirs) = median_runs(
                    args.repeat, partial(findscu, ours.aet, ours.port, keys),
                    partial(findscu, theirs.aet, theirs.port, keys))
                flag = "" if n_ours == n_theirs else f"  (orthanc: {n_theirs} matches)"
                print(f"{title:<24} {n_ours:>8} {a:9.1f} {b:9.1f} {b / a:16.2f}x{flag}")
            print()
            print(f"our SCU (find_all) against findscu, same SCP, median of {args.repeat} (ms)")
            print(f"{'query':<24} {'SCP':<9} {'matches':>8} {'tui-pacs':>9} {'findscu':>9} {'findscu/tui-pacs':>17}")
            for title, keys in QUERIES.items():
                for scp in (ours, theirs):
                    (a, n_scu), (b, _) = median_runs(args.repeat, partial(our_find, scp.aet, scp.port, keys),
                                                     partial(findscu, scp.aet, scp.port, keys))
                    print(f"{title:<24} {scp.name:<9} {n_scu:>8} {a:9.1f} {b:9.1f} {b / a:16.2f}x")
        finally:
            ours.stop()
            theirs.stop()


if __name__ == "__main__":
    main()
