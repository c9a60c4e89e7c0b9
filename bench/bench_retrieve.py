"""Retrieve and send rates of tui-pacs' SCU against dcmtk measured in the same run.

* C-MOVE and C-GET of one study (default 500 instances) from Orthanc into the
  tui-pacs archive, against dcmtk ``movescu`` moving it to ``storescp``;
* C-STORE of the same instances into ``storescp``: our SCU vs ``storescu``;
* serving a C-MOVE: ``movescu`` asks ``tui-pacs serve`` (holding the study) to
  send it to ``storescp``, against Orthanc serving the same move;
* serving a C-GET: ``getscu`` retrieves the study from ``tui-pacs serve``,
  against ``getscu`` retrieving it from Orthanc;
* the durability floor of this disk: what writing each instance to a file,
  fsyncing it, renaming it and fsyncing the directory costs by itself (the
  archive must do that before it acknowledges a C-STORE, storescp does not),
  as the highest rate any durable receiver could reach here.

Run: ``python bench/bench_retrieve.py [--count 500] [--size 256] [--repeat 3]``.
Every peer runs on loopback with TCP_NODELAY=1; figures are medians.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synth import write_set  # noqa: E402
from tests.support.peers import run_orthanc, run_storescp  # noqa: E402
from tests.support.tools import dcmtk_env, free_port  # noqa: E402
from tui_pacs.config.model import LocalNode, RemoteNode, Timeouts  # noqa: E402
from tui_pacs.net.scu import retrieve  # noqa: E402
from tui_pacs.net.scu.get import send_c_get  # noqa: E402
from tui_pacs.net.scu.move import send_c_move  # noqa: E402
from tui_pacs.net.scu.receiver import storage_receiver  # noqa: E402
from tui_pacs.net.scu.store import StoreItem, send_c_store  # noqa: E402
from tui_pacs.store.archive import Archive  # noqa: E402

AET = "TUIPACS"


def median_time(action: Callable[[], object], repeat: int, setup: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh_archive(base: Path) -> Archive:
    folder = Path(tempfile.mkdtemp(dir=base))
    archive = Archive(folder / "index.sqlite", folder / "store")
    archive.files.ensure()
    archive.index.open()
    return archive


def items_of(paths: list[Path]) -> list[StoreItem]:
    return [StoreItem.from_file(p) for p in paths]


def durability_floor(folder: Path, files: list[Path]) -> float:
    """Seconds for write + fsync + rename + directory fsync of every file (no DICOM work)."""
    folder.mkdir()
    start = time.perf_counter()
    for n, path in enumerate(files):
        data = path.read_bytes()
        temporary = folder / f"{n}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, folder / f"{n}.dcm")
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return time.perf_counter() - start


def line(label: str, count: int, seconds: float, reference: float | None = None, versus: str = "dcmtk") -> None:
    ratio = f"  x{reference / seconds:.2f} vs {versus}" if reference else ""
    print(f"{label:<44} {seconds:7.2f} s  {count / seconds:7.0f} inst/s{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--size", type=int, default=256, help="pixels per side (16-bit)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = write_set(base / "set", count=args.count, size=args.size, per_study=args.count, tag=7)
        items = items_of(files)
        study_uid = _study_of(files[0])
        mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"{args.count} instances of {args.size}x{args.size} ({mb:.1f} MB), median of {args.repeat}")

        # -- C-STORE send rate into storescp ----------------------------------------------------
        with run_storescp(base / "scp_send") as scp:
            node = RemoteNode("scp", scp.aet, "127.0.0.1", scp.port, timeouts=Timeouts(dimse=30))
            dcmtk = median_time(lambda: subprocess.run(
                ["storescu", "-aec", scp.aet, "-nh", "127.0.0.1", str(scp.port), *map(str, files)],
                env=dcmtk_env(), check=True, capture_output=True), args.repeat)
            ours = median_time(lambda: send_c_store(AET, node, items), args.repeat)
        print("C-STORE into dcmtk storescp")
        line("  dcmtk storescu", args.count, dcmtk)
        line("  tui-pacs send_c_store", args.count, ours, dcmtk)

        # -- retrieve from Orthanc ----------------------------------------------------------------
        our_port, dcmtk_port = free_port(), free_port()
        modalities = {"tuipacs": (AET, "127.0.0.1", our_port), "dcmtk": ("STORESCP", "127.0.0.1", dcmtk_port)}
        with run_orthanc(base, modalities=modalities, dicomweb=False) as pacs:
            node = RemoteNode("pacs", pacs.aet, "127.0.0.1", pacs.port, timeouts=Timeouts(dimse=60))
            send_c_store(AET, node, items)
            study = retrieve.studies([study_uid])
            dcmtk_move = _movescu_time(base, pacs.aet, pacs.port, dcmtk_port, study_uid, args.repeat)
            orthanc_get = _getscu_time(base / "orthanc-get", pacs.aet, pacs.port, study_uid, len(files), args.repeat)
            local = LocalNode(ae_title=AET, bind="127.0.0.1", port=our_port)
            holder: dict[str, Archive] = {}

            def new_archive() -> None:
                holder["a"] = fresh_archive(base)

            def move() -> None:
                with storage_receiver(local, holder["a"]):
                    send_c_move(AET, node, AET, study)

            ours_move = median_time(move, args.repeat, new_archive)
            ours_get = median_time(lambda: send_c_get(AET, node, study, holder["a"]), args.repeat, new_archive)
        print("Retrieve one study from Orthanc")
        line("  dcmtk movescu -> storescp", args.count, dcmtk_move)
        line("  tui-pacs C-MOVE -> own receiver + archive", args.count, ours_move, dcmtk_move)
        line("  tui-pacs C-GET -> archive", args.count, ours_get, dcmtk_move)
        floor = statistics.median(durability_floor(base / f"floor{n}", files) for n in range(args.repeat))
        line("  disk floor: write+fsync+rename+dir fsync", args.count, floor, dcmtk_move)
        serve_move, serve_get = _serve_retrieve_times(base, files, study_uid, args.repeat)
        print("Serve a C-MOVE to storescp (movescu asks)")
        line("  Orthanc as the move SCP", args.count, dcmtk_move)
        line("  tui-pacs serve as the move SCP", args.count, serve_move, dcmtk_move)
        print("Serve a C-GET (getscu asks, stores the files)")
        line("  Orthanc as the get SCP", args.count, orthanc_get)
        line("  tui-pacs serve as the get SCP", args.count, serve_get, orthanc_get, "Orthanc")


def _study_of(path: Path) -> str:
    from pydicom import dcmread

    return str(dcmread(path, stop_before_pixels=True).StudyInstanceUID)


def _serve_retrieve_times(base: Path, files: list[Path], study_uid: str, repeat: int) -> tuple[float, float]:
    """``tui-pacs serve`` holding ``files`` (imported): moving the study to a storescp it knows,
    then serving getscu's C-GET of it."""
    from bench.bench_find import fill_tui_pacs
    from bench.bench_ingest import TuiPacs

    dest_port = free_port()
    serve = TuiPacs(base / "serve", 1)
    home = base / "serve" / "home"
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'[nodes.dcmtk]\nae_title = "STORESCP"\nhost = "127.0.0.1"\n'
                                      f"port = {dest_port}\n")
    fill_tui_pacs(home, files[0].parent)
    serve.start()
    try:
        return (_movescu_time(base / "serve", serve.aet, serve.port, dest_port, study_uid, repeat),
                _getscu_time(base / "serve-get", serve.aet, serve.port, study_uid, len(files), repeat))
    finally:
        serve.stop()


def _getscu_time(base: Path, aet: str, port: int, study_uid: str, count: int, repeat: int) -> float:
    """getscu retrieving the study (``count`` instances) from ``aet`` into a fresh folder each time."""
    times = []
    for n in range(repeat):
        out = base / f"get{n}"
        out.mkdir(parents=True)
        start = time.perf_counter()
        subprocess.run(["getscu", "-S", "-aec", aet, "-k", "QueryRetrieveLevel=STUDY",
                        "-k", f"StudyInstanceUID={study_uid}", "-od", str(out), "127.0.0.1", str(port)],
                       env=dcmtk_env(), check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        got = sum(1 for _ in out.iterdir())
        if got != count:
            raise RuntimeError(f"getscu from {aet} stored {got} of {count} instances")
    return statistics.median(times)


def _movescu_time(base: Path, aet: str, port: int, dest_port: int, study_uid: str, repeat: int) -> float:
    """movescu asks Orthanc to send to a storescp on ``dest_port`` (Orthanc's 'dcmtk' modality)."""
    times = []
    for n in range(repeat):
        out = base / f"movescp{n}"
        out.mkdir()
        scp = subprocess.Popen(["storescp", "--aetitle", "STORESCP", "+xa", "-od", str(out), str(dest_port)],
                               env=dcmtk_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.3)
            start = time.perf_counter()
            subprocess.run(["movescu", "-S", "-aec", aet, "-aem", "STORESCP", "-k", "QueryRetrieveLevel=STUDY",
                            "-k", f"StudyInstanceUID={study_uid}", "127.0.0.1", str(port)],
                           env=dcmtk_env(), check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        finally:
            scp.terminate()
            scp.wait()
    return statistics.median(times)


if __name__ == "__main__":
    main()
