"""A compact, relevant slice of the OS for the LLM prompt.

Sections are ordered from the most stable (team roster) to the most volatile (recent decisions) so
the start of the prompt stays byte-identical between meetings with the same client and can be
cached; when over budget the volatile tail is cut first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from services.os_config import Client, OSConfig
from services.os_paths import UnsafePath, slugify
from services.os_repo import OSRepo

CHARS_PER_TOKEN = 4
MAX_PROJECT_FILES = 200
PROJECT_CHARS = 2_000
# Tails are short: the model no longer writes the log files (code appends to them); it needs only
# enough recent history to tell a recap from a new decision (measured in bench/bench_tokens.py).
LOG_TAIL_CHARS = 1_500
DECISIONS_TAIL_CHARS = 1_500
MIN_USEFUL_CHARS = 200
INSTRUCTIONS_CHARS = 6_000  # per analysis.md; these are read by a person-maintained file, keep short
# Ends the meeting-specific analysis instructions at the start of `OSContext.text`; the prompt
# builder splits there so the instructions get their own cached block.
INSTRUCTIONS_END = "<!-- end of meeting-specific analysis instructions -->"
PACKS_DIR = Path(__file__).resolve().parents[1] / "os_templates" / "client_os_packs"
# A "Status: done" line in any common markdown dress (`- **Status:** done`, `status: closed`).
_CLOSED = re.compile(r"^\W*status\W*(done|closed|complete|completed|archived|cancell?ed)\b", re.I | re.M)


@dataclass
class OSContext:
    sections: list[tuple[str, str]] = field(default_factory=list)
    blobs: dict[str, str] = field(default_factory=dict)  # path -> blob id read, for proposals' base_blob
    # (title, body) of each `analysis.md` that applies: the client's own, then its industry pack's
    instructions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        body = "\n\n".join(_render(title, body) for title, body in self.sections)
        if not self.instructions:
            return body
        extra = "\n\n".join(_render(title, text) for title, text in self.instructions)
        return f"{extra}\n{INSTRUCTIONS_END}\n{body}"

    @property
    def approx_tokens(self) -> int:
        return -(-len(self.text) // CHARS_PER_TOKEN)


@dataclass
class _Part:
    title: str
    body: str
    keep: Literal["head", "tail"]  # which end survives truncation


def _render(title: str, body: str) -> str:
    return f"## {title}\n\n{body.strip()}"


def _tail(text: str, limit: int) -> str:
    """The last `limit` characters, starting on a line boundary."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return "…\n" + cut[cut.find("\n") + 1 :] if "\n" in cut else "…" + cut


def _head(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut[: cut.rfind("\n")] if "\n" in cut else cut) + "\n…"


def _roster(config: OSConfig) -> str:
    lines = []
    for m in config.team:
        flags = [
            f
            for f, on in (
                ("partner", m.partner),
                ("admin", m.admin),
                ("approver", config.is_approver(m.email)),
            )
            if on
        ]
        role = f" — {m.role}" if m.role else ""
        lines.append(f"- {m.name} <{m.email}>{role}" + (f" ({', '.join(flags)})" if flags else ""))
    return "\n".join(lines)


def _clients_for(config: OSConfig, domains: list[str]) -> list[Client]:
    """Configured clients first; else a folder named after the domain (acme.com -> clients/acme)."""
    found: dict[str, Client] = {}
    for domain in domains:
        if config.is_internal_domain(domain):
            continue
        client = config.client_for_domain(domain)
        if client is None:
            label = domain.lower().split(".")[-2] if "." in domain else domain
            client = Client(name=label, domains=[domain], slug=slugify(label))
        found.setdefault(client.slug, client)
    return list(found.values())


async def _read(repo: OSRepo, ctx: OSContext, rel: str) -> str | None:
    try:
        text, blob = await repo.read(rel)
    except UnsafePath:
        return None
    if text is not None and blob is not None:
        ctx.blobs[rel] = blob
    return text


def _mentions(text: str, client: Client) -> bool:
    needles = [client.name, client.slug, *client.domains]
    low = text.lower()
    return any(n and re.search(r"\b" + re.escape(n.lower()) + r"\b", low) for n in needles)


async def _instructions(repo: OSRepo, ctx: OSContext, clients: list[Client]) -> list[tuple[str, str]]:
    """Each client's `clients/<slug>/analysis.md`, then its industry's: the OS's own
    `industries/<industry>/analysis.md` wins over the packaged `client_os_packs/<industry>/analysis.md`."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for client in clients:
        rel = f"clients/{client.slug}/analysis.md"
        text = await _read(repo, ctx, rel)
        if text and text.strip():
            out.append((f"{client.name} ({rel})", _head(text.strip(), INSTRUCTIONS_CHARS)))
        industry = slugify(client.industry) if client.industry else ""
        if not industry or industry in seen:
            continue
        seen.add(industry)
        rel = f"industries/{industry}/analysis.md"
        text = await _read(repo, ctx, rel)
        if not (text and text.strip()):
            packaged = PACKS_DIR / industry / "analysis.md"
            text = packaged.read_text(encoding="utf-8") if packaged.is_file() else None
            rel = f"industry pack {industry}"
        if text and text.strip():
            out.append((f"Industry: {industry} ({rel})", _head(text.strip(), INSTRUCTIONS_CHARS)))
    return out


async def build_context(
    repo: OSRepo, config: OSConfig, external_domains: list[str], token_budget: int = 6000
) -> OSContext:
    ctx = OSContext()
    parts: list[_Part] = []
    if config.team:
        parts.append(_Part("Team", _roster(config), "head"))
    clients = _clients_for(config, external_domains)
    ctx.instructions = await _instructions(repo, ctx, clients)
    for client in clients:
        profile = await _read(repo, ctx, f"clients/{client.slug}/README.md")
        if profile:
            parts.append(
                _Part(f"Client profile: {client.name} (clients/{client.slug}/README.md)", profile, "head")
            )
    if clients:
        for rel in (await repo.list_files("projects"))[:MAX_PROJECT_FILES]:
            if not rel.endswith(".md") or rel.endswith("/README.md"):
                continue
            text = await _read(repo, ctx, rel)
            if text and not _CLOSED.search(text) and any(_mentions(text, c) for c in clients):
                parts.append(_Part(f"Project ({rel})", _head(text, PROJECT_CHARS), "head"))
    for client in clients:
        log = await _read(repo, ctx, f"clients/{client.slug}/log.md")
        if log:
            parts.append(
                _Part(f"Client log, latest entries: {client.name}", _tail(log, LOG_TAIL_CHARS), "tail")
            )
    decisions = await _read(repo, ctx, "decisions/log.md")
    if decisions:
        parts.append(
            _Part("Recent decisions (decisions/log.md)", _tail(decisions, DECISIONS_TAIL_CHARS), "tail")
        )
    ctx.sections = _fit(parts, token_budget * CHARS_PER_TOKEN)
    return ctx


def _fit(parts: list[_Part], budget_chars: int) -> list[tuple[str, str]]:
    """Keep parts in order while they fit; shorten the first that does not, drop the rest."""
    kept: list[tuple[str, str]] = []
    used = 0
    for part in parts:
        sep = 2 if kept else 0
        cost = sep + len(_render(part.title, part.body))
        if used + cost <= budget_chars:
            kept.append((part.title, part.body.strip()))
            used += cost
            continue
        room = budget_chars - used - sep - len(_render(part.title, "")) - 4
        if room >= MIN_USEFUL_CHARS:
            body = _head(part.body.strip(), room) if part.keep == "head" else _tail(part.body.strip(), room)
            kept.append((part.title, body))
        break
    return kept
