"""What the no-token sandbox keeps in the data folder so a restart keeps history: its webhook secret
(so `fathom-os send` can sign without FATHOM_WEBHOOK_SECRET) and the workspace (messages, files, views).

The data folder is the folder of the SQLite database (`./data` by default), so the sandbox's Slack
history and the bot's own records live, and are deleted, together. With another database it is `./data`.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sandbox.slack_state import SlackChannel, SlackUser, StoredFile

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.sandbox.slack_state import Workspace

log = logging.getLogger(__name__)

SECRET_FILE = "sandbox_webhook_secret"
WORKSPACE_FILE = "sandbox_workspace.json"
FORMAT = 1


def data_dir(settings: Settings) -> Path:
    """The SQLite database's folder, or ./data for any other database."""
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path).parent
    return Path("data")


def new_secret() -> str:
    """A Standard Webhooks secret, the form Fathom hands out: whsec_ + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def read_secret(folder: Path) -> str | None:
    """The persisted sandbox secret, or None when the sandbox has not made one yet (or it is unreadable)."""
    try:
        value = (folder / SECRET_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value if value.startswith("whsec_") else None


def load_or_create_secret(folder: Path) -> str:
    """The sandbox's webhook secret, made once and kept (owner-only file) so restarts and `send` agree."""
    existing = read_secret(folder)
    if existing:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    path = folder / SECRET_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


def dump_workspace(ws: Workspace) -> dict[str, Any]:
    """Everything a person saw; open modals and unused triggers are not kept (Slack drops them too)."""
    files = []
    for f in ws.files.values():
        if f.completed:
            entry = asdict(f)
            entry["content"] = base64.b64encode(f.content).decode()
            files.append(entry)
    return {
        "format": FORMAT,
        "users": [asdict(u) for u in ws.users.values() if not u.is_bot],
        "channels": [asdict(c) for c in ws.channels.values()],
        "posts": ws.posts,
        "ephemerals": ws.ephemerals,
        "views": {vid: ws.views[vid] for vid in ws.home_view_ids.values() if vid in ws.views},
        "view_owner": {vid: ws.view_owner[vid] for vid in ws.home_view_ids.values() if vid in ws.view_owner},
        "home_view_ids": ws.home_view_ids,
        "files": files,
        "last_ts": ws._last_ts,
    }


def restore_workspace(ws: Workspace, data: dict[str, Any]) -> None:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown sandbox workspace format {data.get('format')!r}")
    for raw in data.get("users", []):
        ws.add_user(SlackUser(**raw))
    for raw in data.get("channels", []):
        ws.channels[raw["id"]] = SlackChannel(**raw)
    ws.posts = {str(k): list(v) for k, v in data.get("posts", {}).items()}
    ws.ephemerals = list(data.get("ephemerals", []))
    ws.views.update(data.get("views", {}))
    ws.view_owner.update(data.get("view_owner", {}))
    ws.home_view_ids.update(data.get("home_view_ids", {}))
    for raw in data.get("files", []):
        raw = {**raw, "content": base64.b64decode(raw.get("content", ""))}
        ws.files[raw["id"]] = StoredFile(**raw)
    ws._last_ts = max(ws._last_ts, float(data.get("last_ts", 0.0)))


def save_workspace(ws: Workspace, path: Path) -> None:
    """Write atomically (temp file + rename), so a crash mid-write leaves the previous state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dump_workspace(ws), default=str), encoding="utf-8")
    os.replace(tmp, path)


def load_workspace(ws: Workspace, path: Path) -> bool:
    """Restore a saved workspace; an unreadable file is set aside (renamed) and the sandbox starts empty."""
    if not path.exists():
        return False
    try:
        restore_workspace(ws, json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        aside = path.with_name(path.name + ".broken")
        log.warning("sandbox workspace %s unreadable (%s); moved to %s, starting empty", path, exc, aside)
        os.replace(path, aside)
        return False
    return True
