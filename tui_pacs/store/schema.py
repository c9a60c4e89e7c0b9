"""The SQLite schema of the index, versioned with ``PRAGMA user_version``.

Derived values (the Number of ... Related ... counts, ModalitiesInStudy and
SOPClassesInStudy) are kept by triggers, so they stay correct on every
insert and delete whoever issues it. Migrations are applied in order and
each runs in one transaction.
"""

from __future__ import annotations

import sqlite3

from tui_pacs.store.errors import IndexCorrupt

_V1 = r"""
CREATE TABLE patient (
    pk              INTEGER PRIMARY KEY,
    patient_id      TEXT NOT NULL,
    issuer          TEXT NOT NULL DEFAULT '',
    patient_name    TEXT NOT NULL DEFAULT '',
    patient_name_ci TEXT NOT NULL DEFAULT '',
    birth_date      TEXT NOT NULL DEFAULT '',
    birth_time      TEXT NOT NULL DEFAULT '',
    sex             TEXT NOT NULL DEFAULT '',
    other_ids       TEXT NOT NULL DEFAULT '',
    ethnic_group    TEXT NOT NULL DEFAULT '',
    comments        TEXT NOT NULL DEFAULT '',
    num_studies     INTEGER NOT NULL DEFAULT 0,
    num_series      INTEGER NOT NULL DEFAULT 0,
    num_instances   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (patient_id, issuer)
);
CREATE INDEX patient_name_ci_idx ON patient (patient_name_ci);

CREATE TABLE study (
    pk              INTEGER PRIMARY KEY,
    patient_pk      INTEGER NOT NULL REFERENCES patient (pk) ON DELETE CASCADE,
    study_uid       TEXT NOT NULL UNIQUE,
    study_date      TEXT NOT NULL DEFAULT '',
    study_time      TEXT NOT NULL DEFAULT '',
    accession       TEXT NOT NULL DEFAULT '',
    study_id        TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    referring       TEXT NOT NULL DEFAULT '',
    referring_ci    TEXT NOT NULL DEFAULT '',
    reading         TEXT NOT NULL DEFAULT '',
    reading_ci      TEXT NOT NULL DEFAULT '',
    patient_age     TEXT NOT NULL DEFAULT '',
    patient_size    TEXT NOT NULL DEFAULT '',
    patient_weight  TEXT NOT NULL DEFAULT '',
    modalities      TEXT NOT NULL DEFAULT '',
    sop_classes     TEXT NOT NULL DEFAULT '',
    num_series      INTEGER NOT NULL DEFAULT 0,
    num_instances   INTEGER NOT NULL DEFAULT 0,
    total_bytes     INTEGER NOT NULL DEFAULT 0,
    received_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX study_patient_idx ON study (patient_pk);
CREATE INDEX study_date_idx ON study (study_date, study_time);
CREATE INDEX study_accession_idx ON study (accession);
CREATE INDEX study_received_idx ON study (received_at);

CREATE TABLE series (
    pk              INTEGER PRIMARY KEY,
    study_pk        INTEGER NOT NULL REFERENCES study (pk) ON DELETE CASCADE,
    series_uid      TEXT NOT NULL UNIQUE,
    modality        TEXT NOT NULL DEFAULT '',
    series_number   INTEGER,
    series_date     TEXT NOT NULL DEFAULT '',
    series_time     TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    body_part       TEXT NOT NULL DEFAULT '',
    pps_start_date  TEXT NOT NULL DEFAULT '',
    num_instances   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX series_study_idx ON series (study_pk);

CREATE TABLE instance (
    pk              INTEGER PRIMARY KEY,
    series_pk       INTEGER NOT NULL REFERENCES series (pk) ON DELETE CASCADE,
    sop_uid         TEXT NOT NULL UNIQUE,
    sop_class_uid   TEXT NOT NULL,
    instance_number INTEGER,
    content_date    TEXT NOT NULL DEFAULT '',
    content_time    TEXT NOT NULL DEFAULT '',
    rows            INTEGER,
    columns         INTEGER,
    frames          INTEGER,
    transfer_syntax TEXT NOT NULL,
    path            TEXT NOT NULL,
    file_size       INTEGER NOT NULL,
    received_at     TEXT NOT NULL,
    source_ae       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX instance_series_idx ON instance (series_pk, instance_number);

-- Counts: PS3.4 C.3.2/C.3.3 "Number of ... Related ..." keys.
CREATE TRIGGER instance_added AFTER INSERT ON instance BEGIN
    UPDATE series SET num_instances = num_instances + 1 WHERE pk = NEW.series_pk;
    UPDATE study SET num_instances = num_instances + 1, total_bytes = total_bytes + NEW.file_size,
        sop_classes = CASE
            WHEN instr('\' || sop_classes || '\', '\' || NEW.sop_class_uid || '\') > 0 THEN sop_classes
            WHEN sop_classes = '' THEN NEW.sop_class_uid
            ELSE sop_classes || '\' || NEW.sop_class_uid END
        WHERE pk = (SELECT study_pk FROM series WHERE pk = NEW.series_pk);
    UPDATE patient SET num_instances = num_instances + 1
        WHERE pk = (SELECT st.patient_pk FROM series se JOIN study st ON st.pk = se.study_pk
                    WHERE se.pk = NEW.series_pk);
END;

CREATE TRIGGER instance_removed AFTER DELETE ON instance BEGIN
    UPDATE series SET num_instances = num_instances - 1 WHERE pk = OLD.series_pk;
    UPDATE study SET num_instances = num_instances - 1, total_bytes = total_bytes - OLD.file_size,
        sop_classes = coalesce((SELECT group_concat(c, '\') FROM (
            SELECT DISTINCT i.sop_class_uid AS c FROM instance i JOIN series se ON se.pk = i.series_pk
            WHERE se.study_pk = study.pk ORDER BY c)), '')
        WHERE pk = (SELECT study_pk FROM series WHERE pk = OLD.series_pk);
    UPDATE patient SET num_instances = num_instances - 1
        WHERE pk = (SELECT st.patient_pk FROM series se JOIN study st ON st.pk = se.study_pk
                    WHERE se.pk = OLD.series_pk);
END;

CREATE TRIGGER series_added AFTER INSERT ON series BEGIN
    UPDATE study SET num_series = num_series + 1,
        modalities = coalesce((SELECT group_concat(m, '\') FROM (
            SELECT DISTINCT modality AS m FROM series WHERE study_pk = NEW.study_pk AND modality != ''
            ORDER BY m)), '')
        WHERE pk = NEW.study_pk;
    UPDATE patient SET num_series = num_series + 1
        WHERE pk = (SELECT patient_pk FROM study WHERE pk = NEW.study_pk);
END;

CREATE TRIGGER series_removed AFTER DELETE ON series BEGIN
    UPDATE study SET num_series = num_series - 1,
        modalities = coalesce((SELECT group_concat(m, '\') FROM (
            SELECT DISTINCT modality AS m FROM series WHERE study_pk = OLD.study_pk AND modality != ''
            ORDER BY m)), '')
        WHERE pk = OLD.study_pk;
    UPDATE patient SET num_series = num_series - 1
        WHERE pk = (SELECT patient_pk FROM study WHERE pk = OLD.study_pk);
END;

CREATE TRIGGER study_added AFTER INSERT ON study BEGIN
    UPDATE patient SET num_studies = num_studies + 1 WHERE pk = NEW.patient_pk;
END;

CREATE TRIGGER study_removed AFTER DELETE ON study BEGIN
    UPDATE patient SET num_studies = num_studies - 1 WHERE pk = OLD.patient_pk;
END;
"""

_V2 = r"""
-- The transfer queue: jobs are rows, so a restart loses none (design.md).
CREATE TABLE job (
    pk              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    node            TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    params          TEXT NOT NULL DEFAULT '{}',
    total           INTEGER NOT NULL DEFAULT 0,
    completed       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    warnings        INTEGER NOT NULL DEFAULT 0,
    bytes           INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    started_at      TEXT NOT NULL DEFAULT '',
    finished_at     TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_state_idx ON job (state, node);

CREATE TABLE job_failure (
    job_pk          INTEGER NOT NULL REFERENCES job (pk) ON DELETE CASCADE,
    sop_uid         TEXT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX job_failure_idx ON job_failure (job_pk);
"""

_V3 = r"""
-- Job ownership, so a restart can tell a job whose worker died from one still running
-- elsewhere (another CLI process or ``serve``), and a per-job retry budget.
ALTER TABLE job ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE job ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
"""

_V4 = r"""
-- ModalitiesInStudy as rows, so "mod=CT" on 100,000 studies is an index lookup, not a scan
-- of the backslash-joined column (which stays, for returning the key).
CREATE TABLE study_modality (
    modality        TEXT NOT NULL,
    study_pk        INTEGER NOT NULL REFERENCES study (pk) ON DELETE CASCADE,
    PRIMARY KEY (modality, study_pk)
) WITHOUT ROWID;
CREATE INDEX study_modality_study_idx ON study_modality (study_pk);
INSERT OR IGNORE INTO study_modality (modality, study_pk)
    SELECT DISTINCT modality, study_pk FROM series WHERE modality != '';

CREATE TRIGGER series_modality_added AFTER INSERT ON series WHEN NEW.modality != '' BEGIN
    INSERT OR IGNORE INTO study_modality (modality, study_pk) VALUES (NEW.modality, NEW.study_pk);
END;

CREATE TRIGGER series_modality_removed AFTER DELETE ON series BEGIN
    DELETE FROM study_modality WHERE study_pk = OLD.study_pk AND modality = OLD.modality
        AND NOT EXISTS (SELECT 1 FROM series WHERE study_pk = OLD.study_pk AND modality = OLD.modality);
END;
"""

_V5 = r"""
-- An index for every sort the local database pane offers, so a sorted page (and a deep one:
-- the pane skips rows in a pk-only subquery) walks an index instead of sorting 100,000 rows.
-- With the rowid each index ends in, ORDER BY column, pk is served forwards and backwards.
-- StudyDate has study_date_idx, AccessionNumber study_accession_idx, PatientName
-- patient_name_ci_idx and PatientID the (patient_id, issuer) key already.
CREATE INDEX patient_birth_date_idx ON patient (birth_date);
CREATE INDEX study_modalities_idx ON study (modalities);
CREATE INDEX study_description_idx ON study (description);
CREATE INDEX study_num_series_idx ON study (num_series);
CREATE INDEX study_num_instances_idx ON study (num_instances);
"""

_V6 = r"""
-- Job ids are never given twice. The job table's INTEGER PRIMARY KEY takes max(pk) + 1, so
-- after `jobs clear` removed the newest finished jobs their ids came back, and a script still
-- holding "job 12" would act on someone else's job. The last id given is kept here instead.
CREATE TABLE job_sequence (last INTEGER NOT NULL);
INSERT INTO job_sequence (last) SELECT coalesce(max(pk), 0) FROM job;
"""

_V7 = r"""
-- Instances whose row may be durable before their file. A received instance's row is
-- committed without a flush of its own; the flush that follows makes its file, its
-- directory entry and the row durable together (group_commit.py). A crash in between can
-- leave a row whose file never reached the disk: every new row is listed here until the
-- group commit has seen its flush through, and the next start checks what is still listed
-- (recovery.py).
CREATE TABLE unflushed (path TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TRIGGER instance_unflushed AFTER INSERT ON instance BEGIN
    INSERT OR IGNORE INTO unflushed (path) VALUES (NEW.path);
END;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return the version it was at."""
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    if current > SCHEMA_VERSION:
        raise IndexCorrupt(
            f"the index is schema version {current}, newer than this tui-pacs understands ({SCHEMA_VERSION})"
        )
    for version in range(current, SCHEMA_VERSION):
        # executescript commits first; the migration itself is wrapped so it is all-or-nothing.
        conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[version]}\nPRAGMA user_version = {version + 1};\nCOMMIT;")
    return int(current)
