from __future__ import annotations

from pathlib import Path

import pytest

from services.os_config import OSConfigError, load_os_config, parse_os_config

CONFIG = """
team:
  - name: Ann Lee
    email: Ann@Agency.com
    slack_user_id: U0ANN
    role: Founder
    partner: true
    admin: true
  - name: Bob Stone
    email: bob@agency.com
    slack_user_id: U0BOB
    role: Account lead
approvers:
  - ann@agency.com
  - U0BOB
admins: [carol@agency.com]
internal_domains: [agency.com]
routing:
  default_channel: "#meetings"
  rules:
    - type: sales
      channel: "#sales"
    - domain: acme.com
      channel: "#client-acme"
    - type: review
      domain: globex.com
      channel: "#globex-reviews"
reminders:
  timezone: Europe/Paris
  due_hour: 10
  quiet_hours: {start: "21:00", end: "7:30"}
  working_days: [Monday, tue, Wed]
clients:
  - name: Acme Corp
    domains: [acme.com]
  - name: Globex
    domains: ["@Globex.com"]
    slug: globex-intl
"""


def _write(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "fathom-os.yml").write_text(text, encoding="utf-8")
    return root


def test_missing_file_gives_documented_defaults(tmp_path: Path) -> None:
    config = load_os_config(tmp_path)
    assert config.team == [] and config.approvers == []
    r = config.reminders
    assert (r.due_hour, r.digest_hour, r.digest_weekdays_only, r.max_overdue_nudges) == (9, 8, True, 3)
    assert r.working_days == ["mon", "tue", "wed", "thu", "fri"]
    assert r.working_weekdays == {0, 1, 2, 3, 4}
    assert config.route(["sales"], ["acme.com"]) is None


def test_empty_file_and_comment_only_lists_mean_defaults(tmp_path: Path) -> None:
    assert load_os_config(_write(tmp_path, "")).team == []
    config = load_os_config(_write(tmp_path, "team:\n  # - name: x\napprovers:\n"))
    assert config.team == [] and config.approvers == []


def test_full_config_loads_and_normalises(tmp_path: Path) -> None:
    config = load_os_config(_write(tmp_path, CONFIG))
    assert config.team[0].email == "ann@agency.com"
    assert config.reminders.timezone == "Europe/Paris"
    assert config.reminders.quiet_hours.end == "07:30"
    assert config.reminders.working_days == ["mon", "tue", "wed"]
    assert [c.slug for c in config.clients] == ["acme-corp", "globex-intl"]
    assert config.clients[1].domains == ["globex.com"]


def test_approver_is_recognised_by_email_or_slack_id_either_way_round(tmp_path: Path) -> None:
    config = parse_os_config(CONFIG)
    assert config.is_approver("ann@agency.com")
    assert config.is_approver("ANN@agency.com")
    assert config.is_approver("U0ANN")  # listed by email, asked by Slack id
    assert config.is_approver("bob@agency.com")  # listed by Slack id, asked by email
    assert not config.is_approver("carol@agency.com")
    assert not config.is_approver("")


def test_admins_come_from_the_list_and_the_team_flag() -> None:
    config = parse_os_config(CONFIG)
    assert config.is_admin("U0ANN")
    assert config.is_admin("carol@agency.com")
    assert not config.is_admin("bob@agency.com")


def test_routing_first_matching_rule_wins_then_default() -> None:
    config = parse_os_config(CONFIG)
    assert config.route(["Sales"], ["acme.com"]) == "#sales"
    assert config.route(["internal"], ["eu.acme.com"]) == "#client-acme"
    assert config.route(["review"], ["globex.com"]) == "#globex-reviews"
    assert config.route(["review"], ["initech.com"]) == "#meetings"
    assert config.route(["kickoff"], ["globex.com"]) == "#meetings"


def test_client_for_domain_matches_subdomains_only_on_label_boundaries() -> None:
    config = parse_os_config(CONFIG)
    assert config.client_for_domain("ACME.com").name == "Acme Corp"
    assert config.client_for_domain("mail.acme.com").name == "Acme Corp"
    assert config.client_for_domain("notacme.com") is None


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(OSConfigError, match="line 2, column 12"):
        load_os_config(_write(tmp_path, "team:\n  - name: x: y\n"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("team:\n  - name: Ann\n", "team.0.email"),
        ("team:\n  - name: Ann\n    email: not-an-email\n", "team.0.email"),
        ("approver: [x@y.com]\n", "approver"),
        ("reminders:\n  due_hour: 25\n", "reminders.due_hour"),
        ("reminders:\n  timezone: Mars/Olympus\n", "reminders.timezone"),
        ("reminders:\n  working_days: [Funday]\n", "reminders.working_days"),
        ("reminders:\n  quiet_hours: {start: '25:00'}\n", "reminders.quiet_hours.start"),
        ("routing:\n  rules:\n    - channel: '#x'\n", "routing.rules.0"),
    ],
)
def test_schema_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(OSConfigError) as err:
        parse_os_config(text)
    assert err.value.key == key
    assert f"'{key}'" in str(err.value)


def test_a_list_at_the_top_is_rejected() -> None:
    with pytest.raises(OSConfigError, match="mapping"):
        parse_os_config("- a\n- b\n")
