"""The query engine against a real SQLite index: PS3.4 C.2.2.2 matching, level by level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import InvalidQuery
from tui_pacs.store.archive import Archive
from tui_pacs.store.importer import import_paths
from tui_pacs.store.query import Query, build_select

from .conftest import ROOT, MRImageStorage


@pytest.fixture
def populated(archive: Archive, write_instance: Callable[..., Path], tmp_path: Path) -> Archive:
    # Three patients, four studies, mixed modalities, dates, times and names.
    write_instance(study=1, series=1, instance=1, patient_id="P1", name="Doe^John", study_date="20200115",
                   study_time="101500", accession="A-100", description="HEAD")
    write_instance(study=1, series=1, instance=2, patient_id="P1", name="Doe^John", study_date="20200115",
                   study_time="101500", accession="A-100", description="HEAD")
    write_instance(study=1, series=2, instance=1, patient_id="P1", name="Doe^John", modality="MR",
                   sop_class=MRImageStorage, study_date="20200115", study_time="101500", accession="A-100",
                   description="HEAD")
    write_instance(study=2, series=1, instance=1, patient_id="P1", name="Doe^John", study_date="20210301",
                   study_time="230000", accession="A-200", description="CHEST")
    write_instance(study=3, series=1, instance=1, patient_id="P2", name="Doering^Jane", modality="MR",
                   sop_class=MRImageStorage, study_date="20210302", study_time="020000", accession="B-1",
                   description="KNEE[L]")
    write_instance(study=4, series=1, instance=1, patient_id="P3", name="Smith^Anna", modality="US",
                   study_date="20221231", study_time="", accession="C-1", description="ABDOMEN")
    report = import_paths(archive, [tmp_path / "source"])
    assert report.ok and report.imported == 6, report
    return archive


def study_uids(archive: Archive, **keys: str) -> set[str]:
    rows = archive.index.find(Query(Level.STUDY, keys))
    return {r["StudyInstanceUID"][len(ROOT) + 1:] for r in rows}


def test_universal_match_returns_everything(populated: Archive) -> None:
    assert study_uids(populated) == {"1", "2", "3", "4"}
    assert study_uids(populated, PatientName="*") == {"1", "2", "3", "4"}


def test_single_value_and_case_insensitive_person_name(populated: Archive) -> None:
    assert study_uids(populated, PatientID="P1") == {"1", "2"}
    assert study_uids(populated, PatientName="doe^john") == {"1", "2"}
    assert study_uids(populated, AccessionNumber="B-1") == {"3"}
    assert study_uids(populated, AccessionNumber="b-1") == set()  # SH is case-sensitive


def test_wildcards(populated: Archive) -> None:
    assert study_uids(populated, PatientName="DOE*") == {"1", "2", "3"}
    assert study_uids(populated, PatientName="Doe^*") == {"1", "2"}
    assert study_uids(populated, PatientName="?mith*") == {"4"}
    assert study_uids(populated, StudyDescription="KNEE[L]") == {"3"}  # '[' is not a GLOB class here
    assert study_uids(populated, StudyDescription="*[L]") == {"3"}


def test_date_ranges(populated: Archive) -> None:
    assert study_uids(populated, StudyDate="20210101-20211231") == {"2", "3"}
    assert study_uids(populated, StudyDate="-20201231") == {"1"}
    assert study_uids(populated, StudyDate="20210302-") == {"3", "4"}
    assert study_uids(populated, StudyDate="20221231") == {"4"}


def test_time_ranges_and_empty_values(populated: Archive) -> None:
    assert study_uids(populated, StudyTime="1000-1100") == {"1"}
    assert study_uids(populated, StudyTime="-03") == {"3"}  # up to the end of hour 03
    assert "4" not in study_uids(populated, StudyTime="0000-2359")  # empty time never in a range


def test_combined_date_time_range(populated: Archive) -> None:
    # From 2021-03-01 22:00 to 2021-03-02 06:00: study 2 (23:00 on the 1st) and 3 (02:00 on the 2nd).
    query = Query(Level.STUDY, {"StudyDate": "20210301-20210302", "StudyTime": "2200-0600"},
                  combined_datetime=True)
    uids = {r["StudyInstanceUID"].rsplit(".", 1)[1] for r in populated.index.find(query)}
    assert uids == {"2", "3"}
    independent = Query(Level.STUDY, {"StudyDate": "20210301-20210302", "StudyTime": "2200-0600"})
    assert populated.index.find(independent) == []  # 22:00-06:00 as a plain time range is empty


def test_uid_list_matching(populated: Archive) -> None:
    assert study_uids(populated, StudyInstanceUID=f"{ROOT}.1\\{ROOT}.4") == {"1", "4"}
    with pytest.raises(InvalidQuery):
        study_uids(populated, StudyInstanceUID="1.2.*")


def test_modalities_and_sop_classes_in_study(populated: Archive) -> None:
    assert study_uids(populated, ModalitiesInStudy="MR") == {"1", "3"}
    assert study_uids(populated, ModalitiesInStudy="US\\CT") == {"1", "2", "4"}
    rows = populated.index.find(Query(Level.STUDY, {"StudyInstanceUID": f"{ROOT}.1", "ModalitiesInStudy": "",
                                                    "SOPClassesInStudy": ""}))
    assert rows[0]["ModalitiesInStudy"] == "CT\\MR"
    assert set(rows[0]["SOPClassesInStudy"].split("\\")) == {"1.2.840.10008.5.1.4.1.1.2", MRImageStorage}


def test_counts_at_every_level(populated: Archive) -> None:
    patient = populated.index.find(Query(Level.PATIENT, {"PatientID": "P1", "NumberOfPatientRelatedStudies": "",
                                                          "NumberOfPatientRelatedSeries": "",
                                                          "NumberOfPatientRelatedInstances": ""},
                                         root=Root.PATIENT))
    assert patient[0]["NumberOfPatientRelatedStudies"] == 2
    assert patient[0]["NumberOfPatientRelatedSeries"] == 3
    assert patient[0]["NumberOfPatientRelatedInstances"] == 4
    study = populated.index.find(Query(Level.STUDY, {"StudyInstanceUID": f"{ROOT}.1",
                                                     "NumberOfStudyRelatedSeries": "",
                                                     "NumberOfStudyRelatedInstances": ""}))
    assert (study[0]["NumberOfStudyRelatedSeries"], study[0]["NumberOfStudyRelatedInstances"]) == (2, 3)


def test_delete_keeps_counts_and_derived_values_right(populated: Archive) -> None:
    files = populated.index.delete(Query(Level.SERIES, {"SeriesInstanceUID": f"{ROOT}.1.2"}))
    populated.delete_paths(files)
    assert len(files) == 1 and not (populated.files.root / files[0]).exists()
    row = populated.index.find(Query(Level.STUDY, {"StudyInstanceUID": f"{ROOT}.1", "ModalitiesInStudy": "",
                                                   "SOPClassesInStudy": "", "NumberOfStudyRelatedSeries": "",
                                                   "NumberOfStudyRelatedInstances": ""}))[0]
    assert row["ModalitiesInStudy"] == "CT"
    assert study_uids(populated, ModalitiesInStudy="MR") == {"3"}  # the indexed modality rows follow deletes
    assert row["SOPClassesInStudy"] == "1.2.840.10008.5.1.4.1.1.2"
    assert (row["NumberOfStudyRelatedSeries"], row["NumberOfStudyRelatedInstances"]) == (1, 2)
    populated.index.delete(Query(Level.PATIENT, {"PatientID": "P1"}, root=Root.PATIENT))
    assert populated.index.totals() == {"patient": 2, "study": 2, "series": 2, "instance": 2}


def test_series_and_image_levels(populated: Archive) -> None:
    series = populated.index.find(Query(Level.SERIES, {"StudyInstanceUID": f"{ROOT}.1", "Modality": "",
                                                       "NumberOfSeriesRelatedInstances": ""}))
    assert [(s["Modality"], s["NumberOfSeriesRelatedInstances"]) for s in series] == [("CT", 2), ("MR", 1)]
    images = populated.index.find(Query(Level.IMAGE, {"SeriesInstanceUID": f"{ROOT}.1.1", "InstanceNumber": "2"}))
    assert [i["SOPInstanceUID"] for i in images] == [f"{ROOT}.1.1.2"]


def test_patient_root_levels_and_invalid_combinations() -> None:
    with pytest.raises(InvalidQuery):
        Query(Level.PATIENT, {}, root=Root.STUDY)  # study root has no patient level
    with pytest.raises(InvalidQuery):
        Query(Level.STUDY, {"Modality": "CT"})  # a series key below the study level
    with pytest.raises(InvalidQuery):
        Query(Level.STUDY, {"NoSuchKeyword": "x"})
    with pytest.raises(InvalidQuery):
        Query(Level.STUDY, {"StudyDate": "2020-01-01-2020"})


def test_values_are_bound_never_interpolated(populated: Archive) -> None:
    hostile = "x' OR '1'='1"
    select = build_select(Query(Level.STUDY, {"PatientID": hostile}))
    assert hostile not in select.sql and hostile in select.params
    assert study_uids(populated, PatientID=hostile) == set()


def test_paging_is_done_by_sqlite(populated: Archive) -> None:
    query = Query(Level.STUDY, {"StudyDate": ""})
    first = populated.index.find(query, order=[("StudyDate", False)], limit=2)
    second = populated.index.find(query, order=[("StudyDate", False)], limit=2, offset=2)
    assert [r["StudyDate"] for r in first + second] == ["20200115", "20210301", "20210302", "20221231"]
    assert populated.index.count(query) == 4
