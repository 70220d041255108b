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
    ("/os-help", "This message.", "/os-help"),
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
