"""Retention (DBx auto-delete): by age and by quota, oldest studies first, rows and files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths
from tui_pacs.store.retention import plan_prune, prune

from .conftest import ROOT


def age_studies(archive: Archive, days_by_study: dict[int, int]) -> None:
    """Pretend each study arrived ``days`` ago (received_at drives retention)."""
    conn = archive.index.connection()
    now = datetime.now(UTC)
    for study, days in days_by_study.items():
        stamp = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn.execute("UPDATE study SET received_at = ? WHERE study_uid = ?", (stamp, f"{ROOT}.{study}"))


def setup(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    for study in (1, 2, 3):
        for instance in (1, 2):
            write_instance(study=study, instance=instance, patient_id=f"P{study}")
    assert import_paths(archive, [tmp_path / "source"]).imported == 6
    age_studies(archive, {1: 100, 2: 40, 3: 1})


def test_keep_n_days(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    setup(archive, write_instance, tmp_path)
    report = prune(archive, retention_days=30, quota_bytes=None)
    assert report.deleted_studies == [f"{ROOT}.1", f"{ROOT}.2"]
    assert archive.index.totals() == {"patient": 1, "study": 1, "series": 1, "instance": 2}
    files = [p for p in archive.files.root.rglob("*.dcm")]
    assert len(files) == 2 and all(f"{ROOT}.3" in str(p) for p in files)


def test_quota_deletes_oldest_until_under(archive: Archive, write_instance: Callable[..., Path],
                                          tmp_path: Path) -> None:
    setup(archive, write_instance, tmp_path)
    total = archive.index.total_bytes()
    per_study = total // 3
    plan = plan_prune(archive, retention_days=None, quota_bytes=total - per_study // 2)
    assert [uid for uid, _size in plan] == [f"{ROOT}.1"]
    dry = prune(archive, retention_days=None, quota_bytes=per_study, dry_run=True)
    assert dry.deleted_studies == [f"{ROOT}.1", f"{ROOT}.2"] and archive.index.totals()["study"] == 3
    prune(archive, retention_days=None, quota_bytes=per_study)
    assert archive.index.total_bytes() <= per_study and archive.index.totals()["study"] == 1


def test_nothing_to_do(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> None:
    setup(archive, write_instance, tmp_path)
    assert prune(archive, retention_days=365, quota_bytes=10**12).deleted_studies == []
