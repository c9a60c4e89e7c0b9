#!/usr/bin/env python3
"""Generate the synthetic, deterministic sample DICOM set in ``sample_data/``.

Run from anywhere: ``python scripts/make_sample_data.py [OUTPUT_DIR]``.
Needs numpy, pydicom 3, Pillow, pylibjpeg-openjpeg and dcmtk (``dcmcjpeg``,
``dcmcjpls``, ``dcmconv``, ``dcmdump``). No real patients: every image is a
numpy phantom. UIDs come from a fixed root plus counters, dates are fixed and
random generators seeded, so rerunning reproduces the same files byte for
byte; that keeps the committed set reviewable in git.

After writing, every file is checked twice: ``dcmdump`` must parse it
without complaint, and pydicom must decode its pixels back to what was
encoded (exactly for lossless syntaxes, closely for lossy ones).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import JPEG2000, PYDICOM_IMPLEMENTATION_UID, UID, JPEGBaseline8Bit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sample_encode
from sample_catalogue import SETS, UID_ROOT, Series, Study
from sample_modalities import BUILDERS

log = logging.getLogger("make_sample_data")

LOSSY = {JPEG2000, JPEGBaseline8Bit}
SET_NUMBER = {"local": 1, "remote": 2}


@dataclass
class Written:
    """One generated file and what the README says about it."""

    path: Path
    study: Study
    series: Series
    syntax: UID
    ds: Dataset
    pixels: np.ndarray


def uid(*counters: int) -> str:
    """A deterministic UID: the fixed root followed by the given counters."""
    return UID_ROOT + ".".join(str(c) for c in counters)


def _patient_and_study(ds: Dataset, study: Study, set_no: int, study_no: int) -> None:
    if study.patient.charset:
        ds.SpecificCharacterSet = study.patient.charset
    ds.PatientName = study.patient.name
    ds.PatientID = study.patient.patient_id
    ds.IssuerOfPatientID = "TUIPACS-DEMO"
    ds.PatientBirthDate = study.patient.birth_date
    ds.PatientSex = study.patient.sex
    ds.StudyInstanceUID = uid(set_no, 1, study_no)
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study.date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = study.time
    ds.AccessionNumber = study.accession
    ds.StudyID = f"{study_no}"
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = "Referrer^Demo"
    ds.InstitutionName = "tui-pacs Demo Hospital"
    ds.Manufacturer = "tui-pacs synthetic phantom"
    ds.ManufacturerModelName = "make_sample_data.py"
    ds.StationName = "PHANTOM1"
    ds.PatientIdentityRemoved = "YES"  # not a real patient; a hint for any tool that checks


def build_instance(study: Study, series: Series, set_no: int, study_no: int,
                   series_no: int, instance_no: int) -> tuple[Dataset, np.ndarray]:
    """One complete dataset (header and pixels) for the given position in the catalogue."""
    sop_class, builder = BUILDERS[series.kind]
    ds = Dataset()
    _patient_and_study(ds, study, set_no, study_no)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid(set_no, 3, study_no, series_no, instance_no)
    ds.SeriesInstanceUID = uid(set_no, 2, study_no, series_no)
    ds.FrameOfReferenceUID = uid(set_no, 4, study_no, series_no)
    ds.SeriesNumber = series_no
    ds.InstanceNumber = instance_no
    ds.AcquisitionNumber = 1
    ds.SeriesDescription = series.description
    ds.Laterality = ""
    seed = set_no * 1_000_000 + study_no * 10_000 + series_no * 100 + instance_no
    pixels = builder(ds, instance_no - 1, seed)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return ds, pixels


def generate(out: Path) -> list[Written]:
    """Write both sets below ``out``; return what was written, in catalogue order."""
    written: list[Written] = []
    for set_name, studies in SETS.items():
        set_dir = out / set_name
        if set_dir.exists():
            shutil.rmtree(set_dir)
        set_no = SET_NUMBER[set_name]
        for study_no, study in enumerate(studies, start=1):
            study_dir = set_dir / study.patient.patient_id / f"{study.date}_{study.accession}"
            for series_no, series in enumerate(study.series, start=1):
                for instance_no, syntax in enumerate(series.syntaxes, start=1):
                    ds, pixels = build_instance(study, series, set_no, study_no,
                                                series_no, instance_no)
                    name = f"S{series_no:02d}_{ds.Modality}_{instance_no:03d}.dcm"
                    path = study_dir / name
                    sample_encode.write(ds, pixels, syntax, path)
                    written.append(Written(path, study, series, syntax, ds, pixels))
                    log.info("wrote %s", path)
    return written


def verify(item: Written) -> None:
    """dcmdump must parse the file cleanly; pydicom must decode the pixels we encoded."""
    env = dict(os.environ, TCP_NODELAY="1")
    run = subprocess.run(["dcmdump", str(item.path)], env=env,
                         capture_output=True, text=True, errors="replace", check=False)
    if run.returncode != 0 or run.stderr.strip():
        raise SystemExit(f"dcmdump rejects {item.path}: {run.stderr.strip()}")
    ds = pydicom.dcmread(item.path)
    if str(ds.PatientName) != item.study.patient.name:
        raise SystemExit(f"{item.path}: name reads back as {ds.PatientName!r}")
    decoded = ds.pixel_array
    expected = item.pixels
    if decoded.shape != expected.shape:
        raise SystemExit(f"{item.path}: shape {decoded.shape} != {expected.shape}")
    if item.syntax in LOSSY:
        error = np.abs(decoded.astype(np.float64) - expected.astype(np.float64)).mean()
        limit = 0.02 * float(np.ptp(expected)) + 1.0
        if error > limit:
            raise SystemExit(f"{item.path}: lossy error {error:.2f} > {limit:.2f}")
    elif not np.array_equal(decoded, expected):
        raise SystemExit(f"{item.path}: lossless decode differs from the source pixels")


def _charset_label(study: Study) -> str:
    charset = study.patient.charset
    return "\\".join(charset) if charset else "(default repertoire)"


def _pixel_label(item: Written) -> str:
    ds = item.ds
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    size = f"{ds.Columns}x{ds.Rows}" + (f"x{frames}f" if frames > 1 else "")
    return f"{size}, {ds.BitsStored}/{ds.BitsAllocated} bit, {ds.PhotometricInterpretation}"


def write_readme(out: Path, written: list[Written]) -> None:
    """Describe every file: a table per set, generated so it never drifts from the data."""
    total = sum(item.path.stat().st_size for item in written)
    lines = [
        "# Sample data",
        "",
        ("Synthetic DICOM files for demos and tests, generated by "
         "`scripts/make_sample_data.py` (do not edit by hand; rerun the script)."),
        ("No real patients: the pixels are numpy phantoms, names are invented, "
         f"UIDs come from the fixed root `{UID_ROOT}` plus counters, so a rerun "
         "reproduces the same files."),
        "",
        "- `local/` is what the demo imports into its own archive.",
        "- `remote/` is what the demo PACS node serves (different patients).",
        "",
        f"{len(written)} files, {total / 1_000_000:.2f} MB in total.",
        "Layout: `SET/PATIENT_ID/STUDYDATE_ACCESSION/Sseries_MODALITY_instance.dcm`.",
    ]
    for set_name in SETS:
        items = [w for w in written if w.path.relative_to(out).parts[0] == set_name]
        patients = {w.study.patient.patient_id for w in items}
        studies = {w.ds.StudyInstanceUID for w in items}
        lines += ["", f"## {set_name}", "",
                  f"{len(patients)} patients, {len(studies)} studies, {len(items)} files.", "",
                  "| file | patient | charset | study | modality | transfer syntax | pixels | bytes |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for w in items:
            rel = w.path.relative_to(out / set_name).as_posix()
            lines.append(
                f"| `{rel}` | {w.study.patient.name} ({w.study.patient.patient_id}) "
                f"| {_charset_label(w.study)} | {w.study.description} | {w.ds.Modality} "
                f"| {sample_encode.SHORT_NAMES[w.syntax]} (`{w.syntax}`) | {_pixel_label(w)} "
                f"| {w.path.stat().st_size} |"
            )
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "sample_data"
    parser.add_argument("out", nargs="?", type=Path, default=default)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    for tool in ("dcmdump", "dcmconv", "dcmcjpeg", "dcmcjpls"):
        if shutil.which(tool) is None:
            print(f"{tool} not found: install dcmtk (apt-get install dcmtk)", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written = generate(args.out)
    for item in written:
        verify(item)
    write_readme(args.out, written)
    total = sum(item.path.stat().st_size for item in written)
    print(f"{len(written)} files, {total / 1_000_000:.2f} MB, verified, in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
