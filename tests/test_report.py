"""/os-report and the Home tab's charts end to end: the real Runtime against the local Slack server,
which records each upload; the posted blocks reference the uploaded files by id."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox.slack_limits import check_message
from tests.harness import running_bot
from tests.support.browser import browser_only, browser_page, sandbox, shot

REPORT_CHARTS = {"heatmap.png", "timeline.png", "network.png", "sentiment.png", "trend.png"}


def _images(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b.get("type") == "image"]


async def test_os_report_posts_a_dm_with_uploaded_charts_referenced_by_id(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ami_ES2006d_decision")
        await bot.wait_for(lambda: _analysed(bot))
        await bot.wait_for(
            lambda: "tone: positive (+0.21)" in str(bot.parents()[-1]["blocks"])
        )  # the card's tone
        ack = await bot.slack.send_command("U01MAYA", "C01GENERAL", "/os-report", "month")
        assert ack is not None
        await bot.wait_for(lambda: any(_images(m.get("blocks", [])) for m in bot.slack.dms("U01MAYA")))
        [report] = [m for m in bot.slack.dms("U01MAYA") if _images(m.get("blocks", []))]
        images = _images(report["blocks"])
        files = {f.id: f for f in bot.slack.files}
        assert {files[i["slack_file"]["id"]].name for i in images} == REPORT_CHARTS
        assert all(files[i["slack_file"]["id"]].content.startswith(b"\x89PNG") for i in images)
        assert all(i["alt_text"] and len(i["alt_text"]) <= 2000 for i in images)
        assert "monthly report" in report["text"] and "1 meetings" in report["text"]
        check_message(report["text"], report["blocks"])  # Slack's Block Kit limits

        uploads = len(bot.slack.files)
        await bot.slack.send_command("U01MAYA", "C01GENERAL", "/os-report", "month")
        await bot.wait_for(
            lambda: len([m for m in bot.slack.dms("U01MAYA") if _images(m.get("blocks", []))]) == 2
        )
        assert len(bot.slack.files) == uploads  # same data: the cached files are referenced again


async def test_os_report_bad_argument_gets_a_clear_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.slack.send_command("U01MAYA", "C01GENERAL", "/os-report", "yesterday")
        await bot.wait_for(lambda: bool(bot.slack.ephemerals))
        assert "I don't understand 'yesterday'" in str(bot.slack.ephemerals[-1])
        assert not bot.slack.files


async def test_home_tab_shows_charts_and_rerenders_only_what_changed(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.send("ami_ES2006d_decision")
        await bot.wait_for(lambda: _analysed(bot))
        await bot.slack.open_home("U01MAYA")
        await bot.wait_for(lambda: _home_images(bot, "U01MAYA") == 4)
        first = {
            b["block_id"]: b["slack_file"]["id"] for b in _images(bot.slack.home_view("U01MAYA")["blocks"])
        }
        uploads = len(bot.slack.files)
        # another user's tab: the team charts are the same data (cached), only "my items" is theirs
        await bot.slack.open_home("U02JONAS")
        await bot.wait_for(lambda: _home_images(bot, "U02JONAS") == 4)
        second = {
            b["block_id"]: b["slack_file"]["id"] for b in _images(bot.slack.home_view("U02JONAS")["blocks"])
        }
        assert len(bot.slack.files) == uploads + 1
        assert first["home:chart:0"] != second["home:chart:0"]
        assert [first[f"home:chart:{i}"] for i in (1, 2, 3)] == [second[f"home:chart:{i}"] for i in (1, 2, 3)]


def _home_images(bot: Any, user: str) -> int:
    view = bot.slack.home_view(user)
    return len(_images(view["blocks"])) if view else 0


async def _analysed(bot: Any) -> bool:
    from sqlalchemy import func, select

    from services.models import MeetingFacts

    db = bot.runtime.context.domain.db
    async with db.read_session() as s:
        return bool(await s.scalar(select(func.count()).select_from(MeetingFacts)))


@browser_only
async def test_home_charts_and_a_report_render_in_a_real_browser(tmp_path: Path) -> None:
    """Screenshots of the Home tab's dashboard and a posted report (test artifacts; see `shot`)."""
    async with sandbox(tmp_path) as (runtime, slack), browser_page(slack.base_url + "/") as page:
        await page.click("#sample-open")
        await page.select_option("#sample-name", "ai_audit_discovery")
        await page.click("#sample-send")
        await page.wait_for_selector("#messages .replies-link")  # analysed: the items are in the thread
        await page.click("#nav-home")
        charts = page.locator("#messages .home img[alt*='My action items']")
        await charts.wait_for()
        loaded = "imgs => imgs.length === 4 && imgs.every(i => i.complete && i.naturalWidth > 300)"
        await page.wait_for_function(
            f"() => ({loaded})([...document.querySelectorAll('#messages .home .b-image img')])"
        )
        await page.locator("#messages .home [data-block-id='home:dashboard']").scroll_into_view_if_needed()
        await shot(page, tmp_path, "home-dashboard")

        await slack.send_command("U01MAYA", "C01GENERAL", "/os-report", "month")
        await page.click("#nav-dm")
        await page.wait_for_selector("#messages .msg:has-text('monthly report')")
        await page.wait_for_function(
            "() => [...document.querySelectorAll('#messages .b-image img')]"
            ".filter(i => i.complete && i.naturalWidth > 300).length >= 5"
        )
        await page.locator("#messages .msg:has-text('monthly report')").last.scroll_into_view_if_needed()
        await shot(page, tmp_path, "report")
        assert runtime.context is not None


COACHING = """# Coaching with Maya Chen

## 2026-11-02 — [Coaching 1](../meetings/2026/11/c1.md)

s

### Commitments made

- [ ] Maya Chen — Write the weekly update
- [ ] Maya Chen — Shadow two calls

## 2026-11-16 — [Coaching 2](../meetings/2026/11/c2.md)

s

### Commitments made

- [ ] Maya Chen — Lead a discovery call

### Progress on earlier commitments

- [x] followed up: Write the weekly update
- [ ] not mentioned: Shadow two calls
"""


async def test_os_report_coaching_shows_progress_to_the_person_and_admins_only(tmp_path: Path) -> None:
    import subprocess

    async with running_bot(tmp_path) as bot:
        assert bot.runtime.context is not None
        repo = bot.runtime.context.domain.os_repo.path
        (repo / "coaching").mkdir(exist_ok=True)
        (repo / "coaching" / "jonas-reed.md").write_text(COACHING.replace("Maya Chen", "Jonas Reed"))
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@agency.example"]
        subprocess.run([*git, "add", "coaching/jonas-reed.md"], cwd=repo, check=True)
        subprocess.run([*git, "commit", "-q", "-m", "coaching"], cwd=repo, check=True)

        await bot.slack.send_command("U02JONAS", "C01GENERAL", "/os-report", "coaching <@U02JONAS|jonas>")
        await bot.wait_for(
            lambda: any("Coaching: Jonas Reed" in m["text"] for m in bot.slack.dms("U02JONAS"))
        )
        [dm] = [m for m in bot.slack.dms("U02JONAS") if "Coaching: Jonas Reed" in m["text"]]
        calls = next(b for b in dm["blocks"] if b.get("block_id") == "coaching:calls")["text"]["text"]
        assert (
            "2026-11-02: 2 commitments" in calls
            and "2026-11-16: 1 commitments, 1/2 earlier followed up" in calls
        )
        assert "followed up 1/2 (50%)" in dm["text"]

        await bot.slack.send_command("U03PRIYA", "C01GENERAL", "/os-report", "coaching <@U02JONAS|jonas>")
        await bot.wait_for(lambda: bool(bot.slack.dms("U03PRIYA")))
        assert "Only admins and the person themself" in bot.slack.dms("U03PRIYA")[-1]["text"]
