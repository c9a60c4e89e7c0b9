"""The transfer queue's rows and policy: claim, per-node limit, cancel, retry, recovery, backoff."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.tools import free_port
from tui_pacs.config.model import Config, LocalNode, RemoteNode, Timeouts
from tui_pacs.services.queue import TransferQueue, backoff
from tui_pacs.store.archive import Archive
from tui_pacs.store.jobs import JobStateError, JobStore, owner_alive, this_owner


def test_claim_respects_the_per_node_limit(archive: Archive) -> None:
    store = JobStore(archive.index)
    ids = [store.submit("send", node="a").id for _ in range(3)] + [store.submit("send", node="b").id]
    first = store.claim_next("me", per_node_limit=2)
    second = store.claim_next("me", per_node_limit=2)
    third = store.claim_next("me", per_node_limit=2)
    assert [j.id for j in (first, second, third) if j] == [ids[0], ids[1], ids[3]]
    assert store.claim_next("me", per_node_limit=2) is None
    assert first is not None and first.state == "running" and first.attempts == 1


def test_cancel_and_retry(archive: Archive) -> None:
    store = JobStore(archive.index)
    queued, running = store.submit("get", node="a").id, store.submit("get", node="a").id
    store.claim(running, "me")
    assert store.request_cancel(queued).state == "cancelled"
    assert store.request_cancel(running).state == "cancelling"
    assert store.progress(running, total=2, completed=1, failed=0, warnings=0, bytes_=10) == "cancelling"
    with pytest.raises(JobStateError):
        store.retry(running)
    retried = store.retry(queued)
    assert retried.state == "queued" and retried.error == "" and retried.attempts == 0
    done = store.submit("send", node="a").id
    store.claim(done, "me")
    store.finish(done, "done")
    with pytest.raises(JobStateError):
        store.request_cancel(done)


def test_recover_requeues_jobs_of_dead_owners_only(archive: Archive) -> None:
    store = JobStore(archive.index)
    mine, orphan, stopping = (store.submit("move", node="a").id for _ in range(3))
    store.claim(mine, this_owner())
    store.claim(orphan, "somehost:1:1")
    store.claim(stopping, "somehost:1:1")
    store.request_cancel(stopping)
    recovered = store.recover(lambda owner: owner == this_owner())
    assert {j.id: j.state for j in recovered} == {orphan: "queued", stopping: "cancelled"}
    assert "interrupted" in store.get(orphan).error
    assert store.get(mine).state == "running"
    assert owner_alive(this_owner()) and not owner_alive("nonsense")


def test_backoff_doubles_up_to_the_limit() -> None:
    assert [backoff(n, 2.0, 10.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]


def test_transient_failure_is_retried_then_fails_with_the_reason(archive: Archive) -> None:
    node = RemoteNode("down", "DOWN", "127.0.0.1", free_port(), timeouts=Timeouts(connect=2))
    config = Config(local=LocalNode(ae_title="TUIPACS"), nodes={"down": node})
    events: list[object] = []
    queue = TransferQueue(archive, config, retry_base=0.01, publish=events.append)
    job_id = queue.submit("send", node="down", params={"paths": [str(Path(__file__))]}, max_attempts=3)
    # This test file is not DICOM, so "nothing to send" is a permanent failure: one attempt.
    job = asyncio.run(queue.run_job(job_id))
    assert (job.state, job.attempts) == ("failed", 1)
    assert "nothing to send" in job.error


def test_connection_refused_is_retried(archive: Archive, tmp_path: Path) -> None:
    from tests.integration.test_scu_helpers import small_instances

    files = small_instances(tmp_path / "f", 2)
    node = RemoteNode("down", "DOWN", "127.0.0.1", free_port(), timeouts=Timeouts(connect=2))
    config = Config(local=LocalNode(ae_title="TUIPACS"), nodes={"down": node})
    events: list[object] = []
    queue = TransferQueue(archive, config, retry_base=0.01, publish=events.append)
    job_id = queue.submit("send", node="down", params={"paths": [str(p) for p in files]}, max_attempts=3)
    job = asyncio.run(queue.run_job(job_id))
    assert (job.state, job.attempts) == ("failed", 3)
    assert job.error.startswith("Connection failed: cannot connect to down")
    assert any(getattr(e, "state", "") == "failed" for e in events)


def test_unknown_node_is_refused_at_submit(archive: Archive) -> None:
    from tui_pacs.services.jobs import UnknownNode

    queue = TransferQueue(archive, Config(local=LocalNode(ae_title="TUIPACS")))
    with pytest.raises(UnknownNode, match="no node named 'x'"):
        queue.submit("send", node="x")


def test_job_ids_are_not_given_again_after_clear(archive: Archive) -> None:
    store = JobStore(archive.index)
    first, second = store.submit("send", node="a").id, store.submit("send", node="a").id
    for job_id in (first, second):
        store.claim(job_id, "me")
        store.finish(job_id, "done")
    assert store.clear_finished() == 2
    third = store.submit("send", node="a").id
    assert third > second  # not max(pk) + 1 of an empty table


def test_a_v5_index_keeps_counting_from_its_last_job(tmp_path: Path) -> None:
    import sqlite3

    from tui_pacs.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate

    conn = sqlite3.connect(tmp_path / "v5.sqlite", isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:5], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute("INSERT INTO job (pk, kind, state, created_at) VALUES (41, 'send', 'done', 'T')")
    assert migrate(conn) == 5
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT last FROM job_sequence").fetchone()[0] == 41
    conn.close()
