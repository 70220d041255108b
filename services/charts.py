"""Dashboard charts as PNG images: a spec (name, title, data, alt text) is built from analytics,
hashed, and rendered only when that hash is not cached already (services/slack/report.py).

matplotlib with the Agg backend, figures made with `matplotlib.figure.Figure` (no pyplot global
state, so charts render safely in the CPU pool's threads). Chosen over Vega-Lite through
vl-convert-python by speed: a warm matplotlib bar chart renders in ~15-40 ms here, vl-convert's
PNG export takes longer per chart and pulls a bundled JS engine; the look is kept plain and
Slack-like (one accent colour, no chart junk). The relationship network is laid out by networkx.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from services.views import ItemStates, TimelineRow, WeekTrend, Workload  # noqa: E402

ALT_TEXT_MAX = 2000  # Slack's image block alt_text limit
ACCENT = "#1264A3"  # Slack blue
ALERT = "#E01E5A"
MUTED = "#9AA0A6"
GOOD = "#2EB67D"
SIZE = (6.4, 3.2)
DPI = 100


@dataclass(frozen=True)
class ChartSpec:
    name: str  # items_by_state | workload | heatmap | trend | network | timeline | sentiment
    title: str
    data: Any  # JSON-able: what the renderer draws and what the hash covers
    alt_text: str

    @property
    def data_hash(self) -> str:
        raw = json.dumps([self.name, self.title, self.data], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.name}.png"


def _alt(title: str, parts: list[str]) -> str:
    text = f"{title}: " + "; ".join(parts) if parts else f"{title}: no data yet"
    return text if len(text) <= ALT_TEXT_MAX else text[: ALT_TEXT_MAX - 1] + "…"


# --- specs from analytics -------------------------------------------------------------------------


def items_by_state(states: ItemStates) -> ChartSpec:
    data = {
        "Open": states.open,
        "Overdue": states.overdue,
        "Snoozed": states.snoozed,
        "Done (30 d)": states.done_30d,
    }
    return ChartSpec(
        "items_by_state",
        "My action items",
        data,
        _alt("My action items", [f"{k} {v}" for k, v in data.items()]),
    )


def workload(rows: list[Workload], names: dict[str, str] | None = None) -> ChartSpec:
    names = names or {}
    data = [[names.get(r.person, r.person), r.open, r.overdue] for r in rows]
    return ChartSpec(
        "workload",
        "Team workload",
        data,
        _alt("Team workload (open / overdue)", [f"{p} {o} open, {d} overdue" for p, o, d in data]),
    )


def heatmap(
    cells: dict[tuple[str, date], float], title: str = "Client engagement (meeting hours)"
) -> ChartSpec:
    clients = sorted(
        {c for c, _ in cells}, key=lambda c: (-sum(v for (k, _), v in cells.items() if k == c), c)
    )
    weeks = sorted({w for _, w in cells})
    matrix = [[cells.get((c, w), 0.0) for w in weeks] for c in clients]
    totals = [f"{c} {sum(row):.1f} h" for c, row in zip(clients, matrix, strict=True)]
    data = {"clients": clients, "weeks": [w.isoformat() for w in weeks], "hours": matrix}
    return ChartSpec("heatmap", title, data, _alt(title, totals))


def completion_trend(rows: list[WeekTrend]) -> ChartSpec:
    data = [[r.week.isoformat(), r.created, r.done] for r in rows]
    parts = [f"week of {w}: {d}/{c} done" for w, c, d in data if c]
    return ChartSpec("trend", "Action-item completion by week", data, _alt("Completion by week", parts))


def network(edges: list[tuple[str, str, int]], limit: int = 40) -> ChartSpec:
    data = [list(e) for e in edges[:limit]]
    parts = [f"{p} – {c}: {n} meetings" for p, c, n in data]
    return ChartSpec("network", "Who meets which client", data, _alt("Relationship network", parts))


def timeline(rows: list[TimelineRow]) -> ChartSpec:
    data = [[r.client, r.week.isoformat(), r.meetings, r.decisions, r.items] for r in rows]
    parts = [f"{c} week of {w}: {m} meetings, {d} decisions, {i} items" for c, w, m, d, i in data]
    return ChartSpec("timeline", "Project timeline", data, _alt("Project timeline", parts))


def sentiment(by_week: dict[date, float]) -> ChartSpec:
    data = [[w.isoformat(), v] for w, v in sorted(by_week.items())]
    parts = [f"week of {w}: {v:+.2f}" for w, v in data]
    return ChartSpec("sentiment", "Meeting tone by week", data, _alt("Meeting tone (-1 to +1)", parts))


# --- rendering ---------------------------------------------------------------------------------------


def render(spec: ChartSpec) -> bytes:
    """PNG bytes; CPU-bound (run it in services.cpu's pool)."""
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    _RENDERERS[spec.name](fig, ax, spec.data)
    ax.set_title(spec.title, loc="left", fontsize=11, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    # fixed margins: tight_layout measures every text twice and costs more than the drawing itself
    fig.subplots_adjust(left=0.2, right=0.96, top=0.86, bottom=0.14)
    out = io.BytesIO()
    fig.savefig(out, format="png", pil_kwargs={"compress_level": 1})
    return out.getvalue()


def _empty(ax: Any) -> None:
    ax.text(0.5, 0.5, "no data yet", ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(fig: Figure, ax: Any, data: dict[str, int]) -> None:
    labels, values = list(data), list(data.values())
    colors = [ACCENT, ALERT, MUTED, GOOD][: len(values)]
    bars = ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    ax.bar_label(bars, padding=3, fontsize=9)
    ax.set_xlim(0, max(values + [1]) * 1.15)


def _workload(fig: Figure, ax: Any, data: list[list[Any]]) -> None:
    if not data:
        return _empty(ax)
    people = [str(p)[:18] for p, _, _ in data][::-1]
    overdue = [d for _, _, d in data][::-1]
    on_time = [o - d for _, o, d in data][::-1]
    ax.barh(people, on_time, color=ACCENT, label="open")
    ax.barh(people, overdue, left=on_time, color=ALERT, label="overdue")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.tick_params(labelsize=8)


def _heatmap(fig: Figure, ax: Any, data: dict[str, Any]) -> None:
    if not data["clients"]:
        return _empty(ax)
    ax.imshow(data["hours"][:12], aspect="auto", cmap="Blues", vmin=0)  # darker: more hours
    ax.set_yticks(range(len(data["clients"][:12])), [c[:16] for c in data["clients"][:12]], fontsize=8)
    ax.set_xticks(range(len(data["weeks"])), [w[5:] for w in data["weeks"]], fontsize=8)
    # no colorbar (a second axes costs as much as the map); the alt text and title carry the hours


def _trend(fig: Figure, ax: Any, data: list[list[Any]]) -> None:
    if not any(c for _, c, _ in data):
        return _empty(ax)
    weeks = [w[5:] for w, _, _ in data]
    ax.bar(weeks, [c for _, c, _ in data], color=MUTED, label="created")
    ax.bar(weeks, [d for _, _, d in data], color=GOOD, label="done")
    ax.legend(frameon=False, fontsize=8)
    ax.tick_params(labelsize=8)


NETWORK_LAYOUT_ITERATIONS = 30  # spring layout converges for <= 40 edges well before networkx's 50
TIMELINE_LABELS = 6  # "Nd Ni" notes on the busiest cells only; the alt text carries every cell


def warm_up() -> None:
    """Import networkx (about 0.2 s) when the CPU pool starts (`cpu.start`), not on the first
    network chart a user asks for."""
    import networkx  # noqa: F401


@lru_cache(maxsize=64)
def _network_layout(edges: tuple[tuple[str, str, int], ...]) -> dict[tuple[str, str], tuple[float, float]]:
    """Spring layout of the person-client graph, fixed seed, cached by the edges (same data, same
    picture; a re-render for another client filter with the same edges skips the layout)."""
    import networkx as nx

    graph = nx.Graph()
    for person, client, n in edges:
        graph.add_edge(("p", person), ("c", client), weight=n)
    pos = nx.spring_layout(graph, seed=7, weight="weight", iterations=NETWORK_LAYOUT_ITERATIONS)
    return {node: (float(xy[0]), float(xy[1])) for node, xy in pos.items()}


def _network(fig: Figure, ax: Any, data: list[list[Any]]) -> None:
    if not data:
        return _empty(ax)
    edges = tuple((str(p), str(c), int(n)) for p, c, n in data)
    pos = _network_layout(edges)
    heaviest = max(n for _, _, n in edges) or 1
    # one LineCollection for every edge and one scatter per node kind: 3 artists, not one per edge
    ax.add_collection(
        LineCollection(
            [(pos[("p", p)], pos[("c", c)]) for p, c, _ in edges],
            linewidths=[0.5 + 2.5 * n / heaviest for _, _, n in edges],
            colors=MUTED,
            zorder=1,
        )
    )
    for kind, color, size, marker in (("p", ACCENT, 120, "o"), ("c", ALERT, 220, "s")):
        nodes = [node for node in pos if node[0] == kind]
        ax.scatter(
            [pos[n][0] for n in nodes], [pos[n][1] for n in nodes], s=size, c=color, marker=marker, zorder=2
        )
    for node, (x, y) in pos.items():
        ax.text(x, y, node[1][:16], fontsize=7, ha="center", va="center", zorder=3)
    ax.autoscale_view()
    ax.margins(0.08)
    ax.set_axis_off()


def _timeline(fig: Figure, ax: Any, data: list[list[Any]]) -> None:
    if not data:
        return _empty(ax)
    clients = sorted({r[0] for r in data})
    weeks = sorted({r[1] for r in data})
    y = {c: i for i, c in enumerate(clients)}
    x = {w: i for i, w in enumerate(weeks)}
    # bubble area grows with meetings, capped so a busy week does not cover its neighbours
    ax.scatter(
        [x[r[1]] for r in data],
        [y[r[0]] for r in data],
        s=[min(40 + 40 * r[2], 600) for r in data],
        color=ACCENT,
        alpha=0.8,
        linewidths=0,
    )
    busiest = sorted((r for r in data if r[3] or r[4]), key=lambda r: (-(r[3] + r[4]), r[0], r[1]))
    for c, w, _m, d, i in busiest[:TIMELINE_LABELS]:
        ax.annotate(f"{d}d {i}i", (x[w], y[c]), textcoords="offset points", xytext=(6, 6), fontsize=7)
    ax.set_yticks(range(len(clients)), [c[:16] for c in clients], fontsize=8)
    ax.set_xticks(range(len(weeks)), [w[5:] for w in weeks], fontsize=8)
    ax.margins(0.15)


def _sentiment(fig: Figure, ax: Any, data: list[list[Any]]) -> None:
    if not data:
        return _empty(ax)
    weeks = [w[5:] for w, _ in data]
    values = [v for _, v in data]
    ax.axhline(0, color=MUTED, linewidth=0.8)
    ax.plot(weeks, values, marker="o", color=ACCENT)
    ax.set_ylim(-1, 1)
    ax.tick_params(labelsize=8)


_RENDERERS: dict[str, Callable[[Figure, Any, Any], None]] = {
    "items_by_state": _bars,
    "workload": _workload,
    "heatmap": _heatmap,
    "trend": _trend,
    "network": _network,
    "timeline": _timeline,
    "sentiment": _sentiment,
}
