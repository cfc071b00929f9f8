"""The worker pool with real processes: results come back and are cached by key, progress is reported,
Cancel kills the worker at once, a worker killed mid-job is one line and the pool goes on, quick work
never waits behind heavy work, and jobs nobody looks at are cancelled."""

import os
import signal
import time

import pytest

from cnnlab.errors import ConfigError
from cnnlab.jobs.pool import CANCELLED, DONE, FAILED, Lane, Pool
from tests import jobs_tasks

pytestmark = pytest.mark.slow


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def pool():
    made = Pool({"quick": Lane(1), "heavy": Lane(1)}, cache_bytes=1000, preload=("tests.jobs_tasks",))
    yield made
    made.close()


def test_a_result_comes_back_once_and_is_then_cached(pool):
    job = pool.submit("quick", ("square", 7), "7²", jobs_tasks.square, 7)
    assert job.wait(60) and (job.state, job.value(), job.progress) == (DONE, 49, 1.0)
    assert gone(job.pid)  # the process ended with the job
    again = pool.submit("quick", ("square", 7), "7²", jobs_tasks.square, 7)
    assert (again.state, again.value(), again.pid) == (DONE, 49, None)  # from the cache: no process


def test_a_refusal_is_its_one_line(pool):
    job = pool.submit("quick", "refused", "a field", jobs_tasks.refused)
    assert job.wait(60) and job.state == FAILED
    with pytest.raises(ConfigError, match="^images per field: 300 asked, the class allows 64$"):
        job.value()


def test_cancel_kills_the_worker_and_frees_its_slot(pool):
    long = pool.submit("heavy", ("busy", 1), "a long field", jobs_tasks.busy, 600.0)
    while long.progress == 0:  # running and reporting
        time.sleep(0.02)
    asked_by_another = pool.submit("heavy", ("busy", 1), "a long field", jobs_tasks.busy, 600.0)
    assert asked_by_another is long  # one computation however many ask
    long.cancel()
    assert long.wait(2) and long.state == CANCELLED
    deadline = time.monotonic() + 2
    while not gone(long.pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    after = pool.submit("heavy", ("square", 3), "3²", jobs_tasks.square, 3)  # the lane's one slot is free
    assert after.wait(60) and after.value() == 9


def test_a_worker_killed_mid_job_is_one_line_and_the_pool_recovers(pool):
    job = pool.submit("heavy", ("busy", 2), "the effective field", jobs_tasks.busy, 600.0)
    while job.progress == 0:
        time.sleep(0.02)
    os.kill(job.pid, signal.SIGKILL)
    assert job.wait(10) and job.state == FAILED
    assert job.error == ("the effective field: the worker process was killed (SIGKILL) before it finished; "
                         "try again")
    retry = pool.submit("heavy", ("square", 4), "4²", jobs_tasks.square, 4)
    assert retry.wait(60) and retry.value() == 16


def test_quick_work_does_not_wait_behind_heavy_work(pool):
    heavy = pool.submit("heavy", ("busy", 3), "a long field", jobs_tasks.busy, 600.0)
    queued = pool.submit("heavy", ("busy", 4), "another field", jobs_tasks.busy, 600.0)
    while heavy.progress == 0:
        time.sleep(0.02)
    quick = pool.submit("quick", ("square", 5), "5²", jobs_tasks.square, 5)
    assert quick.wait(60) and quick.value() == 25
    assert (heavy.state, queued.state) == ("running", "queued")  # the heavy lane's one slot is taken
    for job in (heavy, queued):
        job.cancel()
        assert job.wait(2) and job.state == CANCELLED


def test_the_cache_holds_at_most_its_bytes(pool):
    for tag in range(3):  # 3 results of 400 bytes (and their pickling) into 1,000 bytes
        job = pool.submit("quick", ("blob", tag), "a blob", jobs_tasks.blob, 400, tag)
        assert job.wait(60) and job.value() == bytes([tag]) * 400
    assert pool.cache.bytes <= 1000
    assert [("blob", t) in {key[0] for key in pool.cache._items} for t in range(3)] == [False, True, True]


def test_a_job_nobody_looks_at_is_cancelled():
    pool = Pool({"heavy": Lane(1)}, cache_bytes=1000, abandon_after=0.5, preload=("tests.jobs_tasks",))
    job = pool.submit("heavy", "busy", "a field in a closed tab", jobs_tasks.busy, 600.0)
    assert job.wait(10) and job.state == CANCELLED
    deadline = time.monotonic() + 2
    while not gone(job.pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
