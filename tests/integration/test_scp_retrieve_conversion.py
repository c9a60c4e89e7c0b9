"""C-MOVE and C-GET from our SCP to dcmtk peers that accept only little endian uncompressed.

The archive stores instances as they were sent: Explicit VR Big Endian,
JPEG 2000 (lossless and lossy), RLE, JPEG-LS, JPEG, deflated. A destination
that takes none of those must still get each instance, converted
(decompressed or byte-swapped) to a syntax it accepted, with the same
pixels: received files are decoded and compared with the originals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from tests.integration.test_scp_support import (
    AET,
    HOST,
    RunningScp,
    make_config,
    node,
    running_scp,
    with_nodes,
)
from tests.support.process import PeerProcess
from tests.support.tools import dcmtk_env, free_port, require_tool, run_tool, sample_files
from tui_pacs.config.model import RemoteNode, Timeouts
from tui_pacs.net.conversion import choose_context
from tui_pacs.net.scu.store import StoreItem, send_c_store
from tui_pacs.store.importer import import_paths

pytestmark = pytest.mark.peer

FILES = sample_files("local")
PATIENTS = ("TP0001", "TP0003", "TP0004", "TP0005")  # big endian, RLE, JPEG, JPEG 2000, JPEG-LS, deflated
# What must be converted on the way, at least: the big endian, JPEG 2000 and RLE.
MUST_CONVERT = {ExplicitVRBigEndian, "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.5"}


def header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


def originals(patients: tuple[str, ...] = PATIENTS) -> dict[str, Path]:
    """SOP Instance UID -> sample file, for the patients' studies."""
    return {str(header(p).SOPInstanceUID): p for p in FILES if p.parts[-3] in patients}


def study_uids(patients: tuple[str, ...] = PATIENTS) -> list[str]:
    return sorted({str(header(p).StudyInstanceUID) for p in FILES if p.parts[-3] in patients})


@contextmanager
def implicit_only_storescp(base: Path, aet: str) -> Iterator[tuple[int, Path]]:
    """dcmtk storescp with ``+xi``: it accepts Implicit VR Little Endian only."""
    exe = require_tool("storescp")
    base.mkdir(parents=True)
    storage = base / "in"
    storage.mkdir()
    port = free_port()
    process = PeerProcess("storescp-implicit", [exe, "--aetitle", aet, "+xi", "-od", str(storage), str(port)],
                          workdir=base, env=dcmtk_env())
    try:
        process.wait_for_port(port)
        yield port, storage
    finally:
        process.stop()


@pytest.fixture(scope="module")
def scp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningScp]:
    base = tmp_path_factory.mktemp("conversion")
    with implicit_only_storescp(base / "dest", "IMPLICIT") as (port, storage):
        config = with_nodes(make_config(free_port()), node("implicit", "IMPLICIT", port))
        with running_scp(base / "home", config) as server:
            import_paths(server.archive, FILES)
            server.dest_storage = storage  # type: ignore[attr-defined]
            yield server


def assert_same_instances(received: list[Path], expected: dict[str, Path], syntax: str) -> set[str]:
    """Every received file is an expected instance in ``syntax`` with the original's pixels;
    returns the original transfer syntaxes that were converted."""
    converted: set[str] = set()
    for path in received:
        got = pydicom.dcmread(path)
        source = expected[str(got.SOPInstanceUID)]
        original = pydicom.dcmread(source)
        assert got.file_meta.TransferSyntaxUID == syntax, path.name
        assert got.PatientName == original.PatientName and got.StudyDescription == original.StudyDescription
        assert got.Rows == original.Rows and got.Columns == original.Columns
        assert np.array_equal(got.pixel_array, original.pixel_array), f"pixels of {source.name} differ"
        converted.add(str(original.file_meta.TransferSyntaxUID))
    return converted


def test_move_converts_for_an_implicit_only_destination(scp: RunningScp) -> None:
    storage: Path = scp.dest_storage  # type: ignore[attr-defined]
    expected = originals()
    result = run_tool("movescu", "-v", "-aec", AET, "-aem", "IMPLICIT", "-S", "-k", "QueryRetrieveLevel=STUDY",
                      "-k", "StudyInstanceUID=" + "\\".join(study_uids()), HOST, str(scp.port), timeout=120)
    received = sorted(storage.iterdir())
    assert len(received) == len(expected), result.stdout + result.stderr
    assert {str(header(p).SOPInstanceUID) for p in received} == set(expected)
    converted = assert_same_instances(received, expected, ImplicitVRLittleEndian)
    assert MUST_CONVERT <= converted
    served = [e for e in scp.of_kind("query.served") if e.service == "C-MOVE"]
    assert served[-1].matches == len(expected) and served[-1].status == 0


def test_get_converts_for_an_explicit_little_endian_only_requestor(scp: RunningScp, tmp_path: Path) -> None:
    """getscu +xi: dcmtk 3.6.7 then proposes its Storage SCP role with Explicit VR Little Endian
    alone (not big endian, nothing compressed), on the C-GET association itself."""
    out = tmp_path / "get"
    out.mkdir()
    expected = originals()
    result = run_tool("getscu", "-v", "+xi", "-aec", AET, "-S", "-od", str(out), "-k", "QueryRetrieveLevel=STUDY",
                      "-k", "StudyInstanceUID=" + "\\".join(study_uids()), HOST, str(scp.port), timeout=120,
                      check=False)
    accepted = scp.of_kind("association.accepted")[-1]
    storage = [c for c in accepted.contexts if c.scu_role]  # we send as the Storage SCU on these
    assert storage and {c.transfer_syntax for c in storage} == {ExplicitVRLittleEndian}
    # getscu proposes a fixed list of storage classes; ours that it left out fail (PS3.4 C.4.3.3.1).
    proposed = {c.abstract_syntax for c in storage}
    wanted = {uid: p for uid, p in expected.items() if str(header(p).SOPClassUID) in proposed}
    received = sorted(out.iterdir())
    assert {str(header(p).SOPInstanceUID) for p in received} == set(wanted), result.stdout + result.stderr
    converted = assert_same_instances(received, wanted, ExplicitVRLittleEndian)
    assert MUST_CONVERT <= converted
    assert len(wanted) < len(expected) or result.returncode == 0
    served = [e for e in scp.of_kind("query.served") if e.service == "C-GET"][-1]
    left_out = len(expected) - len(wanted)
    assert (served.completed, served.failed) == (len(wanted), left_out)
    assert served.status == (0xB000 if left_out else 0x0000)


def test_choose_context_converts_to_little_endian_not_to_big() -> None:
    """A big endian context is no fallback: we convert only to little endian syntaxes."""
    from pynetdicom.presentation import PresentationContext

    def accepted(syntax: str, cx_id: int) -> PresentationContext:
        cx = PresentationContext()
        cx.context_id, cx.abstract_syntax, cx.transfer_syntax = cx_id, "1.2.840.10008.5.1.4.1.1.2", [syntax]
        return cx

    big, explicit = accepted(ExplicitVRBigEndian, 1), accepted(ExplicitVRLittleEndian, 3)
    assert choose_context([big, explicit], "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.4.90") == (explicit, True)
    assert choose_context([big, explicit], "1.2.840.10008.5.1.4.1.1.2", ExplicitVRBigEndian) == (big, False)
    with pytest.raises(Exception, match="accepted no context"):
        choose_context([big], "1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.4.90")


def test_scu_send_converts_the_same_way(tmp_path: Path) -> None:
    """The C-STORE SCU shares the conversion: same instances (same SOP Instance UIDs), same pixels."""
    expected = originals()
    items = [StoreItem.from_file(path) for path in expected.values()]
    with implicit_only_storescp(tmp_path / "dest", "IMPLICIT") as (port, storage):
        peer = RemoteNode("implicit", "IMPLICIT", HOST, port, timeouts=Timeouts(dimse=10, acse=5, connect=5))
        counts = send_c_store("TUIPACS", peer, items)
        assert (counts.completed, counts.failed) == (len(items), 0)
        received = sorted(storage.iterdir())
        assert {str(header(p).SOPInstanceUID) for p in received} == set(expected)
        assert MUST_CONVERT <= assert_same_instances(received, expected, ImplicitVRLittleEndian)
