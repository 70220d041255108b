"""The no-token sandbox page works in a real browser: samples become cards, clicks and modals reach the bot.

Driven by Debian's chromium through Playwright (no `playwright install`); skipped with a reason when
either is missing. Screenshots are test artifacts: under the test's tmp_path, copied to
$FATHOM_OS_ARTIFACTS when it is set; with FATHOM_OS_DOCS_IMG=1 the new-user walk also rewrites the
README's pictures in docs/img/.
"""

from __future__ import annotations

import re
import zipfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.runtime import Runtime
from bot.sandbox import LocalSlack
from bot.sandbox.web import TOKEN_HEADER, transcript_payload
from bot.slack_app import HANDLER_MODULES
from services.fathom import parse_meeting
from tests.support.browser import browser_only, browser_page, sandbox, shot

FORM_BUTTON = "sandbox_test.open_form"
FORM_CALLBACK = "sandbox_test.form"


def add_test_form(runtime: Runtime) -> None:
    """A test-only button -> modal -> message update loop, registered on the running Bolt app."""
    app = runtime.bolt_app

    async def open_form(ack: Any, body: dict[str, Any], client: Any) -> None:
        await ack()
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        static = {
            "type": "static_select",
            "action_id": "priority",
            "options": [
                {"text": {"type": "plain_text", "text": label}, "value": label.lower()}
                for label in ("Low", "High")
            ],
        }
        inputs = [
            ("note", "Note", {"type": "plain_text_input", "action_id": "note"}, False),
            ("priority", "Priority", static, False),
            ("owner", "Owner", {"type": "users_select", "action_id": "owner"}, False),
            ("due", "Due", {"type": "datepicker", "action_id": "due"}, True),
        ]
        blocks = [
            {"type": "input", "block_id": b, "label": {"type": "plain_text", "text": label}, "element": e}
            | ({"optional": True} if optional else {})
            for b, label, e, optional in inputs
        ]
        await client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": FORM_CALLBACK,
                "private_metadata": f"{channel}|{ts}",
                "title": {"type": "plain_text", "text": "Test form"},
                "submit": {"type": "plain_text", "text": "Save"},
                "blocks": blocks,
            },
        )

    async def submitted(ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any) -> None:
        values = view["state"]["values"]
        note = values["note"]["note"]["value"]
        if note == "bad":
            await ack(response_action="errors", errors={"note": "Not that one."})
            return
        await ack()
        channel, ts = view["private_metadata"].split("|")
        priority = values["priority"]["priority"]["selected_option"]["value"]
        owner = values["owner"]["owner"]["selected_user"]
        due = values["due"]["due"]["selected_date"]
        text = f"Saved by <@{body['user']['id']}>: {note}, {priority}, owner <@{owner}>, due {due}"
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=[])

    app.action(FORM_BUTTON)(open_form)
    app.view(FORM_CALLBACK)(submitted)


async def page_token(http: aiohttp.ClientSession, base_url: str) -> str:
    async with http.get(base_url + "/") as response:
        assert response.status == 200
        page = await response.text()
    match = re.search(r'<meta name="sandbox-token" content="([^"]+)">', page)
    assert match, "the page carries its per-start token"
    return match.group(1)


async def test_page_routes_refuse_foreign_origin_host_content_type_and_token(tmp_path: Path) -> None:
    """A foreign web page (or a DNS-rebound name) cannot act as a sandbox user; the page itself can."""
    async with sandbox(tmp_path) as (_, slack), aiohttp.ClientSession() as http:
        token = await page_token(http, slack.base_url)
        url = slack.base_url + "/sandbox/api/command"
        body = '{"user": "U01MAYA", "channel": "C01GENERAL", "text": "/os-actions"}'
        own = {"Content-Type": "application/json", TOKEN_HEADER: token, "Origin": slack.base_url}

        async def status(headers: dict[str, str], data: str = body) -> int:
            async with http.post(url, data=data, headers=headers) as response:
                return response.status

        assert await status({**own, "Origin": "http://evil.example"}) == 403
        assert await status({**own, "Origin": "null"}) == 403
        assert await status({**own, "Content-Type": "text/plain"}) == 415
        assert await status({**own, "Content-Type": "application/x-www-form-urlencoded"}) == 415
        assert await status({k: v for k, v in own.items() if k != TOKEN_HEADER}) == 403
        assert await status({**own, TOKEN_HEADER: token[:-1] + ("A" if token[-1] != "A" else "B")}) == 403
        port = slack.base_url.rpartition(":")[2]
        assert await status({**own, "Host": f"rebound.example:{port}"}) == 421
        async with http.get(slack.base_url + "/", headers={"Host": f"rebound.example:{port}"}) as page:
            assert page.status == 421  # nor is the page (and its token) served under a foreign name
        async with http.get(
            slack.base_url + "/sandbox/api/state", headers={"Host": f"evil.example:{port}"}
        ) as state:
            assert state.status == 421
        assert [a.type for a in slack.acks] == [], "no refused request reached the bot"

        assert await status(own) == 200  # the page's own request runs the command
        assert await status({**own, "Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"}) == 200
        assert [a.type for a in slack.acks] == ["slash_commands", "slash_commands"]
        other = await LocalSlack.start(web_ui=True)
        try:
            assert await page_token(http, other.base_url) != token  # a token per start
        finally:
            await other.stop()


def test_pasted_transcript_becomes_a_valid_fathom_payload_with_speakers() -> None:
    payload = transcript_payload("Maya Chen: We ship Friday.\nplain words without a speaker\n", "Standup")
    meeting = parse_meeting(payload)
    assert meeting.title == "Standup"
    assert [u.speaker.display_name for u in meeting.transcript] == ["Maya Chen", "Maya Chen"]
    assert transcript_payload("x")["recording_id"] != transcript_payload("x")["recording_id"]


def test_pasted_transcript_has_its_speakers_invitees_and_duration() -> None:
    """#16 item 5: speakers from the text, known people internal, other speakers external, real length."""
    text = (
        "[00:00:05] Maya Chen: Welcome, Rosa.\n"
        "[00:01:10] Dr. Rosa Alvarez: The front desk is drowning in calls.\n"
        "[00:04:30] Jonas Reed: I will map the insurance workflow by Friday.\n"
    )
    people = {"Maya Chen": "maya@agency.example", "Jonas Reed": "jonas@agency.example"}
    meeting = parse_meeting(transcript_payload(text, "Brightline Dental - discovery", people=people))
    assert [u.speaker.display_name for u in meeting.transcript] == [
        "Maya Chen",
        "Dr. Rosa Alvarez",
        "Jonas Reed",
    ]
    assert [i.email for i in meeting.internal_invitees] == ["maya@agency.example", "jonas@agency.example"]
    assert meeting.external_domains == ["brightline-dental.example"]
    assert meeting.duration_seconds is not None and 270 <= meeting.duration_seconds <= 300


async def test_composer_names_become_mentions(tmp_path: Path) -> None:
    """#16 item 6: `@Jonas Reed` and `@Fathom OS` typed in the composer are real mentions."""
    slack = await LocalSlack.start(web_ui=True)
    try:
        assert slack.web_ui is not None
        text = slack.web_ui.mentions("@Fathom OS ask @Jonas Reed and @priya, mail a@b.example")
        assert text == "<@U0FATHOMBOT> ask <@U02JONAS> and <@U03PRIYA>, mail a@b.example"
    finally:
        await slack.stop()


@browser_only
async def test_sample_meeting_card_thread_home_and_modal_work_in_a_real_browser(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (runtime, slack), browser_page(slack.base_url + "/") as page:
        add_test_form(runtime)
        await page.click("#sample-open")
        await page.select_option("#sample-name", "ai_audit_discovery")
        await page.click("#sample-send")
        # The card arrives over SSE (no reload) and is enriched in place.
        await page.wait_for_selector("#messages .msg:has-text('Brightline Dental')")
        await page.wait_for_selector("#messages .replies-link")
        await page.click("#messages .replies-link")
        await page.wait_for_selector("#thread-messages [data-action-id='action_item.done']")
        assert await page.locator("#thread-messages .msg").count() >= 5  # parent + one reply per item
        await shot(page, tmp_path, "card-thread")

        # A stranger opens a modal from a message button, fails validation, then submits.
        await runtime.bolt_app.client.chat_postMessage(
            channel="C01GENERAL",
            text="form",
            blocks=[
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": FORM_BUTTON,
                            "text": {"type": "plain_text", "text": "Open form"},
                            "style": "primary",
                        }
                    ],
                }
            ],
        )
        await page.select_option("#user-switch", "U09STRANGER")
        await page.click("#channel-list a[data-channel='C01GENERAL']")
        await page.click("#messages button:has-text('Open form')")
        modal = page.locator("#modal-layer .modal[data-callback-id='sandbox_test.form']")
        await modal.wait_for()
        await modal.locator("button[type=submit]").click()
        await modal.locator(".error").first.wait_for()  # required fields are checked like Slack does
        await modal.locator("[data-action-id='note']").fill("bad")
        await modal.locator("select[data-action-id='priority']").select_option("high")
        await modal.locator("select[data-action-id='owner']").select_option("U02JONAS")
        await modal.locator("input[data-action-id='due']").fill("2026-12-01")
        await shot(page, tmp_path, "modal")
        await modal.locator("button[type=submit]").click()
        await modal.locator(".error:has-text('Not that one.')").wait_for()  # the app's errors ack
        await modal.locator("[data-action-id='note']").fill("ship it")
        await modal.locator("button[type=submit]").click()
        await page.wait_for_selector("#modal-layer", state="hidden")
        saved = "Saved by @Sam Stranger: ship it, high, owner @Jonas Reed, due 2026-12-01"
        await page.wait_for_selector(f"#messages .msg:has-text('{saved}')")
        await shot(page, tmp_path, "after-modal")

        await page.click("#nav-home")  # app_home_opened; the published view renders without reload
        await page.wait_for_selector("#messages .home .blocks > :first-child")
        await shot(page, tmp_path, "home")


@browser_only
@pytest.mark.skipif(
    "handlers.actions.action_items" not in HANDLER_MODULES,
    reason="the action item handlers (Done) are not registered in bot.slack_app yet",
)
async def test_clicking_done_in_the_thread_updates_the_action_item(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as (_, slack), browser_page(slack.base_url + "/") as page:
        await page.click("#sample-open")
        await page.select_option("#sample-name", "ai_audit_discovery")
        await page.click("#sample-send")
        await page.click("#messages .replies-link")
        done_button = "[data-action-id='action_item.done']"
        items = page.locator("#thread-messages .msg", has=page.locator(done_button))
        await items.first.wait_for()
        ts = await items.first.get_attribute("data-ts")
        await items.first.locator(done_button).click()
        reply = page.locator(f"#thread-messages .msg[data-ts='{ts}']")
        # that item's card is redrawn in place as done (more item replies may still be arriving)
        await reply.locator("[data-action-id='action_item.reopen']").wait_for()
        assert await reply.locator(done_button).count() == 0
        await shot(page, tmp_path, "done")


def snooze_seen_in_new_york() -> str:
    """ "Tomorrow 9:00" for Jonas (Europe/Berlin) as a viewer in New York reads it on the page."""
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    now = datetime.now(UTC)
    until = datetime.combine(now.astimezone(berlin).date() + timedelta(days=1), time(9), berlin)
    seen = until.astimezone(new_york)
    today = now.astimezone(new_york).date()
    days = {today: "today", today + timedelta(days=1): "tomorrow"}
    day = days.get(seen.date(), f"{seen:%b} {seen.day}, {seen.year}")
    return f"{day} at {seen.hour % 12 or 12}:{seen:%M} {'AM' if seen.hour < 12 else 'PM'}"


@browser_only
async def test_a_new_user_walks_sample_items_approvals_client_os_home_and_search(tmp_path: Path) -> None:
    """#16 done-when: the whole first hour in one browser, each step asserted on what the page shows.

    The browser runs in Maya's zone (New York); the item is Jonas's, snoozed to 9:00 in his (Berlin):
    the page shows Maya her own clock time, as Slack's <!date> does (#16 item 13).
    """
    async with (
        sandbox(tmp_path) as (_, slack),
        browser_page(slack.base_url + "/", timezone="America/New_York") as page,
    ):
        # 1. a sample meeting: the card, then its thread with one reply per action item
        await page.click("#sample-open")
        await page.select_option("#sample-name", "ai_audit_discovery")
        await page.click("#sample-send")
        await page.wait_for_selector("#messages .msg:has-text('Brightline Dental')")
        await page.click("#messages .replies-link")
        done_button = "[data-action-id='action_item.done']"
        items = page.locator("#thread-messages .msg", has=page.locator(done_button))
        await items.first.wait_for()
        approve = page.locator("#thread-messages [data-action-id='proposal.approve']")
        await approve.first.wait_for()
        await shot(page, tmp_path, "card", docs=True)

        # 2. items: Done on the first, Snooze "Tomorrow 9:00" on the next, read in the viewer's zone
        first_ts = await items.first.get_attribute("data-ts")
        await items.first.locator(done_button).click()
        first = page.locator(f"#thread-messages .msg[data-ts='{first_ts}']")
        await first.locator(done_button).wait_for(state="detached")  # redrawn in place as done
        await first.locator("text=Reopen").wait_for()  # (more item replies may still be arriving)
        snoozed_ts = await items.first.get_attribute("data-ts")
        await items.first.locator("select[data-action-id='action_item.snooze']").select_option(
            label="Tomorrow 9:00"
        )
        snoozed = page.locator(f"#thread-messages .msg[data-ts='{snoozed_ts}']")
        await snoozed.locator(f"text=snoozed until {snooze_seen_in_new_york()}").wait_for()
        assert "UTC" not in await snoozed.inner_text()
        await shot(page, tmp_path, "items", docs=True)

        # 3. approvals: Approve the first proposal; the card says it is applied, with Revert
        proposals = page.locator(
            "#thread-messages .msg", has=page.locator("[data-action-id='proposal.approve']")
        )
        card_ts = await proposals.first.get_attribute("data-ts")
        pending = await approve.count()
        await approve.first.click()
        await page.wait_for_function(
            "n => document.querySelectorAll(\"#thread-messages [data-action-id='proposal.approve']\")"
            ".length < n",
            arg=pending,
        )
        card = page.locator(f"#thread-messages .msg[data-ts='{card_ts}']")
        await card.locator("text=applied").first.wait_for()
        await card.locator("[data-action-id='proposal.revert']").first.wait_for()
        await shot(page, tmp_path, "approvals", docs=True)

        # 4. the client OS: Generate from the card, default options, Generate on the preview, the zip
        await page.click("#thread-close")
        await page.locator("#messages [data-action-id='audit.generate']").first.click()
        modal = page.locator("#modal-layer .modal[data-callback-id='audit.options_submit']")
        await modal.wait_for()
        await modal.locator("button[type=submit]").click()
        await page.wait_for_selector("#modal-layer", state="hidden")
        build = page.locator("[data-action-id='audit.build']")
        if not await build.count():  # the preview is in the meeting's thread
            await page.click("#messages .replies-link")
        await build.first.wait_for()
        await build.first.click()
        zip_link = page.locator(".file-name:text-matches('\\.zip$')")
        await zip_link.first.wait_for()
        async with page.expect_download() as download_info:
            await zip_link.first.click()
        download = await download_info.value
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        with zipfile.ZipFile(saved) as archive:
            names = archive.namelist()
        assert any(n.endswith("CLAUDE.md") for n in names), names
        await shot(page, tmp_path, "client-os", docs=True)

        # 5. Home: the user's open items and what waits for approval, with Approve buttons
        await page.click("#nav-home")
        home = page.locator("#messages .home")
        await home.locator(".blocks > :first-child").wait_for()
        await home.locator("text=Your open action items").first.wait_for()
        await home.locator("text=awaiting your approval").first.wait_for()
        home_approve = home.locator("[data-action-id='proposal.approve']")
        await home_approve.first.wait_for()  # #16 item 7: Approve right on Home
        await shot(page, tmp_path, "home", docs=True)
        heading = await home.locator("text=awaiting your approval").first.inner_text()
        waiting = int(re.search(r"approval \((\d+)\)", heading).group(1))  # type: ignore[union-attr]
        await home_approve.first.click()  # committed, and the tab redrawn with one fewer waiting
        left = f"text=awaiting your approval ({waiting - 1})" if waiting > 1 else "text=None right now"
        await home.locator(left).first.wait_for()

        # 6. search: /os-meetings answers with the meeting
        await page.click("#channel-list a[data-channel='C02MEETINGS']")
        await page.fill("#composer-input", "/os-meetings brightline")
        await page.press("#composer-input", "Enter")
        result = page.locator("#messages .msg.ephemeral:has-text('1 meeting')")
        await result.wait_for()
        assert "Brightline Dental" in await result.inner_text()
        await shot(page, tmp_path, "search", docs=True)
    assert sorted(p.name for p in (tmp_path / "screenshots").iterdir()) == [
        f"sandbox-{n}.png" for n in sorted(["approvals", "card", "client-os", "home", "items", "search"])
    ]


async def test_a_missed_webhook_sample_is_recovered_by_the_sandbox_reconciliation(tmp_path: Path) -> None:
    """The "Send as a missed webhook" button: the meeting goes into the sandbox's local Fathom API only, and the
    bot's own scheduled reconciliation (every 15 s in the sandbox) cards it; no webhook is ever sent."""
    import asyncio

    from sqlalchemy import select

    from services.models import WebhookDelivery

    async with sandbox(tmp_path) as (runtime, slack), aiohttp.ClientSession() as http:
        token = await page_token(http, slack.base_url)
        headers = {"Content-Type": "application/json", TOKEN_HEADER: token, "Origin": slack.base_url}
        body = {"user": "U01MAYA", "title": "Missed webhook demo", "transcript": "Maya Chen: Ship it Friday."}
        async with http.post(slack.base_url + "/sandbox/api/sample_missed", json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            answer = await r.json()
        assert answer["ok"] and answer["status"] == "listed" and answer["reconcile_seconds"] == 15
        deadline = asyncio.get_running_loop().time() + 60  # a scheduled pass or two, on a loaded machine
        while not any("Missed webhook demo" in m.get("text", "") for m in slack.messages("C02MEETINGS")):
            assert asyncio.get_running_loop().time() < deadline, "reconciliation never carded the meeting"
            await asyncio.sleep(0.2)
        async with runtime.db.session() as s:
            rows = (await s.execute(select(WebhookDelivery.source, WebhookDelivery.recording_id))).all()
        assert rows == [("reconciliation", answer["recording_id"])]  # no webhook delivery at all
        # unknown sample: a clear error, not a crash
        async with http.post(
            slack.base_url + "/sandbox/api/sample_missed", json={"name": "nope"}, headers=headers
        ) as r:
            assert r.status == 400 and "no sample named" in (await r.json())["error"]
