"""C-STORE warning statuses of our Storage SCP (PS3.4 B.2.3; DBx: B000, B006, B007 count as stored).

B006 Elements Discarded: File Meta elements (group 0002) inside the data set
are cut out of the stored file, the rest kept byte for byte. B007 Data Set
Does Not Match SOP Class: an Image Storage instance without the Image Pixel
Module's Type 1 Rows, Columns or Pixel Data is stored as sent. Senders are
real associations on loopback: pynetdicom (which sends a data set as it is
given, group 0002 included) and dcmtk's storescu.
"""

from __future__ import annotations

import copy
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)
from pynetdicom import AE
from pynetdicom.dsutils import encode

from tests.integration.test_scp_support import AET, HOST, RunningScp, dataset_bytes, running_scp
from tests.support.tools import run_tool

pytestmark = pytest.mark.peer

SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"  # not an image: no Image Pixel Module
SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian]
META = {0x00020002: SC, 0x00020010: ExplicitVRLittleEndian, 0x00020012: "1.2.3.4.5.6"}


@pytest.fixture
def scp(tmp_path: Path):
    with running_scp(tmp_path / "home") as server:
        yield server


def image(sop_class: str = SC, rows: int = 8) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "WARN"
    ds.PatientName = "Warning^Test"
    ds.Modality = "OT"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.Rows = ds.Columns = rows
    ds.SamplesPerPixel, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = (bytes(range(256)) * (rows * rows // 128 + 1))[:rows * rows * 2]
    return ds


def with_meta_elements(ds: Dataset, meta: dict[int, str] = META) -> Dataset:
    """A copy of ``ds`` carrying File Meta elements inside the data set, as some senders do."""
    bad = copy.deepcopy(ds)
    for tag, value in meta.items():
        bad.add_new(tag, "UI", value)
    return bad


def send(scp: RunningScp, ds: Dataset, syntax: str = ExplicitVRLittleEndian) -> Dataset:
    ae = AE(ae_title="PYSCU")
    ae.add_requested_context(str(ds.SOPClassUID), syntax)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate(HOST, scp.port, ae_title=AET)
    assert assoc.is_established
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    try:
        return assoc.send_c_store(ds)
    finally:
        assoc.release()


def wire_bytes(ds: Dataset, syntax: str) -> bytes:
    """The data set as pynetdicom puts it on the wire (inflated when the syntax is deflated)."""
    uid = pydicom.uid.UID(syntax)
    raw = encode(ds, uid.is_implicit_VR, uid.is_little_endian, uid.is_deflated)
    assert raw is not None
    return zlib.decompress(raw, -zlib.MAX_WBITS) if uid.is_deflated else raw


def stored_path(scp: RunningScp, ds: Dataset) -> Path:
    path = scp.archive.index.instance_path(str(ds.SOPInstanceUID))
    assert path is not None and path.exists(), "the instance was not stored and indexed"
    return path


def stored_data_set(path: Path, syntax: str) -> bytes:
    data = dataset_bytes(path)
    return zlib.decompress(data, -zlib.MAX_WBITS) if pydicom.uid.UID(syntax).is_deflated else data


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: pydicom.uid.UID(s).keyword)
def test_file_meta_elements_in_the_data_set_are_discarded_b006(scp: RunningScp, syntax: str) -> None:
    clean = image()
    status = send(scp, with_meta_elements(clean), syntax)
    assert int(status.Status) == 0xB006
    assert str(status.ErrorComment) == "discarded 3 File Meta elements"
    path = stored_path(scp, clean)
    # The data set is what was sent, less the group 0002 elements, byte for byte.
    assert stored_data_set(path, syntax) == wire_bytes(clean, syntax)
    stored = pydicom.dcmread(path)
    assert stored.file_meta.TransferSyntaxUID == syntax  # ours, not the sender's stray (0002,0010)
    assert not [e for e in stored if e.tag.group == 0x0002]
    assert stored.PixelData == clean.PixelData and stored.PatientName == "Warning^Test"
    (event,) = scp.of_kind("instance.stored")
    assert event.status == 0xB006 and event.sop_instance_uid == str(clean.SOPInstanceUID)
    assert not scp.incoming_leftovers()


def test_one_discarded_element_in_the_middle_of_a_large_data_set(scp: RunningScp) -> None:
    """Group 0002 sorts first; a lone (0002,0003) before 600 KB of pixels is cut, nothing else."""
    clean = image(rows=550)
    status = send(scp, with_meta_elements(clean, {0x00020003: str(clean.SOPInstanceUID)}))
    assert int(status.Status) == 0xB006
    assert str(status.ErrorComment) == "discarded 1 File Meta element"
    assert dataset_bytes(stored_path(scp, clean)) == wire_bytes(clean, ExplicitVRLittleEndian)


def test_image_without_pixel_data_is_stored_with_b007(scp: RunningScp, caplog: pytest.LogCaptureFixture) -> None:
    ds = image()
    del ds.PixelData
    status = send(scp, ds)
    assert int(status.Status) == 0xB007
    assert "Pixel Data" in str(status.ErrorComment) and "Rows" not in str(status.ErrorComment)
    assert dataset_bytes(stored_path(scp, ds)) == wire_bytes(ds, ExplicitVRLittleEndian)  # stored as sent
    assert [e.status for e in scp.of_kind("instance.stored")] == [0xB007]
    assert any("0xB007" in r.getMessage() and "Pixel Data" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: pydicom.uid.UID(s).keyword)
def test_image_without_rows_and_columns_is_b007(scp: RunningScp, syntax: str) -> None:
    ds = image()
    del ds.Rows
    ds.Columns = None  # present but empty: Type 1 needs a value
    status = send(scp, ds, syntax)
    assert int(status.Status) == 0xB007
    assert "Rows, Columns" in str(status.ErrorComment) and "Pixel Data" not in str(status.ErrorComment)
    assert stored_data_set(stored_path(scp, ds), syntax) == wire_bytes(ds, syntax)


def test_both_warnings_report_b007_and_name_both(scp: RunningScp) -> None:
    ds = image()
    del ds.PixelData
    status = send(scp, with_meta_elements(ds))
    assert int(status.Status) == 0xB007
    assert str(status.ErrorComment) == "image lacks Type 1 Pixel Data; discarded 3 File Meta elements"
    assert dataset_bytes(stored_path(scp, ds)) == wire_bytes(ds, ExplicitVRLittleEndian)


def test_complete_image_and_non_image_without_pixels_are_plain_success(scp: RunningScp) -> None:
    assert int(send(scp, image()).Status) == 0x0000
    plan = Dataset()
    plan.SOPClassUID, plan.SOPInstanceUID = RT_PLAN, generate_uid()
    plan.StudyInstanceUID, plan.SeriesInstanceUID = generate_uid(), generate_uid()
    plan.PatientID, plan.Modality = "WARN", "RTPLAN"
    assert int(send(scp, plan).Status) == 0x0000
    assert [e.status for e in scp.of_kind("instance.stored")] == [0, 0]


def test_storescu_gets_b007_and_counts_it_as_stored(scp: RunningScp, tmp_path: Path) -> None:
    ds = image()
    del ds.PixelData
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = SC, ds.SOPInstanceUID
    source = tmp_path / "no_pixels.dcm"
    ds.save_as(source, enforce_file_format=True)
    result = run_tool("storescu", "-v", "-aec", AET, HOST, str(scp.port), str(source), timeout=60)
    assert "Warning" in result.stdout + result.stderr
    assert "B007" in result.stdout + result.stderr or "DataSetDoesNotMatchSOPClass" in result.stdout + result.stderr
    assert dataset_bytes(stored_path(scp, ds)) == dataset_bytes(source)
