"""Text helpers: every user string goes through here before it reaches Block Kit.

Slack parses `&`, `<` and `>` in mrkdwn, so an unescaped title like `<!channel>` or
`<https://evil|bank>` would become a ping or a disguised link. Lengths are counted in UTF-16 code
units (`slack_len`) because that is the conservative reading of Slack's "characters": an emoji
never pushes a block over a limit we think it is under.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"
MAX_INLINE_URL = 1000
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_FENCE = re.compile(r"`(?=``)")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def slack_len(text: str) -> int:
    """Length as Slack may count it (UTF-16 code units, so astral emoji count as two)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    """Longest prefix of `text` whose slack_len is <= limit, never splitting a code point."""
    if slack_len(text) <= limit:
        return text
    out: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit:
            break
        out.append(char)
        used += size
    return "".join(out)


def truncate(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Fit `text` into `limit`, marking the cut with `suffix` (also counted)."""
    if slack_len(text) <= limit:
        return text
    head = _cut(text, max(0, limit - slack_len(suffix)))
    return (
        _PARTIAL_ENTITY.sub("", head.rstrip()) + suffix if limit >= slack_len(suffix) else _cut(suffix, limit)
    )


def escape(text: str | None) -> str:
    """Escape mrkdwn control characters so user text stays text (no mentions, no links).

    A triple backtick in user text would open a code block that swallows the rest of the card,
    so it gets an invisible zero-width space.
    """
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FENCE.sub("`\u200b", text)


def esc_trunc(text: str | None, limit: int, suffix: str = ELLIPSIS) -> str:
    """Escape then truncate without leaving half an `&amp;` behind."""
    return truncate(escape(text), limit, suffix)


def inline_code(text: str | None, limit: int) -> str:
    """`text` as inline code; backticks inside would end it early, so they become look-alikes."""
    return f"`{esc_trunc((text or '').replace('`', 'ˋ'), limit - 2)}`"


def plain(text: str | None, limit: int, fallback: str = "(untitled)") -> str:
    """For plain_text objects: Slack shows them literally, so only whitespace is tidied."""
    cleaned = " ".join((text or "").split())
    return truncate(cleaned or fallback, limit)


def safe_url(url: str | None, max_length: int = 3000) -> str | None:
    """An http(s) URL safe to put inside `<url|label>` (or a link button), else None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    safe = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return safe if len(safe) <= max_length else None


def link(url: str | None, label: str) -> str:
    """A mrkdwn link whose label is escaped; just the label when the URL is unusable.

    Inline URLs are capped at 1,000 characters so one absurd link cannot eat a section's budget.
    """
    target = safe_url(url, MAX_INLINE_URL)
    label = escape(label).replace("|", "¦")
    return f"<{target}|{label}>" if target else label


def user_mention(user_id: str | None) -> str | None:
    """`<@U123>` for a well-formed Slack user id (also accepts an existing `<@U123>`)."""
    if not user_id:
        return None
    user_id = user_id.strip()
    if user_id.startswith("<@") and user_id.endswith(">"):
        user_id = user_id[2:-1]
    return f"<@{user_id}>" if _USER_ID.match(user_id) else None


def slack_date(when_ts: float, fmt: str, fallback: str) -> str:
    """Slack's date token: rendered in each reader's own time zone; fallback shown elsewhere."""
    return f"<!date^{int(when_ts)}^{fmt}|{escape(fallback)}>"


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^\s)]+)\)")


def markdown_to_mrkdwn(markdown: str | None) -> str:
    """Fathom and Claude write GitHub markdown; Slack reads mrkdwn. Escapes first, then converts.

    Only explicit `[label](https://...)` links become links: the author meant them, and the URL
    is re-validated. Bare `<...>` never survives escaping.
    """
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        links.append(link(match.group(2), match.group(1)))
        return f"\x00{len(links) - 1}\x00"

    text = _MD_LINK.sub(keep_link, markdown or "")
    lines: list[str] = []
    for raw in escape(text).splitlines():
        heading = _HEADING.match(raw)
        if heading:
            line = f"*{heading.group(1)}*" if heading.group(1) else ""
        else:
            line = _BULLET.sub(lambda m: m.group(1) + "• ", raw)
        line = _BOLD.sub(lambda m: f"*{m.group(1) or m.group(2)}*", line)
        lines.append(line.rstrip())
    out = "\n".join(lines).strip()
    out = re.sub(r"\n{3,}", "\n\n", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], out)


def fit_markdown(mrkdwn: str, limit: int, tail: str = "") -> str:
    """Cut already-converted mrkdwn at a line (or word) boundary and append `tail`.

    Cutting inside `<url|label>` would leave a broken link, so a cut that lands inside one backs
    off to before its `<`.
    """
    if slack_len(mrkdwn) <= limit:
        return mrkdwn
    room = max(0, limit - slack_len(tail) - 1)
    head = _cut(mrkdwn, room)
    open_at, close_at = head.rfind("<"), head.rfind(">")
    if open_at > close_at:
        head = head[:open_at]
    newline = head.rfind("\n")
    if newline > len(head) * 0.6:
        head = head[:newline]
    elif " " in head[-40:]:
        head = head[: head.rfind(" ")]
    head = _PARTIAL_ENTITY.sub("", head.rstrip())
    return f"{head}{ELLIPSIS}{tail}" if tail else f"{head}{ELLIPSIS}"


def code_block(text: str, limit: int) -> str:
    """A ``` block that fits `limit`, with escaped content and no premature fence."""
    body = escape(text)
    fence = "```"
    room = limit - 2 * slack_len(fence) - 2
    if slack_len(body) > room:
        marker = "\n… (truncated)"
        cut = _cut(body, max(0, room - slack_len(marker)))
        newline = cut.rfind("\n")
        cut = cut[:newline] if newline > 0 else cut
        body = _PARTIAL_ENTITY.sub("", cut) + marker
    return f"{fence}\n{body}\n{fence}"


def bullet_lines(lines: list[str], limit: int, more: str = "+{n} more") -> str:
    """Join as many ready-made mrkdwn lines as fit in `limit`, then say how many were left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index - 1
        reserve = slack_len(more.format(n=len(lines))) + 1 if remaining else 0
        size = slack_len(line) + (1 if out else 0)
        if used + size + reserve > limit:
            out.append(more.format(n=len(lines) - index))
            break
        out.append(line)
        used += size
    return "\n".join(out)
