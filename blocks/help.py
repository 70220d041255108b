"""`/os-help`: every command with an example, and which features this installation has on."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from blocks.common import Message, build, mrkdwn
from blocks.text import esc_trunc

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("/os-actions", "Your open action items, with Done, Snooze, Reassign and Edit.", "/os-actions"),
    (
        "/os-meetings QUERY",
        "Search titles, summaries, decisions and transcripts. Filters: `client:` `type:` "
        "`after:YYYY-MM-DD` `with:@user`.",
        "/os-meetings pricing client:brightline after:2026-11-01",
    ),
    ("/os-audit", "Generate a client OS from an AI-audit meeting.", "/os-audit"),
    (
        "/os-help",
        "This message; `/os-help privacy` for what is stored, for how long, and what Claude sees.",
        "/os-help privacy",
    ),
    (
        "@Fathom OS QUESTION",
        "Ask about past meetings; the answer cites the meetings and moments it comes from.",
        "@Fathom OS what did we decide about pricing with Brightline?",
    ),
)


@dataclass(frozen=True)
class ConfigState:
    claude_model: str | None  # None: offline heuristic analyzer
    slack_mode: str  # "slack" | "sandbox"
    webhook_secret_set: bool
    os_path: str
    default_channel: str | None


def _on(flag: bool) -> str:
    return ":large_green_circle:" if flag else ":white_circle:"


def help_message(state: ConfigState) -> Message:
    lines = [f"*`{cmd}`* — {what}\n      e.g. `{example}`" for cmd, what, example in COMMANDS]
    analysis = f"Claude (`{state.claude_model}`)" if state.claude_model else "offline heuristic (no key)"
    slack = "real Slack (Socket Mode)" if state.slack_mode == "slack" else "local Slack sandbox"
    config = [
        f"{_on(bool(state.claude_model))} Analysis and Q&A: {analysis}",
        f"{_on(state.slack_mode == 'slack')} Slack: {slack}",
        f"{_on(state.webhook_secret_set)} Fathom webhook secret: {'set' if state.webhook_secret_set else 'not set (webhooks are refused)'}",
        f":file_folder: OS repository: `{esc_trunc(state.os_path, 300)}`",
        f":speech_balloon: Default channel: {esc_trunc(state.default_channel or 'none', 100)}",
    ]
    blocks: list[Block] = [
        HeaderBlock(block_id="help:header", text="Fathom OS — commands"),
        SectionBlock(block_id="help:commands", text=mrkdwn("\n".join(lines))),
        SectionBlock(block_id="help:config", text=mrkdwn("*Configuration*\n" + "\n".join(config))),
        ContextBlock(
            block_id="help:home", elements=[mrkdwn("Open the app's *Home* tab for your dashboard.")]
        ),
    ]
    return build("Fathom OS commands and configuration", blocks)


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
