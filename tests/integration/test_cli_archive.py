"""The headless archive commands, run as a user runs them: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.data import get_charset_files, get_testdata_file

REPO = Path(__file__).resolve().parents[2]


def run(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TUI_PACS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "tui_pacs", *args], capture_output=True, text=True, env=env,
                           input=input, timeout=120, cwd=REPO)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_import_ls_delete_round_trip(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"DICM? no")
    files = [get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm"), str(bad),
             *get_charset_files("chrH31.dcm")]
    result = run(home, "import", *files)
    assert result.returncode == 1  # one bad file
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert error_lines == [f"{bad}: not a DICOM file (no DICM prefix and no SOP Instance UID)"]
    assert "Traceback" not in result.stderr
    assert "imported 3 instances" in result.stdout

    again = run(home, "import", *files[:2])
    assert again.returncode == 0 and "imported 0 instances" in again.stdout and "2 already present" in again.stdout

    listing = run(home, "ls", "--json", "-k", "PatientName=*山田*")
    assert listing.returncode == 0
    rows = json.loads(listing.stdout)
    assert [r["PatientName"] for r in rows] == ["Yamada^Tarou=山田^太郎=やまだ^たろう"]

    series = json.loads(run(home, "ls", "--level", "series", "--json", "-k", "Modality=CT").stdout)
    assert len(series) == 1 and series[0]["NumberOfSeriesRelatedInstances"] == 1
    study_uid = json.loads(run(home, "ls", "--json", "-k", "ModalitiesInStudy=MR").stdout)[0]["StudyInstanceUID"]

    deleted = run(home, "delete", "--study", study_uid, "--yes")
    assert deleted.returncode == 0 and "deleted 1 instances" in deleted.stdout
    assert json.loads(run(home, "ls", "--json", "-k", f"StudyInstanceUID={study_uid}").stdout) == []
    missing = run(home, "delete", "--study", study_uid, "--yes")
    assert missing.returncode == 1 and "no study" in missing.stderr


def test_bad_query_is_one_line(home: Path) -> None:
    result = run(home, "ls", "-k", "StudyDate=yesterday")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: Invalid query: StudyDate: 'yesterday' is not a date (YYYYMMDD)"


def test_bad_config_exits_2_naming_file_and_key(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[local]\nae_title = "THIS_AE_IS_FAR_TOO_LONG"\n', encoding="utf-8")
    result = run(home, "ls")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(home / "config.toml") in lines[0] and "local.ae_title" in lines[0]


def test_config_show_and_path(home: Path) -> None:
    shown = json.loads(run(home, "config", "show", "--json").stdout)
    assert shown["local"]["port"] == 11112
    path = run(home, "config", "path").stdout
    assert str(home / "config.toml") in path


def test_export_then_dcmdump_reads_dicomdir(home: Path, tmp_path: Path) -> None:
    from tests.support.tools import require_tool

    dcmdump = require_tool("dcmdump")
    run(home, "import", get_testdata_file("CT_small.dcm"), get_testdata_file("JPEG2000.dcm"))
    exported = run(home, "export", "--to", str(tmp_path / "cd"), "-k", "PatientName=*")
    assert exported.returncode == 0, exported.stderr
    dump = subprocess.run([dcmdump, str(tmp_path / "cd" / "DICOMDIR")], capture_output=True, text=True)
    assert dump.returncode == 0 and dump.stdout.count("[IMAGE]") == 2


def test_prune_by_quota(home: Path) -> None:
    # 39 KB + 10 KB against a 40 KB quota: removing either study is enough.
    run(home, "import", get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm"))
    dry = run(home, "prune", "--quota-gb", "0.00004", "--dry-run")
    assert dry.returncode == 0 and "would delete 1 studies" in dry.stdout
    done = run(home, "prune", "--quota-gb", "0.00004")
    assert "deleted 1 studies" in done.stdout
    assert len(json.loads(run(home, "ls", "--json").stdout)) == 1


def test_demo_headless_lists_the_sample_studies() -> None:
    result = subprocess.run([sys.executable, "-m", "tui_pacs", "demo", "--headless"], capture_output=True,
                            text=True, timeout=180, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout and "StudyInstanceUID" in result.stdout
    imported = int(result.stdout.split("imported ")[1].split()[0])
    assert imported > 10
