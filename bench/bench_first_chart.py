"""The first network chart of a process: what networkx's import costs the user who asks first (#20).

    .venv/bin/python bench/bench_first_chart.py [--cold]

Renders one chart of another kind first (matplotlib's fonts and Agg canvas load once per process),
then times the first network chart through the CPU pool, as a report renders it. Default: the pool
started the way `Runtime.start` starts it (`cpu.start(charts.warm_up)`, networkx imported there);
`--cold`: no warm-up, networkx imported by that first render (the behaviour before the warm-up).
Each run is its own process: the figure only exists once per process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import _common  # noqa: F401  (the repository on sys.path)

from services import charts, cpu

EDGES = [(f"Person {i}", f"client-{i % 7}", 1 + i % 4) for i in range(30)]


async def main(cold: bool) -> None:
    t0 = time.perf_counter()
    if not cold:
        await asyncio.gather(*[asyncio.wrap_future(f) for f in cpu.start(charts.warm_up)])
    warm_up_ms = (time.perf_counter() - t0) * 1000
    await cpu.run_cpu(charts.render, charts.items_by_state(charts.ItemStates(3, 1, 0, 5)))
    assert cold != ("networkx" in sys.modules), "networkx loaded by something else"
    t0 = time.perf_counter()
    await cpu.run_cpu(charts.render, charts.network(EDGES))
    first_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    await cpu.run_cpu(charts.render, charts.network(EDGES[:-1]))  # new edges: layout again
    second_ms = (time.perf_counter() - t0) * 1000
    mode = "cold (no warm-up)" if cold else f"warm-up at start {warm_up_ms:.0f} ms"
    print(
        f"{mode}: first network render {first_ms:.0f} ms, second (new edges) {second_ms:.0f} ms, "
        f"first - second {first_ms - second_ms:.0f} ms (the once-per-process cost)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true")
    asyncio.run(main(parser.parse_args().cold))
