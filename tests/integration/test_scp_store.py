"""Our Storage and Verification SCP against dcmtk's echoscu and storescu (PS3.4 Annexes A, B).

Every transfer syntax of the issue is sent with the storescu option that
proposes it; the stored file must be in the syntax that was sent and its
data set byte-identical to the source file's (dcmtk sends these files'
data sets unchanged), indexed, and announced by an ``instance.stored`` event.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.integration.test_scp_support import (
    AET,
    HOST,
    RunningScp,
    dataset_bytes,
    echo,
    running_scp,
)
from tests.support.tools import run_tool, sample_files

pytestmark = pytest.mark.peer

# Transfer syntax -> storescu option that proposes it (peers.md).
PROPOSE = {
    "1.2.840.10008.1.2": [],
    "1.2.840.10008.1.2.1": [],
    "1.2.840.10008.1.2.2": ["-xb"],
    "1.2.840.10008.1.2.1.99": ["-xd"],
    "1.2.840.10008.1.2.4.50": ["-xy"],
    "1.2.840.10008.1.2.4.51": ["-xx"],
    "1.2.840.10008.1.2.4.70": ["-xs"],
    "1.2.840.10008.1.2.4.80": ["-xt"],
    "1.2.840.10008.1.2.4.81": ["-xu"],
    "1.2.840.10008.1.2.4.90": ["-xv"],
    "1.2.840.10008.1.2.4.91": ["-xw"],
    "1.2.840.10008.1.2.5": ["-xr"],
}
# pydicom's bundled files for the syntaxes the sample set lacks (unique SOP Instance UIDs).
PYDICOM_FILES = ["JPGExtended.dcm", "JPEGLSNearLossless_16.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                 "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "693_J2KI.dcm", "SC_rgb_jpeg_gdcm.dcm"]


@pytest.fixture
def scp(tmp_path: Path):
    with running_scp(tmp_path / "home") as server:
        yield server


def syntax_of(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)


def storescu(scp: RunningScp, files: list[Path], *options: str, calling: str = "STORESCU") -> None:
    run_tool("storescu", "-nh", "-aet", calling, "-aec", AET, *options, HOST, str(scp.port),
             *map(str, files), timeout=60)


def check_stored_as_sent(scp: RunningScp, source: Path, *, exact: bool = True) -> None:
    """Stored in the sent syntax; bytes identical, or (``exact=False``) equal element by element.

    dcmtk re-encodes some of pydicom's odd files (undefined lengths become
    defined), so for those only the decoded data sets can be compared.
    """
    ds = pydicom.dcmread(source, stop_before_pixels=True)
    stored = scp.archive.index.instance_path(str(ds.SOPInstanceUID))
    assert stored is not None and stored.exists(), f"{source.name} was not indexed"
    relative = stored.relative_to(scp.archive.files.root).as_posix()
    # The size a start after a crash checks the file against (store/recovery.py).
    assert scp.archive.index.file_sizes([relative]) == {relative: stored.stat().st_size}, source.name
    assert syntax_of(stored) == str(ds.file_meta.TransferSyntaxUID), source.name
    if exact:
        assert dataset_bytes(stored) == dataset_bytes(source), f"{source.name}: data set bytes differ"
    else:
        assert header(stored) == header(source), f"{source.name}: headers differ"
        assert pixel_fragments(stored) == pixel_fragments(source), f"{source.name}: pixel data differs"


def header(path: Path) -> dict[int, object]:
    """Elements before the pixels, without group lengths (dcmtk recomputes or drops those)."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return {int(e.tag): e.value for e in ds if e.tag.element != 0}


def pixel_fragments(path: Path) -> list[bytes]:
    """The compressed frames (or the native pixel bytes) of a file."""
    ds = pydicom.dcmread(path)
    data = ds.PixelData
    if not ds.file_meta.TransferSyntaxUID.is_encapsulated:
        return [data]
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return [bytes(f) for f in pydicom.encaps.generate_frames(data, number_of_frames=frames)]


def test_echoscu(scp: RunningScp) -> None:
    echo(scp.port)
    assert scp.kinds()[:2] == ["association.requested", "association.accepted"]


def test_storescu_sample_set_in_every_syntax(scp: RunningScp) -> None:
    files = sample_files("local")
    by_syntax: dict[str, list[Path]] = {}
    for path in files:
        by_syntax.setdefault(syntax_of(path), []).append(path)
    assert len(by_syntax) >= 10
    for syntax, group in by_syntax.items():
        storescu(scp, group, *PROPOSE[syntax])
    for path in files:
        check_stored_as_sent(scp, path)
    stored = scp.of_kind("instance.stored")
    assert len(stored) == len(files)
    assert {e.transfer_syntax for e in stored} == set(by_syntax)
    assert scp.archive.index.totals()["instance"] == len(files)
    assert not scp.incoming_leftovers()


def with_study_and_series(name: str, directory: Path) -> Path:
    """pydicom's file, with Study/Series Instance UIDs added when it lacks them (C000 otherwise)."""
    source = Path(get_testdata_file(name))
    ds = pydicom.dcmread(source)
    if "StudyInstanceUID" in ds and "SeriesInstanceUID" in ds:
        return source
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or pydicom.uid.generate_uid()
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or pydicom.uid.generate_uid()
    target = directory / name
    ds.save_as(target, enforce_file_format=True)
    return target


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_storescu_pydicom_compressed_files(scp: RunningScp, name: str, tmp_path: Path) -> None:
    source = with_study_and_series(name, tmp_path)
    storescu(scp, [source], *PROPOSE[syntax_of(source)])
    check_stored_as_sent(scp, source, exact=False)


def test_prefers_the_compressed_syntax_the_sender_offers(scp: RunningScp) -> None:
    """storescu -xv proposes J2K lossless first with uncompressed beside it; we take J2K."""
    source = next(p for p in sample_files("local") if syntax_of(p) == "1.2.840.10008.1.2.4.90")
    storescu(scp, [source], "-xv")
    accepted = scp.of_kind("association.accepted")[-1]
    ct = [c for c in accepted.contexts if c.abstract_syntax == "1.2.840.10008.5.1.4.1.1.2"]
    assert ct and all(c.transfer_syntax == "1.2.840.10008.1.2.4.90" for c in ct[:1])
    check_stored_as_sent(scp, source)


def test_jpeg_process_14_sent_raw_by_pynetdicom(scp: RunningScp, tmp_path: Path) -> None:
    """JPEG Lossless process 14 (1.2.840.10008.1.2.4.57), which storescu cannot propose.

    A separate pynetdicom process sends the file's raw data set
    (STORE_SEND_CHUNKED_DATASET), so byte identity is exact by construction.
    """
    source = next(p for p in sample_files("local") if syntax_of(p) == "1.2.840.10008.1.2.4.70")
    relabelled = tmp_path / "p14.dcm"
    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.57"  # SV1 data is valid process 14 data
    ds.SOPInstanceUID = ds.SOPInstanceUID + ".57"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(relabelled, enforce_file_format=True)
    script = (
        "import sys; from pynetdicom import AE, _config; _config.STORE_SEND_CHUNKED_DATASET = True\n"
        "ae = AE(ae_title='PYSCU'); ae.add_requested_context(sys.argv[2], sys.argv[3])\n"
        "a = ae.associate('127.0.0.1', int(sys.argv[1]), ae_title='TUIPACS')\n"
        "s = a.send_c_store(sys.argv[4]); a.release(); sys.exit(0 if s.Status == 0 else 1)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(scp.port), str(ds.SOPClassUID),
                             "1.2.840.10008.1.2.4.57", str(relabelled)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "TCP_NODELAY": "1"})
    assert result.returncode == 0, result.stderr
    check_stored_as_sent(scp, relabelled)
