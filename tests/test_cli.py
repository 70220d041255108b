"""`fathom-os` as a new user runs it: a real subprocess, a fresh folder, the repository's examples.

Each failure a user can cause (missing file, bot down, busy port) is one line on stderr and exit 2,
never a traceback; every subcommand's --help has a description and an example.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.sandbox.persistence import SECRET_FILE, load_or_create_secret

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "fathom" / "partner_sync.json"
CONFIG_VARS = (
    "FATHOM_WEBHOOK_SECRET",
    "FATHOM_API_KEY",
    "FATHOM_API_KEYS",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
)


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and k != "DATABASE_URL"}
    clean.update({"PYTHONPATH": str(REPO), "ANTHROPIC_API_KEY": "", **env})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("fathom-os: ")]
    assert len(lines) == 1, result.stderr  # log lines may come before; one message says what to do
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_every_subcommand_help_has_a_description_and_an_example() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    names = sorted(sub.choices)
    assert {"run", "ingest", "send", "check", "reanalyze"} <= set(names)
    for name in names:
        text = sub.choices[name].format_help()
        assert sub.choices[name].description, f"{name} --help has no description"
        assert f"example:\n  fathom-os {name}" in text, f"{name} --help has no example"


def test_send_of_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "send", "nope.json", FATHOM_WEBHOOK_SECRET="whsec_" + "A" * 32))
    assert "cannot read nope.json" in line


def test_send_with_the_bot_down_uses_the_sandbox_secret_and_says_to_start_the_bot(tmp_path: Path) -> None:
    no_secret = one_line_error(run(tmp_path, "send", str(EXAMPLE)))
    assert "FATHOM_WEBHOOK_SECRET is not set" in no_secret and SECRET_FILE in no_secret
    load_or_create_secret(tmp_path / "data")  # what the sandbox does on its first start
    url = f"http://127.0.0.1:{free_port()}/webhooks/fathom"
    line = one_line_error(run(tmp_path, "send", str(EXAMPLE), "--url", url))
    assert f"nothing is listening at {url}" in line and "fathom-os run" in line


def test_run_on_a_busy_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(tmp_path, "run", SANDBOX_PORT=str(port), WEBHOOK_PORT="0")
    line = one_line_error(result)
    assert f"port {port} (SANDBOX_PORT" in line and "already in use" in line


def test_ingest_is_a_dry_run_unless_store(tmp_path: Path) -> None:
    dry = run(tmp_path, "ingest", str(EXAMPLE))
    assert dry.returncode == 0, dry.stderr
    assert '"dry_run": true' in dry.stdout and not (tmp_path / "data").exists()
    stored = run(tmp_path, "ingest", str(EXAMPLE), "--store")
    assert stored.returncode == 0, stored.stderr
    assert "stored recording" in stored.stdout and "the running bot" in stored.stdout
    again = run(tmp_path, "ingest", str(EXAMPLE), "--store")
    assert "already received; nothing changed" in again.stdout  # the webhook of it later is one too
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    assert "not a Fathom meeting payload" in one_line_error(run(tmp_path, "ingest", str(bad)))


def test_reanalyze_of_an_unknown_recording_says_how_to_bring_it_in(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "reanalyze", "424242"))
    assert "no meeting with recording_id 424242" in line and "--store" in line


def test_check_on_zero_config_names_the_sandbox_mode_and_does_not_fail(tmp_path: Path) -> None:
    result = run(tmp_path, "check")
    assert "[ok  ] mode: sandbox" in result.stdout and "FATHOM_WEBHOOK_SECRET" in result.stdout
    assert "[FAIL] fathom webhook" not in result.stdout
    assert "[ok  ] fathom webhook: sandbox" in result.stdout


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/api/"])
def test_check_with_an_unreachable_slack_url_advises_the_url_not_a_reinstall(
    tmp_path: Path, url: str
) -> None:
    result = run(
        tmp_path,
        "check",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_APP_TOKEN="xapp-1",
        SLACK_API_URL=url,
        FATHOM_WEBHOOK_SECRET="whsec_" + "A" * 32,
    )
    assert result.returncode == 1
    assert f"[FAIL] slack: cannot reach {url}" in result.stdout
    assert "SLACK_API_URL" in result.stdout and "reinstall" not in result.stdout


def test_check_with_several_bad_settings_reports_every_one_with_its_fix(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "check",
        SLACK_API_URL="ftp://slack.example",  # a field error ...
        LOG_LEVEL="loud",  # ... another ...
        SLACK_BOT_TOKEN="abc",  # ... and contradictions pydantic checks only after the fields pass
        SLACK_APP_TOKEN="xapp-1",
        FATHOM_WEBHOOK_SECRET="nope",
    )
    assert "SLACK_API_URL" in one_line_error(result)  # exit 2: the settings are unusable as they are
    fails = [line for line in result.stdout.splitlines() if line.startswith("[FAIL] config: ")]
    named = {line.removeprefix("[FAIL] config: ").split(":")[0] for line in fails}
    assert {"SLACK_API_URL", "LOG_LEVEL", "SLACK_BOT_TOKEN", "FATHOM_WEBHOOK_SECRET"} <= named, result.stdout
    assert result.stdout.count("       fix: ") == len(fails)
    assert "whsec_" in result.stdout and "xoxb-" in result.stdout
