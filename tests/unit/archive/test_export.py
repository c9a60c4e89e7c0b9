"""Media FSC: export to a DICOMDIR file-set per profile; dcmtk reads it; re-import gives the same UIDs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from tests.support.tools import require_tool
from tui_pacs.config.model import ArchiveSettings
from tui_pacs.domain.attributes import Level
from tui_pacs.domain.media import EXPLICIT_LE, J2K_LOSSLESS, media_profile
from tui_pacs.store.archive import Archive
from tui_pacs.store.errors import StoreError
from tui_pacs.store.exporter import export_fileset
from tui_pacs.store.importer import import_paths
from tui_pacs.store.query import Query


@pytest.fixture
def mixed_archive(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> Archive:
    write_instance(instance=1, PatientID="")  # a missing Type 1 directory key must not stop the export
    write_instance(instance=2)
    sources = [tmp_path / "source"]
    # Only files pydicom bundles: asking for any other name makes it try to download.
    sources += [Path(get_testdata_file(n)) for n in ("JPEG2000.dcm", "MR_small_bigendian.dcm", "SC_rgb_rle.dcm",
                                                    "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jpeg_ls_lossless.dcm")]
    report = import_paths(archive, sources)
    assert report.ok, report.failures
    return archive


def instance_uids(archive: Archive) -> set[str]:
    return {r["SOPInstanceUID"] for r in archive.index.find(Query(Level.IMAGE, {}))}


def transfer_syntaxes(root: Path) -> dict[str, str]:
    result = {}
    for path in root.rglob("*"):
        if path.is_file() and path.name != "DICOMDIR":
            ds = dcmread(path, stop_before_pixels=True)
            result[str(ds.SOPInstanceUID)] = str(ds.file_meta.TransferSyntaxUID)
    return result


@pytest.mark.parametrize("profile", ["STD-GEN-CD", "STD-GEN-USB-J2K", "STD-GEN-DVD-JPEG"])
def test_export_reads_back_in_dcmtk_and_reimports_same_uids(mixed_archive: Archive, tmp_path: Path,
                                                           paths, profile: str) -> None:
    dcmdump = require_tool("dcmdump")
    chosen = media_profile(profile)
    files = mixed_archive.index.instance_files(Query(Level.STUDY, {}))
    target = tmp_path / "media"
    report = export_fileset(files, target, chosen)
    assert report.skipped == [] and report.exported == len(files)

    dump = subprocess.run([dcmdump, str(target / "DICOMDIR")], capture_output=True, text=True, check=True)
    assert "DirectoryRecordSequence" in dump.stdout
    assert dump.stdout.count("(0004,1430) CS [IMAGE]") == len(files)
    for uid, syntax in transfer_syntaxes(target).items():
        assert syntax in chosen.allowed, (uid, syntax)
    if chosen.encode_to == J2K_LOSSLESS:
        assert J2K_LOSSLESS in transfer_syntaxes(target).values()
    if profile == "STD-GEN-CD":
        assert set(transfer_syntaxes(target).values()) == {EXPLICIT_LE}

    fresh = Archive(tmp_path / "again.sqlite", tmp_path / "again", ArchiveSettings())
    fresh.files.ensure()
    fresh.index.open()
    again = import_paths(fresh, [target / "DICOMDIR"])
    assert again.ok, again.failures
    assert instance_uids(fresh) == instance_uids(mixed_archive)
    fresh.close()


def test_lossless_conversion_keeps_pixels(mixed_archive: Archive, tmp_path: Path) -> None:
    files = mixed_archive.index.instance_files(Query(Level.IMAGE, {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7"}))
    export_fileset(files, tmp_path / "cd", media_profile("STD-GEN-CD"))
    for uid, _cls, _ts, original_path in files:
        exported = next(p for p in (tmp_path / "cd").rglob("*") if p.is_file() and p.name != "DICOMDIR"
                        and dcmread(p, stop_before_pixels=True).SOPInstanceUID == uid)
        assert (dcmread(exported).pixel_array == dcmread(original_path).pixel_array).all()


def test_ctmr_profile_skips_other_classes_with_a_reason(mixed_archive: Archive, tmp_path: Path) -> None:
    files = mixed_archive.index.instance_files(Query(Level.STUDY, {}))
    report = export_fileset(files, tmp_path / "ctmr", media_profile("STD-CTMR-CD"))
    assert report.exported >= 3
    assert report.skipped == [] or all("not allowed" in reason for _uid, reason in report.skipped)


def test_refuses_a_non_empty_destination(mixed_archive: Archive, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(StoreError):
        export_fileset(mixed_archive.index.instance_files(Query(Level.STUDY, {})), tmp_path / "busy",
                       media_profile("STD-GEN-CD"))
