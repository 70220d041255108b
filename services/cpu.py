"""CPU-heavy work (the heuristic analyzer, validating a large Fathom payload) off the event loop.

The event loop serves the webhook acks and the Socket Mode acks; a long transcript analysed on it
makes every ack wait. The work runs in one small thread pool sized from the machine: one thread
fewer than the cores (at least one), so the loop's thread competes for the GIL with at most that
many CPU-bound threads instead of asyncio's default executor (cores + 4 threads, shared with
blocking I/O such as file reads and zip building).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

CPU_THREADS = max(1, (os.cpu_count() or 2) - 1)
CPU_NICENESS = 10  # how much lower the pool's threads run than the acks (Linux: nice is per thread)
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=CPU_THREADS, thread_name_prefix="fathom-cpu", initializer=_lower_priority
        )
    return _pool


def _lower_priority() -> None:
    """Bulk work yields the CPU to whatever serves a person: the webhook intake process, the event
    loop's acks. On Linux nice(2) changes only the calling thread; raising it needs no privilege."""
    with contextlib.suppress(OSError):  # a platform that refuses: the pool runs at normal priority
        os.nice(CPU_NICENESS)


def start(*warm_ups: Callable[[], object]) -> list[Future[object]]:
    """Create the pool now and run each warm-up in it: once-per-process costs (an import the first
    chart of a kind needs) are paid at start-up, in the pool's threads, not by a user's first request.
    The futures let the caller wait for them."""
    pool = _executor()
    return [pool.submit(fn) for fn in warm_ups]


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` in the CPU pool; the caller's context (log fields) goes with it."""
    loop = asyncio.get_running_loop()
    call = functools.partial(fn, *args, **kwargs)
    return await loop.run_in_executor(_executor(), contextvars.copy_context().run, call)
