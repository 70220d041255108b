"""GET /metrics (Prometheus format) after one real meeting through the bot: webhook, Slack, Claude
(through the real anthropic SDK against the fake), the job queue and reconciliation series."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import running_bot
from tests.support.fake_anthropic import FakeAnthropic


async def test_metrics_expose_each_series_after_one_meeting(tmp_path: Path) -> None:
    async with (
        FakeAnthropic() as claude,
        running_bot(tmp_path, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL=claude.url) as bot,
    ):
        assert (await bot.send("partner_sync"))[0] == 202
        assert (await bot.send("partner_sync"))[0] == 200  # the same recording again: duplicate
        store = bot.runtime.pipeline.store

        async def analysed() -> bool:
            meeting = await store.by_recording(910002)
            return bool(meeting and meeting.status == "analysed")

        await bot.wait_for(analysed, timeout=30)
        url = f"http://127.0.0.1:{bot.runtime.http_port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("fathom_os_webhook_deliveries_total", outcome="accepted") >= 1
    assert value("fathom_os_webhook_deliveries_total", outcome="duplicate") >= 1
    assert value("fathom_os_webhook_ack_seconds_count") >= 2
    assert value("fathom_os_slack_calls_total", method="chat.postMessage") >= 1
    assert "fathom_os_slack_rate_limited_total" in text  # declared even before the first 429
    models = {dict(labels)["model"] for name, labels in samples if name == "fathom_os_claude_calls"}
    assert models  # an internal meeting goes to CLAUDE_LIGHT_MODEL: whichever model analysed it
    model = models.pop()
    assert value("fathom_os_claude_calls", model=model) >= 1
    assert value("fathom_os_claude_tokens", model=model, kind="input") > 0
    assert value("fathom_os_claude_cost_usd", model=model) > 0
    # latency by model, observed on the Anthropic client's HTTP requests (one per call made)
    assert value("fathom_os_claude_request_seconds_count", model=model, status="200") >= 1
    assert value("fathom_os_claude_request_seconds_sum", model=model, status="200") > 0
    assert value("fathom_os_claude_request_seconds_bucket", model=model, status="200", le="+Inf") >= 1
    assert value("fathom_os_reconciliation_recovered") == 0
    assert value("fathom_os_deliveries_stored", source="webhook", status="accepted") == 1
    for family in ("fathom_os_jobs_queued", "fathom_os_jobs_oldest_age_seconds", "fathom_os_jobs_dead"):
        assert f"# TYPE {family} gauge" in text
