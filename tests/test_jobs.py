"""Durable job queue: retries with backoff, dead letters, leases, shutdown and kill -9 recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from services.clock import as_utc, utcnow
from services.db import Database
from services.errors import PermanentJobError
from services.jobs import PRIORITY_FIRST_CARD, JobQueue, QueuePolicy, Worker
from services.models import Job

ROOT = Path(__file__).resolve().parents[1]


async def wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def job_status(db: Database, job_id: int) -> Job:
    async with db.session() as s:
        return await s.get_one(Job, job_id)


async def test_job_runs_once_and_completes(any_db: Database) -> None:
    queue = JobQueue(any_db)
    seen: list[int] = []

    async def handler(job: Job) -> None:
        seen.append(job.payload["n"])

    worker = Worker(queue, {"t": handler}, concurrency=2, poll_interval=0.05)
    worker.start()
    jobs = [await queue.submit("t", {"n": n}) for n in range(5)]
    await wait_until(lambda: _all_done(any_db, [j.id for j in jobs if j]))
    await worker.stop()
    assert sorted(seen) == [0, 1, 2, 3, 4]


async def _all_done(db: Database, ids: list[int]) -> bool:
    statuses = [(await job_status(db, i)).status for i in ids]
    return all(status == "done" for status in statuses)


async def test_failures_retry_with_growing_backoff_then_dead_letter(db: Database) -> None:
    queue = JobQueue(db, QueuePolicy(max_attempts=3, backoff_base=0.05, backoff_max=1))
    attempts: list[float] = []

    async def flaky(_job: Job) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("Slack is down")

    worker = Worker(queue, {"t": flaky}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("t", {})
    assert job
    await wait_until(lambda: _status_is(db, job.id, "dead"))
    await worker.stop()
    final = await job_status(db, job.id)
    assert len(attempts) == 3 and final.attempts == 3
    assert "Slack is down" in (final.last_error or "")
    assert [j.id for j in await queue.failing()] == [job.id]


async def _status_is(db: Database, job_id: int, status: str) -> bool:
    return (await job_status(db, job_id)).status == status


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    queue = JobQueue.__new__(JobQueue)
    queue.policy = QueuePolicy(backoff_base=2, backoff_max=60)
    assert 1 <= queue.backoff(1) <= 2
    assert 4 <= queue.backoff(3) <= 8
    assert 30 <= queue.backoff(20) <= 60
    assert len({round(queue.backoff(4), 6) for _ in range(20)}) > 1  # jitter


async def test_permanent_error_goes_straight_to_dead_letters_and_can_be_retried(db: Database) -> None:
    queue = JobQueue(db)
    calls = 0

    async def bad(_job: Job) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise PermanentJobError("payload is not a meeting")

    worker = Worker(queue, {"t": bad}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("t", {})
    assert job
    await wait_until(lambda: _status_is(db, job.id, "dead"))
    assert await queue.retry(job.id) is True
    await wait_until(lambda: _status_is(db, job.id, "done"))
    await worker.stop()
    assert calls == 2


async def test_unknown_job_kind_is_dead_lettered(db: Database) -> None:
    queue = JobQueue(db)
    worker = Worker(queue, {}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("nope", {})
    assert job
    await wait_until(lambda: _status_is(db, job.id, "dead"))
    await worker.stop()


async def test_keyed_job_is_not_enqueued_twice_while_active(db: Database) -> None:
    queue = JobQueue(db)
    assert await queue.submit("t", {}, key="meeting:1")
    assert await queue.submit("t", {}, key="meeting:1") is None
    assert await queue.submit("t", {}, key="meeting:2")


async def test_concurrency_limit_is_respected(db: Database) -> None:
    queue = JobQueue(db)
    active = peak = 0
    rendezvous = asyncio.Barrier(3)  # a round only ends when three jobs run at once

    async def gathered(_job: Job) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active, worker.busy)
        await asyncio.wait_for(rendezvous.wait(), 30)  # fewer than 3 at once: times out, test fails
        active -= 1

    worker = Worker(queue, {"t": gathered}, concurrency=3, poll_interval=0.01)
    worker.start()
    ids = [(await queue.submit("t", {})).id for _ in range(12)]  # type: ignore[union-attr]
    await wait_until(lambda: _all_done(db, ids), timeout=60)
    await worker.stop()
    assert peak == 3


async def test_two_queues_never_claim_the_same_job(any_db: Database) -> None:
    a, b = JobQueue(any_db, worker_id="a"), JobQueue(any_db, worker_id="b")
    for _ in range(30):
        await a.submit("t", {})

    async def drain(queue: JobQueue) -> list[int]:
        got: list[int] = []
        for _ in range(200):
            batch = await queue.claim(1)
            got += [job.id for job in batch]
            if len(got) + 1 > 30:
                break
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(*[drain(q) for q in (a, b, a, b)])
    ids = [i for batch in results for i in batch]
    assert len(ids) == len(set(ids)) == 30


async def test_expired_lease_is_claimed_again(db: Database) -> None:
    queue = JobQueue(db, QueuePolicy(lease_seconds=60), worker_id="dead-worker")
    job = await queue.submit("t", {})
    assert job and await queue.claim(1)
    other = JobQueue(db, worker_id="survivor")
    assert await other.claim(1) == []
    async with db.session() as s:
        await s.execute(update(Job).values(leased_until=utcnow() - timedelta(seconds=1)))
    again = await other.claim(1)
    assert [j.id for j in again] == [job.id] and again[0].attempts == 2


async def test_graceful_stop_releases_unfinished_job_for_another_worker(db: Database) -> None:
    queue = JobQueue(db, worker_id="w1")
    started = asyncio.Event()

    async def forever(_job: Job) -> None:
        started.set()
        await asyncio.sleep(3600)

    worker = Worker(queue, {"t": forever}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("t", {})
    assert job
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop(grace=0.1)
    released = await job_status(db, job.id)
    assert released.status == "queued" and released.attempts == 0 and released.leased_until is None


async def test_heartbeat_keeps_a_long_job_leased(db: Database) -> None:
    queue = JobQueue(db, QueuePolicy(lease_seconds=1.5))
    started, finish = asyncio.Event(), asyncio.Event()

    async def long(_job: Job) -> None:
        started.set()
        await finish.wait()

    worker = Worker(queue, {"t": long}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("t", {})
    assert job
    await asyncio.wait_for(started.wait(), 10)
    first = as_utc((await job_status(db, job.id)).leased_until)  # type: ignore[arg-type]

    async def renewed_twice() -> bool:  # the event that must come first: two renewals
        row = await job_status(db, job.id)
        return as_utc(row.leased_until) >= first + timedelta(seconds=0.9)  # type: ignore[arg-type]

    await wait_until(renewed_twice, timeout=30)
    row = await job_status(db, job.id)
    assert row.status == "running" and row.leased_by == queue.worker_id
    assert await JobQueue(db, worker_id="thief").claim(1) == []
    finish.set()
    await wait_until(lambda: _status_is(db, job.id, "done"))
    await worker.stop()


async def test_worker_that_loses_its_lease_stops_the_job_and_writes_nothing(db: Database) -> None:
    queue = JobQueue(db, QueuePolicy(lease_seconds=0.6), worker_id="w1")
    started, stopped = asyncio.Event(), asyncio.Event()

    async def forever(_job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            stopped.set()

    worker = Worker(queue, {"t": forever}, poll_interval=0.02)
    worker.start()
    job = await queue.submit("t", {})
    assert job
    await asyncio.wait_for(started.wait(), 10)
    async with db.session() as s:  # another worker took the job over (e.g. after a long stall)
        await s.execute(update(Job).values(leased_by="w2", leased_until=utcnow() + timedelta(seconds=60)))
    await asyncio.wait_for(stopped.wait(), 30)
    await wait_until(lambda: _worker_idle(worker))
    row = await job_status(db, job.id)
    assert (row.status, row.leased_by, row.attempts) == ("running", "w2", 1)  # untouched: not ours
    await worker.stop()


async def _worker_idle(worker: Worker) -> bool:
    return worker.busy == 0


async def test_start_up_releases_only_jobs_of_dead_workers_on_this_host(db: Database) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(10)  # a pid that existed and is dead now
    host = socket.gethostname()
    holders = [
        f"{host}:{gone.pid}:dead00",  # dead predecessor: released
        f"{host}:{os.getpid()}:other0",  # alive (this very process): kept
        f"elsewhere-{host}:{gone.pid}:remote",  # another host: cannot tell, left to its lease
        "legacy-id",  # not host:pid: left to its lease
    ]
    queue = JobQueue(db)
    ids = [(await queue.submit("t", {})).id for _ in holders]  # type: ignore[union-attr]
    async with db.session() as s:
        for job_id, holder in zip(ids, holders, strict=True):
            await s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    status="running", attempts=1, leased_by=holder, leased_until=utcnow() + timedelta(hours=1)
                )
            )
    assert await queue.release_dead_workers() == 1
    rows = [await job_status(db, i) for i in ids]
    assert [r.status for r in rows] == ["queued", "running", "running", "running"]
    assert rows[0].leased_by is None and rows[0].attempts == 1  # the killed attempt still counts
    assert [j.id for j in await queue.claim(5)] == [ids[0]]


WORKER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from services.db import Database
    from services.jobs import JobQueue, QueuePolicy, Worker

    async def main():
        db_url, marker, role, lease, worker_id = sys.argv[1:6]
        db = Database(db_url)
        queue = JobQueue(db, QueuePolicy(lease_seconds=float(lease)), worker_id=worker_id or None)
        if role == "survivor":
            await queue.release_dead_workers()  # what Runtime.start does before its workers start
        async def handler(job):
            Path(marker).write_text("started")
            if role == "victim":
                await asyncio.sleep(3600)
            Path(marker + ".done").write_text(str(job.attempts))
        worker = Worker(queue, {"t": handler}, poll_interval=0.1)
        worker.start()
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def _kill_then_restart(db: Database, tmp_path: Path, *, lease: float, ids: tuple[str, str]) -> float:
    """Run the job in a victim process, kill -9 it mid-job, start a survivor; seconds until done."""
    queue = JobQueue(db)
    job = await queue.submit("t", {})
    assert job
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def spawn(role: str, worker_id: str) -> subprocess.Popen[bytes]:
        args = [sys.executable, str(script), db.url, str(marker), role, str(lease), worker_id]
        return subprocess.Popen(args, env=env)

    victim = spawn("victim", ids[0])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert marker.exists(), "victim never started the job"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(5)
        assert (await job_status(db, job.id)).status == "running"
        killed_at = time.monotonic()
        survivor = spawn("survivor", ids[1])
        try:
            done = Path(str(marker) + ".done")
            deadline = time.monotonic() + 30
            while not done.exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert done.read_text() == "2"
            await wait_until(lambda: _status_is(db, job.id, "done"))
            return time.monotonic() - killed_at
        finally:
            survivor.kill()
            survivor.wait(5)
    finally:
        if victim.poll() is None:
            victim.kill()


async def test_job_of_a_worker_killed_with_sigkill_is_retried_after_its_lease(
    db: Database, tmp_path: Path
) -> None:
    # ids that name no host:pid (e.g. another machine): only the lease expiry frees the job
    await _kill_then_restart(db, tmp_path, lease=1.0, ids=("victim", "survivor"))


async def test_restart_after_sigkill_takes_the_job_over_without_waiting_for_the_lease(
    db: Database, tmp_path: Path
) -> None:
    # default host:pid ids and a lease far longer than the test: only the start-up release can free it
    elapsed = await _kill_then_restart(db, tmp_path, lease=600.0, ids=("", ""))
    assert elapsed < 60


@pytest.mark.parametrize("statuses", [("dead",), ()])
async def test_list_jobs_by_status(db: Database, statuses: tuple[str, ...]) -> None:
    queue = JobQueue(db)
    await queue.submit("t", {})
    listed = await queue.list_jobs(statuses)
    assert len(listed) == (0 if statuses else 1)
    assert (await queue.counts()) == {"queued": 1}


async def test_claim_takes_the_highest_priority_first_then_the_oldest(any_db: Database) -> None:
    queue = JobQueue(any_db)
    low = [await queue.submit("t", {"n": n}) for n in range(3)]
    high = await queue.submit("card", {"n": 9}, priority=PRIORITY_FIRST_CARD)
    assert all(low) and high
    order = [job.id for job in await queue.claim(4)]
    assert order == [high.id] + [job.id for job in low if job]


async def test_priority_lane_claims_only_first_card_jobs(db: Database) -> None:
    queue = JobQueue(db)
    await queue.submit("t", {"n": 1})
    assert await queue.claim(1, min_priority=PRIORITY_FIRST_CARD) == []
    card = await queue.submit("card", {}, priority=PRIORITY_FIRST_CARD)
    assert card and [j.id for j in await queue.claim(1, min_priority=PRIORITY_FIRST_CARD)] == [card.id]


async def test_kind_limit_caps_running_jobs_of_that_kind(db: Database) -> None:
    queue = JobQueue(db)
    release = asyncio.Event()
    running: dict[str, int] = {"slow": 0, "fast": 0}
    peak = {"slow": 0}
    fast_done = asyncio.Event()

    async def slow(job: Job) -> None:
        running["slow"] += 1
        peak["slow"] = max(peak["slow"], running["slow"])
        await release.wait()
        running["slow"] -= 1

    async def fast(job: Job) -> None:
        fast_done.set()

    worker = Worker(
        queue, {"slow": slow, "fast": fast}, concurrency=4, kind_limits={"slow": 2}, poll_interval=0.05
    )
    worker.start()
    try:
        for n in range(4):
            await queue.submit("slow", {"n": n})
        await queue.submit("fast", {})
        await asyncio.wait_for(fast_done.wait(), 10)  # a free slot ran the other kind
        await wait_until(lambda: _running_is(running, 2))
        await wait_until(lambda: _busy_is(worker, 2))  # the fast job's slot is free again
        assert peak["slow"] == 2  # the other two slow jobs wait for the cap
        assert (await queue.counts()).get("queued") == 2
        release.set()
        await wait_until(lambda: _queue_drained(queue))
        assert peak["slow"] == 2
    finally:
        release.set()
        await worker.stop()


async def _busy_is(worker: Worker, n: int) -> bool:
    return worker.busy == n


async def _running_is(running: dict[str, int], n: int) -> bool:
    return running["slow"] == n


async def _queue_drained(queue: JobQueue) -> bool:
    counts = await queue.counts()
    return counts.get("queued", 0) == 0 and counts.get("running", 0) == 0
