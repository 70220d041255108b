"""Browser-test parts shared by the sandbox page and report tests: Debian's chromium driven by
Playwright (no `playwright install`; `browser_only` skips with a reason when either is missing), the
real Runtime against a LocalSlack with its page on, and screenshots kept as test artifacts."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.runtime import Runtime
from bot.sandbox import LocalSlack

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
REPO = Path(__file__).resolve().parents[2]
DOCS_IMG = REPO / "docs" / "img"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
browser_only = pytest.mark.skipif(
    not (CHROMIUM and HAVE_PLAYWRIGHT),
    reason="needs a chromium binary (apt-get install -y chromium, or CHROMIUM_PATH) and the playwright "
    "Python package (pip install playwright; no `playwright install` needed)",
)
TIMEOUT_MS = 15_000


@asynccontextmanager
async def sandbox(tmp_path: Path) -> AsyncIterator[tuple[Runtime, LocalSlack]]:
    """The real Runtime against a LocalSlack with its page on; no webhook secret: the runtime makes one."""
    slack = await LocalSlack.start(web_ui=True)
    settings = load_settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        OS_REPO_PATH=str(tmp_path / "os"),
        FATHOM_WEBHOOK_SECRET="",
        WEBHOOK_PORT=0,
        SLACK_DEFAULT_CHANNEL="C02MEETINGS",
    )
    runtime = Runtime(settings, sandbox_slack=slack)
    await runtime.start()
    try:
        yield runtime, slack
    finally:
        await runtime.stop()
        await slack.stop()


@asynccontextmanager
async def browser_page(url: str, timezone: str | None = None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(
                viewport={"width": 1400, "height": 900}, timezone_id=timezone, accept_downloads=True
            )
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            await page.goto(url)
            await page.wait_for_selector("#connection:has-text('live')")
            yield page
        finally:
            await browser.close()


async def shot(page: Any, tmp_path: Path, name: str, docs: bool = False) -> Path:
    """A screenshot kept as a test artifact (tmp_path, and $FATHOM_OS_ARTIFACTS when set).

    `docs`: also one of the README's pictures, rewritten in docs/img/ when FATHOM_OS_DOCS_IMG=1,
    as a small palette PNG."""
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"sandbox-{name}.png"
    await page.screenshot(path=str(path))
    if os.environ.get("FATHOM_OS_ARTIFACTS"):
        target = Path(os.environ["FATHOM_OS_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    if docs and os.environ.get("FATHOM_OS_DOCS_IMG") == "1":
        from PIL import Image

        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            small = image.convert("RGB").resize((image.width * 3 // 4, image.height * 3 // 4))
            small.quantize(colors=64).save(DOCS_IMG / f"{name}.png", optimize=True)
    return path
