"""A real git OS for tests: an OS repository with Maya as the only approver, outside edits made with
the git CLI, a users.info stand-in, and an analysis that proposes only the given OS updates."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.analysis.schema import AnalysisOutcome, MeetingAnalysis, OSUpdate, TypeScore
from services.os_repo import OSRepo
from services.slack.gateway import SlackUser

MAYA = SlackUser("U01MAYA", "Maya Chen", "maya@agency.example", None)
JONAS = SlackUser("U02JONAS", "Jonas Reed", "jonas@agency.example", None)
PLAN = "# Plan\n\n## Goals\n\nShip the audit.\n\n## Budget\n\nTen thousand.\n"


class Directory:
    """Stands in for Slack's users.info: the service only needs a name and an email per user id."""

    def __init__(self, *users: SlackUser) -> None:
        self.users = {u.id: u for u in users}

    async def user_info(self, user_id: str) -> SlackUser:
        return self.users[user_id]


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=Outside Editor", "-c", "user.email=editor@agency.example"]
    done = subprocess.run(["git", *env_args, *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def commit_file(repo: Path, rel: str, text: str, message: str = "edit outside the bot") -> None:
    target = repo / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git(repo, "add", rel)
    git(repo, "commit", "-q", "-m", message)


async def init_os(path: Path) -> OSRepo:
    """An OS whose fathom-os.yml names Maya as the only approver."""
    repo = OSRepo(path)
    await repo.init(
        context={
            "agency_name": "Test Agency",
            "admin_email": "maya@agency.example",
            "admin_name": "Maya Chen",
            "default_channel": "",
        }
    )
    return repo


def outcome(*updates: OSUpdate) -> AnalysisOutcome:
    """An analysis that finds nothing: internal, so the only standard update is the meeting note."""
    analysis = MeetingAnalysis(
        types=[TypeScore(type="internal_partner", confidence=0.9)],
        summary_one_line="A test meeting",
        summary="- test",
        os_updates=list(updates),
    )
    return AnalysisOutcome(analysis=analysis, analyzer="claude")
