"""Render a client "Claude Code OS" pack from an `AuditExtraction` with Jinja2 templates.

Templates come from three layers, first match wins: the OS repository's `templates/client_os/`
(override_dir), an industry pack (`os_templates/client_os_packs/<industry>/`) and the built-in
base (`os_templates/client_os/`). A file named with `__opportunity__` is rendered once per
automation with its slug, `__automation__` with its Python module name. Names starting with `_`
are partials and macros, never output. Output depends only on the extraction and the meeting, so
two runs give byte-identical zips.
"""

from __future__ import annotations

import csv
import io
import keyword
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment

from services.audit.plan import BuildItem, Plan, build_plan, money
from services.audit.schema import KPI, AuditExtraction, Opportunity, PainPoint, Workflow
from services.os_paths import slugify
from services.templating import environment, oneline, render

TEMPLATES_ROOT = Path(__file__).resolve().parents[2] / "os_templates"
BASE_DIR = TEMPLATES_ROOT / "client_os"
PACKS_DIR = TEMPLATES_ROOT / "client_os_packs"
PER_OPPORTUNITY = "__opportunity__"
PER_AUTOMATION = "__automation__"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def available_industries() -> list[str]:
    return sorted(p.name for p in PACKS_DIR.iterdir() if p.is_dir()) if PACKS_DIR.is_dir() else []


def pyident(text: str) -> str:
    """A Python module/identifier from model text: `two_way_appointment_reminders`."""
    name = slugify(text).replace("-", "_")
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"automation_{name}"
    return name


def envname(text: str) -> str:
    name = re.sub(r"[^A-Z0-9]+", "_", slugify(text).upper()).strip("_")[:40].rstrip("_")
    return f"X_{name}" if name[:1].isdigit() else name or "SYSTEM"


@dataclass(frozen=True)
class Automation:
    """One opportunity as templates see it: names safe for paths and code, plus related findings."""

    opp: Opportunity
    rank: int
    slug: str
    module: str
    env_vars: tuple[tuple[str, str], ...]
    workflow: Workflow | None
    pain: PainPoint | None
    kpis: tuple[KPI, ...]


@dataclass
class GeneratedPack:
    client_name: str
    root: str
    files: dict[str, str]
    opportunities: list[Opportunity]
    summary: str
    industry: str | None = None
    plan: Plan | None = field(default=None, repr=False)

    def top_opportunities(self, n: int = 3) -> list[Opportunity]:
        return self.opportunities[:n]

    def tree(self) -> str:
        """A `tree`-style listing for the Slack preview card."""
        nested: dict[str, Any] = {}
        for path in self.files:
            node = nested
            for part in PurePosixPath(path).parts:
                node = node.setdefault(part, {})
        lines = [f"{self.root}/"]

        def walk(node: dict[str, Any], prefix: str) -> None:
            names = sorted(node, key=lambda k: (not node[k], k))  # folders first
            for i, name in enumerate(names):
                last = i == len(names) - 1
                lines.append(f"{prefix}{'└── ' if last else '├── '}{name}{'/' if node[name] else ''}")
                if node[name]:
                    walk(node[name], prefix + ("    " if last else "│   "))

        walk(nested, "")
        return "\n".join(lines)

    def to_zip(self) -> bytes:
        """Deterministic archive: sorted entries under one root folder, fixed timestamps and modes."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(self.files):
                info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=_ZIP_TIME)
                info.create_system = 3
                info.external_attr = (0o100755 if path.endswith(".py") else 0o100644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, self.files[path].encode("utf-8"), compresslevel=9)
        return buffer.getvalue()


def generate_client_os(
    extraction: AuditExtraction,
    *,
    meeting_title: str,
    meeting_date: date,
    industry: str | None = None,
    override_dir: Path | None = None,
) -> GeneratedPack:
    pack = _industry_pack(industry or extraction.client.industry)
    roots = [r for r in (override_dir, PACKS_DIR / pack if pack else None, BASE_DIR) if r and r.is_dir()]
    env = _environment(roots)
    names = _template_names(roots)
    reserved = {
        PurePosixPath(out).stem for out in names if PER_OPPORTUNITY not in out and PER_AUTOMATION not in out
    }
    automations = _automations(extraction, reserved)
    phase_one = [a for a in automations if a.opp.phase <= 1] or automations[:1]
    plan = build_plan(
        meeting_date=meeting_date,
        deadline=extraction.timeline.deadline,
        budget=extraction.budget.amount_usd,
        phase_one=[BuildItem(a.opp.title, a.opp.effort) for a in phase_one],
        compliance=bool(extraction.compliance),
    )
    summary = _summary_line(extraction, plan, len(phase_one))
    context: dict[str, Any] = {
        "x": extraction,
        "client": extraction.client,
        "client_slug": slugify(extraction.client.name),
        "meeting_title": meeting_title,
        "meeting_date": meeting_date,
        "industry": pack,
        "automations": automations,
        "phase_one": phase_one,
        "later": [a for a in automations if a not in phase_one],
        "plan": plan,
        "summary_line": summary,
        "budget_text": money(extraction.budget.amount_usd) if extraction.budget.amount_usd else None,
        "env_vars": _env_vars(automations),
        "tool_users": {
            tool: sorted({a.opp.title for a in automations if tool in a.opp.tools})
            for tool in extraction.client.tools
        },
    }
    files: dict[str, str] = {}
    for out, name in sorted(names.items()):
        if PER_OPPORTUNITY in out or PER_AUTOMATION in out:
            for a in automations:
                path = out.replace(PER_OPPORTUNITY, a.slug).replace(PER_AUTOMATION, a.module)
                files[path] = _tidy(render(env, name, {**context, "a": a}), path)
        else:
            files[out] = _tidy(render(env, name, context), out)
    return GeneratedPack(
        client_name=extraction.client.name,
        root=f"{slugify(extraction.client.name)}-claude-os",
        files=dict(sorted(files.items())),
        opportunities=[a.opp for a in automations],
        summary=summary,
        industry=pack,
        plan=plan,
    )


def _industry_pack(industry: str | None) -> str | None:
    """Only a known pack name selects templates; anything else (model text) selects none."""
    name = slugify(industry or "").replace("-", "_")
    return name if name in available_industries() else None


def _environment(roots: list[Path]) -> Environment:
    """Sandboxed (the first root is the OS repository's, which approved proposals can change);
    the escaping filters (`oneline`, `comment`, `env`, `shell`, `json`, `yaml`, `pystr`) come
    from services.templating, the rest are the pack's own."""
    return environment(
        roots,
        {
            "slug": slugify,
            "pyident": pyident,
            "envname": envname,
            "cell": lambda v: oneline(v).replace("|", "\\|"),
            "money": money,
            "csvrow": _csv_row,
            "isodate": lambda d: d.isoformat() if d else "",
            "longdate": lambda d: f"{d:%B} {d.day}, {d.year}",
        },
    )


def _template_names(roots: list[Path]) -> dict[str, str]:
    """Output path -> template name; a higher-priority root claims a path first."""
    names: dict[str, str] = {}
    for root in roots:
        for file in sorted(root.rglob("*")):
            rel = file.relative_to(root)
            if (
                not file.is_file()
                or file.is_symlink()
                or any(p.startswith(("_", ".")) for p in rel.parts[:-1])
            ):
                continue
            if rel.name.startswith(".") or (
                rel.name.startswith("_") and not rel.name.startswith((PER_OPPORTUNITY, PER_AUTOMATION))
            ):
                continue
            out = rel.as_posix().removesuffix(".j2")
            names.setdefault(out, rel.as_posix())
    return names


def _automations(extraction: AuditExtraction, reserved: set[str]) -> list[Automation]:
    workflows = {w.name: w for w in extraction.workflows}
    pains = {p.workflow or p.title: p for p in extraction.pain_points}
    used = set(reserved)
    out: list[Automation] = []
    for rank, opp in enumerate(extraction.ranked_opportunities(), start=1):
        slug = base = slugify(opp.title)
        n = 2
        while slug in used:
            slug = f"{base[:56]}-{n}"
            n += 1
        used.add(slug)
        env_vars: dict[str, str] = {}
        for tool in opp.tools or ["Source system"]:
            env_vars[f"{envname(tool)}_API_URL"] = f"Base URL of the {tool} API or export location"
            env_vars[f"{envname(tool)}_API_KEY"] = f"Credential for {tool} (store in a secret manager)"
        env_vars["ALERT_WEBHOOK_URL"] = "Where failures and items needing review are posted"
        pain = pains.get(opp.workflow or "")
        stated = {f.text for f in pain.figures} if pain else set()
        topic = (opp.workflow or opp.title).lower()
        out.append(
            Automation(
                opp=opp,
                rank=rank,
                slug=slug,
                module=slug.replace("-", "_") if not slug[0].isdigit() else pyident(slug),
                env_vars=tuple(sorted(env_vars.items())),
                workflow=workflows.get(opp.workflow or ""),
                pain=pain,
                kpis=tuple(
                    k for k in extraction.kpis if k.baseline_text in stated or topic in k.name.lower()
                ),
            )
        )
    return out


def _env_vars(automations: list[Automation]) -> dict[str, tuple[str, list[str]]]:
    """Every variable once, with the scripts that read it, for `config/env.example`."""
    merged: dict[str, tuple[str, list[str]]] = {}
    for a in automations:
        for name, description in a.env_vars:
            merged.setdefault(name, (description, []))[1].append(f"{a.module}.py")
    return dict(sorted(merged.items()))


def _summary_line(x: AuditExtraction, plan: Plan, phase_one: int) -> str:
    budget = f"Budget {money(x.budget.amount_usd)}" if x.budget.amount_usd else "Budget not stated"
    if x.budget.amount_usd and x.budget.scope:
        budget += f" ({x.budget.scope.lower()})"
    live = "go-live" if plan.deadline_stated else "proposed go-live"
    return (
        f"{budget} · {live} {plan.go_live.isoformat()} ({plan.week_count} weeks) · {phase_one} phase-one automation"
        + ("s" if phase_one != 1 else "")
    )


def _csv_row(values: list[Any]) -> str:
    """One CSV line: every cell single-line, and text a spreadsheet would run as a formula
    (`=`, `+`, `-`, `@`) prefixed with a quote."""
    buffer = io.StringIO()
    cells = [v if isinstance(v, int | float) else _cell(v) for v in values]
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue().rstrip("\n")


def _cell(value: Any) -> str:
    text = oneline(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def _tidy(text: str, path: str) -> str:
    """Templates stay readable; output gets no trailing spaces and no runs of blank lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    body = "\n".join(lines).strip("\n")
    body = re.sub(r"\n{4,}", "\n\n\n", body) if path.endswith(".py") else re.sub(r"\n{3,}", "\n\n", body)
    return body + "\n"
