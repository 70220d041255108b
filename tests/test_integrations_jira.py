"""Jira through the outbox: the `jira` library against the local REST v2 stand-in; two-way sync."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.jira_api import JiraStandIn
from services.audit_log import history
from services.db import Database
from services.integrations.base import TargetError, Write
from services.integrations.jira import JiraConnector, label
from services.models import ActionItem
from services.os_config import ConnectorSettings
from services.outbox import OutboxService
from tests.support.outbox import (
    APPROVER,
    Notifier,
    add_client_items,
    applied,
    done_both_ways,
    meeting_with_item,
    no_progress,
    outbox,
    sent,
    settled,
    stand_in_fixture,
    worker,
)

EMAIL, TOKEN = "maya@agency.example", "jira-test-token"
MAYA, SAM = "712020:maya", "712020:sam"
CONFIG = f"""
team:
  - {{name: Maya Chen, email: maya@agency.example, slack_user_id: U01MAYA}}
approvers: [maya@agency.example]
integrations:
  jira: {{project_id: OPS, owners: {{U01MAYA: "{MAYA}", sam@agency.example: "{SAM}"}}}}
"""


jira_api = stand_in_fixture(JiraStandIn, email=EMAIL, token=TOKEN, projects=("OPS",))


def connector(stand_in: JiraStandIn, token: str = TOKEN, project: str = "OPS") -> JiraConnector:
    return JiraConnector(stand_in.base_url, EMAIL, token, settings=ConnectorSettings(project_id=project))


def service_for(db: Database, stand_in: JiraStandIn, **kwargs: str) -> tuple[OutboxService, Notifier]:
    return outbox(db, {"jira": connector(stand_in, **kwargs)}, CONFIG)


async def test_send_to_jira_creates_the_issue_with_owner_due_date_and_link(
    db: Database, jira_api: JiraStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    async with db.session() as s:
        (await s.get_one(ActionItem, item_id)).due_date = date(2026, 1, 20)
    service, _ = service_for(db, jira_api)
    issue_id = await applied(service, item_id, "jira")
    fields = jira_api.issues[issue_id]["fields"]
    assert fields["summary"] == "Send the SOW to Acme" and "Acme kickoff" in fields["description"]
    assert fields["assignee"]["accountId"] == MAYA and fields["duedate"] == "2026-01-20"
    assert label(f"jira:item:{item_id}") in fields["labels"]
    [entry] = await service.for_item(item_id)
    assert entry.external_url == f"{jira_api.base_url}/browse/OPS-1"


async def test_sent_twice_and_a_retry_after_a_lost_answer_make_one_issue(
    db: Database, jira_api: JiraStandIn
) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, jira_api)
    async with worker(service):
        first = await service.send_item(item_id, "jira", APPROVER)
        assert (await service.send_item(item_id, "jira", APPROVER)).id == first.id
        done = await settled(service, first.id)
    # the job crashed after Jira created the issue but before it was recorded: run it again
    again = await connector(jira_api).apply(
        Write(first.id, "issue", {"title": "x"}, first.dedupe_key, retry=True), no_progress
    )
    assert again.external_id == done.external_id and len(jira_api.issues) == 1


async def test_a_4xx_shows_jiras_message_on_the_card(db: Database, jira_api: JiraStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, jira_api, project="NOPE")
    done = await sent(service, item_id, "jira")
    assert done.status == "failed" and done.error == "400: project: valid project is required"
    assert cards.cards[-1] == (done.id, "failed", None, done.error)


async def test_a_429_is_honoured_and_retried(db: Database, jira_api: JiraStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, jira_api)
    jira_api.force(429, {}, count=2, retry_after=0.05)
    await applied(service, item_id, "jira")
    assert jira_api.throttled == 2 and len(jira_api.issues) == 1


async def test_undo_deletes_the_issue(db: Database, jira_api: JiraStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, _ = service_for(db, jira_api)
    issue_id = await applied(service, item_id, "jira")
    [entry] = await service.for_item(item_id)
    assert (await service.undo(entry.id, APPROVER)).status == "undone"
    assert issue_id in jira_api.deleted and jira_api.issues == {}


async def test_done_in_jira_marks_the_item_done_here_and_done_here_transitions_it(
    db: Database, jira_api: JiraStandIn
) -> None:
    service, _ = service_for(db, jira_api)
    closed = await done_both_ways(db, service, "jira", jira_api.complete)
    assert jira_api.issues[closed]["fields"]["status"]["statusCategory"]["key"] == "done"


async def test_owner_and_due_date_flow_both_ways(db: Database, jira_api: JiraStandIn) -> None:
    _, item_id = await meeting_with_item(db)
    service, cards = service_for(db, jira_api)
    issue_id = await applied(service, item_id, "jira")
    jira_api.edit(issue_id, assignee=SAM, duedate="2026-02-03")  # edited in Jira
    assert (await service.sync()).edited == 1
    async with db.session() as s:
        item = await s.get_one(ActionItem, item_id)
        assert (item.owner_email, item.due_date) == ("sam@agency.example", date(2026, 2, 3))
        item.owner_slack_id, item.owner_email, item.due_date = "U01MAYA", None, None  # edited here
    assert (await service.sync()).edited == 1
    fields = jira_api.issues[issue_id]["fields"]
    assert fields["assignee"]["accountId"] == MAYA and fields["duedate"] is None
    [latest, *_] = await history(db, f"outbox:{(await service.for_item(item_id))[0].id}")
    assert latest.action == "outbox.edited_there" and latest.after == {"assignee": MAYA, "due_date": None}
    assert cards.items == [item_id] and (await service.sync()).edited == 0


async def test_check_names_the_token_owner_and_refuses_a_bad_token(jira_api: JiraStandIn) -> None:
    assert "Maya Chen" in await connector(jira_api).check()
    with pytest.raises(TargetError, match="not authenticated"):
        await connector(jira_api, token="wrong").check()


async def _client_meeting(db: Database, recording: int, domain: str, kind: str = "client") -> int:
    from services.models import Meeting

    payload = {
        "title": f"{domain} weekly",
        "recording_id": recording,
        "calendar_invitees": [
            {"email": f"dana@{domain}", "is_external": True},
            {"email": "maya@agency.example", "is_external": False},
        ],
    }
    async with db.session() as s:
        meeting = Meeting(
            recording_id=recording, title=f"{domain} weekly", payload=payload, primary_type=kind
        )
        s.add(meeting)
        await s.flush()
        add_client_items(s, meeting.id)
        return meeting.id


async def test_the_rule_per_client_and_meeting_type_proposes_the_agencys_items(
    db: Database, jira_api: JiraStandIn
) -> None:
    rule = CONFIG.replace(
        "jira: {project_id: OPS,",
        "jira: {project_id: OPS, propose_items: true, clients: [acme.example], meeting_types: [client],",
    )
    service, _ = outbox(db, {"jira": connector(jira_api)}, rule)
    acme = await _client_meeting(db, 91, "acme.example")
    other = await _client_meeting(db, 92, "globex.example")
    internal = await _client_meeting(db, 93, "acme.example", kind="internal_partner")
    [entry] = await service.propose_items(acme, "analysis")
    assert (entry.target, entry.status, entry.summary) == ("jira", "proposed", "Task: Send the SOW")
    assert await service.propose_items(other, "analysis") == []  # another client
    assert await service.propose_items(internal, "analysis") == []  # another meeting type
    assert [e.id for e in await service.propose_items(acme, "analysis")] == [entry.id]  # once
    plain, _ = outbox(db, {"jira": connector(jira_api)}, CONFIG)  # no rule: nothing unasked
    assert await plain.propose_items(other, "analysis") == [] and jira_api.calls == 0


async def test_fathom_os_check_reads_jira_and_names_the_fix(tmp_path: Path, jira_api: JiraStandIn) -> None:
    from bot.config import load_settings
    from bot.integrations import connector_checks
    from services.os_config import parse_os_config

    def settings(token: str) -> Any:
        return load_settings(
            JIRA_URL=jira_api.base_url, JIRA_EMAIL=EMAIL, JIRA_TOKEN=token, OS_REPO_PATH=str(tmp_path)
        )

    [ok] = await connector_checks(
        settings(TOKEN), parse_os_config("integrations:\n  jira: {project_id: OPS}\n")
    )
    assert ok.level == "ok" and "Maya Chen" in ok.message
    [gap] = await connector_checks(settings(TOKEN), parse_os_config(""))
    assert gap.level == "warn" and "integrations.jira.project_id" in gap.message
    [fail] = await connector_checks(settings("wrong"), parse_os_config(""))
    assert fail.level == "fail" and "401" in fail.message and "id.atlassian.com" in (fail.fix or "")
