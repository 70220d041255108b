"""`fathom-os` command line: run, ingest, db upgrade, check, jobs, reanalyze, os init, search, send, analyze,
retention, forget, export."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings, load_settings
from bot.logging import configure_logging

if TYPE_CHECKING:
    from bot.checks import Check
    from bot.runtime import Runtime


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fathom-os", description="Fathom meetings -> Slack -> your OS")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (webhook server, workers, Slack, scheduler)")
    ingest = sub.add_parser(
        "ingest", help="analyse a Fathom JSON payload from disk (dry run), or --store it for the running bot"
    )
    ingest.add_argument("path", type=Path)
    ingest.add_argument(
        "--store",
        action="store_true",
        help="store it as a delivery + job, exactly as a webhook would; the running bot posts the card",
    )
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    sub.add_parser("check", help="validate configuration and connectivity")
    jobs = sub.add_parser("jobs", help="list failed/dead jobs, or retry one")
    jobs.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    jobs.add_argument("job_id", nargs="?", type=int)
    re = sub.add_parser("reanalyze", help="queue a fresh analysis of a meeting; says what the bot will do")
    re.add_argument("recording_id", type=int)
    os_cmd = sub.add_parser("os", help="the OS git repository")
    os_cmd.add_argument("action", choices=["init"])
    search = sub.add_parser("search", help="the meeting search index")
    search.add_argument("action", choices=["reindex"])
    send = sub.add_parser("send", help="sign a Fathom payload and POST it to a running bot's webhook")
    send.add_argument("path", type=Path)
    send.add_argument("--url", default=None, help="default: http://WEBHOOK_HOST:WEBHOOK_PORT/webhooks/fathom")
    analyze = sub.add_parser(
        "analyze", help="analyse a Fathom JSON payload and print the analysis (no database, Slack or OS)"
    )
    analyze.add_argument("path", type=Path)
    analyze.add_argument("--json", action="store_true", help="print the MeetingAnalysis as JSON (default)")
    analyze.add_argument("--offline", action="store_true", help="use the heuristic even when Claude is set")
    backfill = sub.add_parser("backfill", help="bring in past meetings from Fathom's API (resumable)")
    backfill.add_argument("--since", required=True, type=_date_arg, help="e.g. 2026-10-01 (UTC)")
    backfill.add_argument("--until", type=_date_arg, default=None, help="exclusive end date (UTC)")
    backfill.add_argument("--dry-run", action="store_true", help="list and count only, store nothing")
    retention = sub.add_parser("retention", help="purge what retention: in fathom-os.yml lets go")
    retention.add_argument("--dry-run", action="store_true", help="only show what would be purged")
    forget = sub.add_parser(
        "forget", help="erase a person (GDPR/CCPA): anonymise everywhere, propose OS edits"
    )
    forget.add_argument("email")
    forget.add_argument("--dry-run", action="store_true", help="only show what would change")
    export = sub.add_parser("export", help="write a JSON bundle of everything stored about a person")
    export.add_argument("email")
    export.add_argument("--out", type=Path, default=None, help="file to write (default: stdout)")
    _describe(sub)
    return parser


EXAMPLES = {
    "run": "fathom-os run                       # no Slack tokens: sandbox on http://127.0.0.1:3000/",
    "ingest": "fathom-os ingest examples/fathom/partner_sync.json --store",
    "db": "fathom-os db upgrade",
    "check": "fathom-os check",
    "jobs": "fathom-os jobs list; fathom-os jobs retry 42",
    "reanalyze": "fathom-os reanalyze 910001",
    "os": "fathom-os os init",
    "search": "fathom-os search reindex",
    "send": "fathom-os send examples/fathom/ai_audit_discovery.json",
    "analyze": "fathom-os analyze examples/fathom/ai_audit_discovery.json --offline",
    "backfill": "fathom-os backfill --since 2026-10-01 --dry-run",
    "retention": "fathom-os retention --dry-run",
    "forget": "fathom-os forget rosa@brightline-dental.example --dry-run",
    "export": "fathom-os export rosa@brightline-dental.example --out rosa.json",
}


def _describe(sub: Any) -> None:
    """Every subcommand's --help: its one-line help as the description, and an example."""
    helps = {a.dest: a.help for a in sub._choices_actions}
    for name, parser in sub.choices.items():
        parser.description = parser.description or helps.get(name)
        if name in EXAMPLES:
            parser.epilog = f"example:\n  {EXAMPLES[name]}"
            parser.formatter_class = argparse.RawDescriptionHelpFormatter


def fail(message: str) -> int:
    """One line on stderr saying what happened and what to do; exit code 2."""
    print(f"fathom-os: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        if args.command == "check":  # every bad setting as its own [FAIL] line, with what to do
            from bot.checks import config_checks

            print_checks(config_checks(exc.problems))
            names = ", ".join(dict.fromkeys(p.split(":", 1)[0] for p in exc.problems))
            return fail(
                f"{len(exc.problems)} setting problem(s) ({names}): fix them as shown, then check again"
            )
        print(f"Configuration error:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    handler = COMMANDS[args.command]
    try:
        return asyncio.run(handler(settings, args))
    except KeyboardInterrupt:
        return 130


async def cmd_run(settings: Settings, _args: argparse.Namespace) -> int:
    import errno

    from bot.runtime import Runtime

    try:
        return await Runtime(settings).serve()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        ports = {
            settings.sandbox_port: "SANDBOX_PORT (the sandbox page)",
            settings.webhook_port: "WEBHOOK_PORT (the webhook server)",
        }
        busy = next((f"{p} ({v})" for p, v in ports.items() if p and f", {p})" in str(exc)), "in use")
        return fail(
            f"port {busy} is already in use: stop the other process, or set that variable to a free port"
        )


async def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Dry run by default (analysis printed, nothing stored). With --store the file enters through the
    webhook intake (delivery + job in one transaction), so the running bot's worker does the whole
    pipeline and a later webhook of the same recording is a duplicate: one result whichever came first."""
    from services.fathom import FathomPayloadError, parse_meeting

    try:
        body = args.path.read_bytes()
        meeting = parse_meeting(json.loads(body))
    except OSError as exc:
        return fail(f"cannot read {args.path}: {exc.strerror or exc}")
    except (UnicodeDecodeError, json.JSONDecodeError, FathomPayloadError) as exc:
        return fail(f"{args.path} is not a Fathom meeting payload: {exc}")
    if not args.store:
        return await _ingest_dry_run(settings, meeting)
    import hashlib

    from services.webhook import WebhookIntake

    async with _opened(settings) as runtime:
        intake = WebhookIntake(runtime.db, runtime.queue)
        webhook_id = "ingest-" + hashlib.sha256(body).hexdigest()[:32]
        receipt = await intake.receive(webhook_id, body, source="ingest")
    if receipt.status == "duplicate":
        print(f"recording {meeting.recording_id} was already received; nothing changed")
    elif receipt.status == "rejected":
        return fail(f"{args.path} was refused: {receipt.reason}")
    else:
        print(
            f"stored recording {meeting.recording_id} (delivery {receipt.delivery_id}, job {receipt.job_id}); "
            "the running bot (`fathom-os run`) posts its card, items and approvals as for a webhook"
        )
    return 0


async def _analysed(settings: Settings, meeting: Any, *, offline: bool = False) -> Any:
    """The meeting's AnalysisOutcome without storing anything: the heuristic analyzer offline or
    without an Anthropic key, else Claude with the heuristic as its fallback."""
    from services.analysis.heuristic import HeuristicAnalyzer
    from services.analysis.schema import AnalysisOutcome

    if offline or settings.anthropic_api_key is None:
        return AnalysisOutcome(analysis=HeuristicAnalyzer().analyze_sync(meeting), analyzer="heuristic")
    from bot.clients import build_claude_client
    from services.analysis.base import analyze_with_fallback, build_analyzer

    client = build_claude_client(settings)
    try:
        return await analyze_with_fallback(build_analyzer(settings, client), HeuristicAnalyzer(), meeting)
    finally:
        if client is not None:
            await client.close()


async def _ingest_dry_run(settings: Settings, meeting: Any) -> int:
    outcome = await _analysed(settings, meeting)
    analysis, degraded, outcome_analyzer = outcome.analysis, outcome.degraded, outcome.analyzer
    report = {
        "dry_run": True,
        "stored": False,
        "next": "nothing was stored; `fathom-os ingest FILE --store` (or `fathom-os send FILE`) hands it "
        "to the running bot",
        "recording_id": meeting.recording_id,
        "title": meeting.title,
        "analyzer": outcome_analyzer,
        "degraded": degraded,
        "types": [t.model_dump() for t in analysis.types],
        "summary_one_line": analysis.summary_one_line,
        "action_items": [
            {"text": i.text, "owner": i.owner_name or i.owner_email, "due": i.due_date}
            for i in analysis.action_items
        ],
        "decisions": [d.what for d in analysis.decisions],
        "os_updates": [f"{u.action} {u.path}" for u in analysis.os_updates],
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


def _ingest_report(meeting_id: int, outcome: Any, items: list[Any]) -> dict[str, Any]:
    analysis = outcome.analysis
    return {
        "meeting_id": meeting_id,
        "analyzer": outcome.analyzer,
        "degraded": outcome.degraded,
        "types": [t.model_dump() for t in analysis.types],
        "summary_one_line": analysis.summary_one_line,
        "action_items": [
            {
                "text": i.text,
                "owner": i.owner_name or i.owner_email,
                "due": i.due_date,
                "priority": i.priority,
            }
            for i in items
        ],
        "decisions": [d.what for d in analysis.decisions],
        "risks": [r.text for r in analysis.risks],
        "requirements": [r.text for r in analysis.requirements],
        "budget": [b.text for b in analysis.budget],
        "timeline": [t.text for t in analysis.timeline],
        "os_updates": [f"{u.action} {u.path}" for u in analysis.os_updates],
    }


async def cmd_db(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.db import create_database, current_revision, upgrade

    db = create_database(settings)
    try:
        await upgrade(db)
        print(f"database at revision {await current_revision(db)}")
    finally:
        await db.dispose()
    return 0


async def cmd_check(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.checks import run_checks

    return print_checks(await run_checks(settings))


def print_checks(checks: list[Check]) -> int:
    problems = 0
    for check in checks:
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check.level]
        print(f"[{mark}] {check.name}: {check.message}")
        if check.fix:
            print(f"       fix: {check.fix}")
        problems += check.level == "fail"
    return 1 if problems else 0


async def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import create_database, upgrade
    from services.jobs import JobQueue

    db = create_database(settings)
    try:
        await upgrade(db)
        queue = JobQueue(db)
        if args.action == "retry":
            if args.job_id is None:
                print("usage: fathom-os jobs retry JOB_ID", file=sys.stderr)
                return 2
            if await queue.retry(args.job_id):
                print(f"job {args.job_id} queued again")
                return 0
            print(f"job {args.job_id} is not a dead job", file=sys.stderr)
            return 1
        rows = await queue.failing()
        if not rows:
            print("no failed or dead jobs")
        for job in rows:
            print(
                f"{job.id:>6}  {job.status:<6}  {job.kind:<18} attempts={job.attempts}/{job.max_attempts}  "
                f"{(job.last_error or '')[:120]}"
            )
    finally:
        await db.dispose()
    return 0


async def cmd_reanalyze(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from services.models import SlackMessageRef

    async with _opened(settings) as runtime:
        meeting = await runtime.pipeline.store.by_recording(args.recording_id)
        if meeting is None:
            return fail(
                f"no meeting with recording_id {args.recording_id}; "
                "`fathom-os ingest FILE --store` or `fathom-os send FILE` brings one in"
            )
        async with runtime.db.session() as s:
            card = await s.scalar(
                select(SlackMessageRef).where(SlackMessageRef.entity == f"meeting:{meeting.id}")
            )
        queued = await runtime.pipeline.request_reanalysis(meeting.id)
    what = f'meeting {meeting.id} "{meeting.title}" (recording {args.recording_id})'
    if not queued:
        print(f"{what}: a re-analysis is already queued; the running bot will do it once")
    elif card is not None:
        print(
            f"{what}: re-analysis queued; the running bot analyses it again and updates its card in "
            f"{card.channel} (ts {card.ts}) and the items in its thread"
        )
    else:
        print(
            f"{what}: re-analysis queued; it has no Slack card yet, so the running bot analyses it and "
            "the card appears once the meeting's post job has run (`fathom-os jobs` shows failures)"
        )
    return 0


async def cmd_os(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.runtime import init_os_repo

    created = await init_os_repo(settings)
    where = settings.os_repo_path.resolve()
    print(f"created a new OS at {where}" if created else f"using the existing git repository at {where}")
    return 0


async def cmd_search(settings: Settings, _args: argparse.Namespace) -> int:
    """Rebuild the search index from stored meetings (e.g. after restoring a backup)."""
    from sqlalchemy import select

    from services.models import Meeting

    async with _opened(settings) as runtime:
        async with runtime.db.session() as s:
            ids = list((await s.scalars(select(Meeting.id).order_by(Meeting.id))).all())
        passages = 0
        for meeting_id in ids:
            passages += await runtime.domain.search.index_meeting(meeting_id)
    print(f"indexed {len(ids)} meetings ({passages} passages)")
    return 0


async def cmd_send(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from bot.sandbox.persistence import SECRET_FILE, data_dir, read_secret
    from services.webhook import sign_delivery

    folder = data_dir(settings)
    secret = (settings.webhook_secrets or [None])[0] or read_secret(folder)
    if secret is None:
        return fail(
            f"FATHOM_WEBHOOK_SECRET is not set and there is no sandbox secret in {folder / SECRET_FILE}: "
            "set FATHOM_WEBHOOK_SECRET, or start `fathom-os run` without it once"
        )
    try:
        body = args.path.read_bytes()
    except OSError as exc:
        return fail(f"cannot read {args.path}: {exc.strerror or exc}")
    url = args.url or f"http://{settings.webhook_host}:{settings.webhook_port}/webhooks/fathom"
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(url, content=body, headers=sign_delivery(secret, body))
    except httpx.ConnectError:
        return fail(f"nothing is listening at {url}: start the bot with `fathom-os run` (or pass --url)")
    except httpx.HTTPError as exc:
        return fail(f"sending to {url} failed ({type(exc).__name__}): is the bot running there?")
    print(response.status_code, response.text)
    return 0 if response.status_code < 300 else 1


async def cmd_analyze(settings: Settings, args: argparse.Namespace) -> int:
    """One analysis on stdout; the quality scorer runs this once per meeting, so it imports little."""
    from services.fathom import FathomPayloadError, parse_meeting

    try:
        meeting = parse_meeting(json.loads(args.path.read_text(encoding="utf-8")))
    except OSError as exc:
        print(f"cannot read {args.path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError, FathomPayloadError) as exc:
        print(f"{args.path} is not a Fathom meeting payload: {exc}", file=sys.stderr)
        return 2
    outcome = await _analysed(settings, meeting, offline=args.offline)
    if outcome.degraded:
        print(f"Claude failed, heuristic used: {outcome.error}", file=sys.stderr)
    print(outcome.analysis.model_dump_json(indent=1))
    return 0


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[Runtime]:
    """A command's runtime: storage and the domain opened (no Slack, no workers), closed after."""
    from bot.runtime import Runtime

    runtime = Runtime(settings)
    await runtime.open()
    try:
        yield runtime
    finally:
        await runtime.close()


async def cmd_retention(settings: Settings, args: argparse.Namespace) -> int:
    async with _opened(settings) as runtime:
        report = await runtime.purge_expired(dry_run=args.dry_run)
    print("\n".join(report.lines()))
    return 0


async def cmd_forget(settings: Settings, args: argparse.Namespace) -> int:
    from services.os_config import load_or_default
    from services.privacy import forget

    async with _opened(settings) as runtime:
        try:
            report = await forget(
                runtime.db,
                args.email,
                actor="cli",
                config=load_or_default(runtime.os_repo.path),
                os_repo=runtime.os_repo,
                proposals=runtime.proposals,
                reindex=runtime.domain.search.index_meeting,
                dry_run=args.dry_run,
                queue=runtime.queue,  # the running bot posts the approval card (#18)
            )
        except ValueError as exc:  # an address that is not one
            print(str(exc), file=sys.stderr)
            return 2
    if report.record_id is not None:
        print(f"erasure record #{report.record_id}")
    print("\n".join(report.lines()))
    return 0


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from services.os_config import load_or_default
    from services.privacy import export

    async with _opened(settings) as runtime:
        try:
            bundle = await export(
                runtime.db, args.email, config=load_or_default(runtime.os_repo.path), os_repo=runtime.os_repo
            )
        except ValueError as exc:  # an address that is not one
            print(str(exc), file=sys.stderr)
            return 2
    data = json.dumps(bundle, indent=2, default=str, ensure_ascii=False)
    if args.out is None:
        print(data)
    else:
        args.out.write_text(data + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _date_arg(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date such as 2026-10-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def cmd_backfill(settings: Settings, args: argparse.Namespace) -> int:
    """Lists meetings page by page into the intake (source "backfill"); the bot's workers card them."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from bot.runtime import Runtime
    from services.fathom_api import FathomAPIError
    from services.reconcile import backfill

    if not settings.fathom_keys:
        print("Set FATHOM_API_KEY (or FATHOM_API_KEYS) to backfill from Fathom's API.", file=sys.stderr)
        return 2
    if args.until is not None and args.until <= args.since:
        print("--until must be after --since", file=sys.stderr)
        return 2
    runtime = Runtime(settings)
    api = runtime.fathom_api
    assert api is not None  # built whenever a key is set
    try:
        await runtime.open()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task("meetings listed", total=None)
            report = await backfill(
                runtime.db,
                api,
                None if args.dry_run else runtime.intake,
                since=args.since,
                until=args.until,
                progress=lambda n: bar.advance(task, n),
            )
    except FathomAPIError as exc:
        print(f"Backfill stopped: {exc}. Run the same command again to resume.", file=sys.stderr)
        return 1
    finally:
        await api.close()
        await runtime.close()
    if args.dry_run:
        print(f"dry run: {report.listed} meetings would be backfilled")
    else:
        resumed = " (resumed)" if report.resumed else ""
        print(
            f"backfill{resumed}: {len(report.recovered)} new meetings queued, "
            f"{report.already_known} already known; `fathom-os run` posts their cards"
        )
    return 0


COMMANDS = {
    "backfill": cmd_backfill,
    "run": cmd_run,
    "ingest": cmd_ingest,
    "db": cmd_db,
    "check": cmd_check,
    "jobs": cmd_jobs,
    "reanalyze": cmd_reanalyze,
    "os": cmd_os,
    "send": cmd_send,
    "search": cmd_search,
    "analyze": cmd_analyze,
    "retention": cmd_retention,
    "forget": cmd_forget,
    "export": cmd_export,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
