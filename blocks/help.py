"""`/os-help`: every command with an example, and which features this installation has on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.limits import SECTION_TEXT
from blocks.text import esc_trunc, slack_len

# What each slash command does, keyed by the command; which ones are shown comes from the commands
# the app registered (`handlers.commands.help`), so a command without an entry here still appears.
COMMAND_DOCS: dict[str, tuple[str, str, str]] = {  # command -> (arguments, what it does, example)
    "/os-actions": (
        "[@user | overdue]",
        "Your open action items (or someone's, or the overdue ones), with Done, Snooze, Reassign, Edit.",
        "/os-actions overdue",
    ),
    "/os-meetings": (
        "QUERY",
        "Search titles, summaries, decisions and transcripts. Filters: `client:` `type:` "
        "`after:YYYY-MM-DD` `with:@user`.",
        "/os-meetings pricing client:brightline after:2026-11-01",
    ),
    "/os-audit": (
        "[meeting or client]",
        "Generate a client OS from an AI-audit meeting.",
        "/os-audit brightline",
    ),
    "/os-history": (
        "[path]",
        "Recent OS commits and the meetings behind them, for the whole OS or one file.",
        "/os-history clients/brightline.md",
    ),
    "/os-rollback": (
        "COMMIT",
        "Revert an OS commit (approvers only); the revert is a new commit by you.",
        "/os-rollback 3f2a9c1",
    ),
    "/os-report": (
        "[week|month] [client:NAME] [here] | coaching @person",
        "The dashboard as a DM: meetings, items, time by client, ROI per type, decisions, risks, tone "
        "and charts; `here` posts it to the channel (admins); `coaching @person`: their coaching progress.",
        "/os-report month client:brightline",
    ),
    "/os-help": (
        "[privacy]",
        "This message; `/os-help privacy` for what is stored, for how long, and what Claude sees.",
        "/os-help privacy",
    ),
}
MENTION = (
    "@Fathom OS QUESTION",
    "Ask about past meetings; the answer cites the meetings and moments it comes from.",
    "@Fathom OS what did we decide about pricing with Brightline?",
)

Intake = Literal["webhook", "sandbox", "polling", "refused"]


@dataclass(frozen=True)
class ConfigState:
    """The live configuration /os-help reports: built from the running settings, never hard-coded."""

    commands: tuple[str, ...]  # the registered slash commands, in registration order
    claude_model: str | None  # None: offline heuristic analyzer
    slack_mode: str  # "slack" | "sandbox"
    intake: Intake  # how meetings arrive; "refused" only when no secret and no polling
    webhook_secrets: int
    reconcile_minutes: float | None  # None: no Fathom API key, missed webhooks are not recovered
    os_path: str
    default_channel: str | None


def _on(flag: bool) -> str:
    return ":large_green_circle:" if flag else ":white_circle:"


def _command_line(command: str) -> str:
    args, what, example = COMMAND_DOCS.get(command, ("", "", command))
    usage = f"{command} {args}".strip()
    return f"*`{usage}`* — {what or 'see the app manifest'}\n      e.g. `{example}`"


def _intake_line(state: ConfigState) -> str:
    if state.intake == "webhook":
        text = f"webhooks accepted ({state.webhook_secrets} signing secret(s))"
    elif state.intake == "sandbox":
        text = (
            "webhooks accepted, signed with the sandbox's own secret (data folder; `fathom-os send` uses it)"
        )
    elif state.intake == "polling":
        text = "polling Fathom's API every minute (no webhook secret, no public URL needed)"
    else:
        text = "no FATHOM_WEBHOOK_SECRET and no FATHOM_API_KEY: webhooks are refused"
    if state.intake != "polling":
        text += (
            f"; missed deliveries recovered every {state.reconcile_minutes:g} min"
            if state.reconcile_minutes
            else "; no FATHOM_API_KEY, so a missed delivery is not recovered"
        )
    return f"{_on(state.intake != 'refused')} Fathom intake: {text}"


def help_message(state: ConfigState) -> Message:
    lines = [_command_line(command) for command in state.commands]
    lines.append(f"*`{MENTION[0]}`* — {MENTION[1]}\n      e.g. `{MENTION[2]}`")
    analysis = f"Claude (`{state.claude_model}`)" if state.claude_model else "offline heuristic (no key)"
    slack = "real Slack (Socket Mode)" if state.slack_mode == "slack" else "local Slack sandbox"
    config = [
        f"{_on(bool(state.claude_model))} Analysis and Q&A: {analysis}",
        f"{_on(state.slack_mode == 'slack')} Slack: {slack}",
        _intake_line(state),
        f":file_folder: OS repository: `{esc_trunc(state.os_path, 300)}`",
        f":speech_balloon: Default channel: {esc_trunc(state.default_channel or 'none', 100)}",
    ]
    blocks: list[Block] = [
        HeaderBlock(block_id="help:header", text="Fathom OS — commands"),
        SectionBlock(block_id="help:commands", text=mrkdwn(_whole_lines(lines))),
        SectionBlock(block_id="help:config", text=mrkdwn("*Configuration*\n" + "\n".join(config))),
        ContextBlock(
            block_id="help:home", elements=[mrkdwn("Open the app's *Home* tab for your dashboard.")]
        ),
    ]
    return build("Fathom OS commands and configuration", blocks)


def _whole_lines(lines: list[str]) -> str:
    """Whole command lines up to a section's 3,000 characters: a long list loses lines, never halves."""
    out: list[str] = []
    used = 0
    for line in lines:
        if used + slack_len(line) + 1 > SECTION_TEXT:
            break
        out.append(line)
        used += slack_len(line) + 1
    return "\n".join(out)


@dataclass(frozen=True)
class PrivacyState:
    """The compliance report's inputs: `services.privacy.privacy_settings` plus where things live."""

    claude_model: str | None
    mode: str
    clients: dict[str, str]
    meeting_types: dict[str, str]
    patterns: list[str]
    terms: int
    transcripts_days: int | None
    webhook_bodies_days: int | None
    database: str  # the engine only ("SQLite", "PostgreSQL"), never the URL
    os_path: str
    phone_region: str = "US"


def _days(days: int | None) -> str:
    return f"{days} days" if days else "forever (no limit set)"


def privacy_report(state: PrivacyState) -> Message:
    stored = [
        f"*Database* ({state.database}): raw Fathom webhook bodies, meetings (title, attendees,"
        " summary, transcript), analysis, action items, decisions, people (e-mail ↔ Slack user),"
        " the search index, Slack message references, LLM usage, the audit log, redaction counts"
        " and erasure records (counts only).",
        f"*OS repository* (`{esc_trunc(state.os_path, 200)}`, git): approved notes, client and team"
        " pages; git history keeps earlier versions.",
        "*Slack*: the cards and threads the bot posted.",
    ]
    kept = [
        f"Transcripts: {_days(state.transcripts_days)}",
        f"Raw webhook bodies: {_days(state.webhook_bodies_days)}",
        "Analysis, items, decisions: until deleted (`fathom-os forget EMAIL` for one person)",
    ]
    rules = [f"client `{esc_trunc(k, 60)}`: {v}" for k, v in state.clients.items()]
    rules += [f"type `{k}`: {v}" for k, v in state.meeting_types.items()]
    if state.claude_model is None:
        sent = "Nothing: Claude is off (offline heuristic analyzer); nothing leaves this server."
    elif state.mode == "off" and not rules:
        sent = f"Transcripts, summaries, items and attendees, as stored (redaction is off), to `{state.claude_model}`."
    else:
        sent = (
            f"To `{state.claude_model}`: transcripts, summaries, items and Q&A passages *after redaction* —"
            " e-mails, phone numbers, card numbers, IBANs, national ids, street addresses and the"
            " configured patterns and terms become placeholders such as `[EMAIL_1]`"
            + ("; strict mode also replaces names of people other than the attendees." if "strict" in
               [state.mode, *state.clients.values(), *state.meeting_types.values()] else ".")
            + " The originals are put back only in what the bot shows people who may see the meeting."
        )  # fmt: skip
    settings = [
        f"Redaction mode: *{state.mode}*" + (f" ({'; '.join(rules)})" if rules else ""),
        f"Custom patterns: {', '.join(state.patterns) or 'none'}; terms: {state.terms};"
        f" phone numbers without a country code read as {state.phone_region}",
        f"Retention: transcripts {_days(state.transcripts_days)}, raw bodies {_days(state.webhook_bodies_days)}",
    ]
    blocks: list[Block] = [
        HeaderBlock(block_id="privacy:header", text="Fathom OS — privacy"),
        SectionBlock(block_id="privacy:stored", text=mrkdwn("*What is stored, where*\n" + "\n".join(stored))),
        SectionBlock(block_id="privacy:kept", text=mrkdwn("*For how long*\n" + "\n".join(kept))),
        SectionBlock(block_id="privacy:sent", text=mrkdwn("*What is sent to Anthropic*\n" + sent)),
        SectionBlock(
            block_id="privacy:settings",
            text=mrkdwn("*Current settings* (`fathom-os.yml`)\n" + "\n".join(settings)),
        ),
        ContextBlock(
            block_id="privacy:rights",
            elements=[
                mrkdwn(
                    "Subject requests: `fathom-os export EMAIL` (everything stored about a person),"
                    " `fathom-os forget EMAIL [--dry-run]` (erasure); `fathom-os retention --dry-run`."
                )
            ],
        ),
    ]
    return build("Fathom OS privacy: what is stored, for how long, what Claude sees", blocks)
