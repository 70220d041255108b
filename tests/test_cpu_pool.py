"""The CPU pool (services/cpu.py): bulk work off the event loop, at a lower priority than the acks."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from services import cpu


async def test_work_runs_off_the_loop_thread_and_keeps_its_result() -> None:
    loop_thread = threading.get_ident()
    ident, total = await cpu.run_cpu(lambda: (threading.get_ident(), sum(range(1000))))
    assert ident != loop_thread
    assert total == 499500


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice is per thread on Linux only")
async def test_pool_threads_run_below_the_event_loop() -> None:
    loop_nice = os.nice(0)
    pool_nice = await cpu.run_cpu(os.nice, 0)
    assert pool_nice == min(19, loop_nice + cpu.CPU_NICENESS)
    assert os.nice(0) == loop_nice  # the loop's own thread (and the intake process it spawns) is untouched
