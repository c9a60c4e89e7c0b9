"""Shared by the SCU interop tests: synthetic instances, a CLI runner, a node config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from tests.support.tools import REPO_ROOT


def small_instances(directory: Path, count: int, *, study_uid: str | None = None) -> list[Path]:
    """``count`` 8x8 Secondary Capture instances in one study (about 1 KB each)."""
    directory.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    paths = []
    for number in range(1, count + 1):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.PatientName, ds.PatientID = "Bulk^Test", "BULK1"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.Modality, ds.InstanceNumber, ds.SeriesNumber = "OT", number, 1
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        ds.PixelData = bytes(range(64))
        path = directory / f"{number:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_config(home: Path, nodes: dict[str, tuple[str, int]], *, ae_title: str = "TUIPACS",
                 port: int = 11112, dimse: float = 10.0) -> None:
    """A config with our AE on loopback and ``nodes`` (name -> (AE title, port)) with short timeouts."""
    home.mkdir(parents=True, exist_ok=True)
    lines = ["[local]", f'ae_title = "{ae_title}"', 'bind = "127.0.0.1"', f"port = {port}", ""]
    for name, (aet, node_port) in nodes.items():
        lines += [f"[nodes.{name}]", f'ae_title = "{aet}"', 'host = "127.0.0.1"', f"port = {node_port}",
                  f"[nodes.{name}.timeouts]", f"dimse = {dimse}", "acse = 5", "connect = 5", "network = 30", ""]
    (home / "config.toml").write_text("\n".join(lines))


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real ``tui-pacs`` entry point in a subprocess with ``TUI_PACS_HOME=home``."""
    env = dict(os.environ, TUI_PACS_HOME=str(home))
    env.pop("TUI_PACS_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "tui_pacs", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
