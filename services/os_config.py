"""`fathom-os.yml`: the OS configures its own bot.

The roster, approvers, routing and reminder policy live in the OS repository so that changing who
may approve goes through the same review as any other change. Unknown keys are rejected so a typo
(`approver:`) fails loudly instead of silently leaving nobody allowed to approve.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.os_paths import slugify

CONFIG_FILENAME = "fathom-os.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class OSConfigError(ValueError):
    """The OS config cannot be used; `key` names the offending setting when known."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_keys(cls, data: Any) -> Any:
        """`team:` with only comments under it parses as None; treat it as "use the default"."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


def _norm_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@").rstrip(".")


def _domain_matches(domain: str, candidates: list[str]) -> bool:
    d = _norm_domain(domain)
    return any(d == c or d.endswith("." + c) for c in candidates)


class TeamMember(_Model):
    name: str
    email: str
    slack_user_id: str | None = None
    role: str = ""
    partner: bool = False
    admin: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if "@" not in v:
            raise ValueError("must be an email address")
        return v.lower()


class RoutingRule(_Model):
    """Matches a meeting by its type, an external attendee's domain, or both (all given must match)."""

    type: str | None = None
    domain: str | None = None
    channel: str

    @model_validator(mode="after")
    def _needs_a_condition(self) -> RoutingRule:
        if not self.type and not self.domain:
            raise ValueError("a routing rule needs a 'type' or a 'domain'")
        if self.domain:
            self.domain = _norm_domain(self.domain)
        return self


class Routing(_Model):
    rules: list[RoutingRule] = Field(default_factory=list)
    default_channel: str | None = None


class QuietHours(_Model):
    start: str = "20:00"
    end: str = "08:00"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hhmm(cls, v: Any) -> str:
        if isinstance(v, int):  # YAML reads 20:00 unquoted as sexagesimal 1200 minutes
            v = f"{v // 60:02d}:{v % 60:02d}"
        if not isinstance(v, str) or not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", v.strip()):
            raise ValueError("must be a time like '20:00'")
        h, m = v.strip().split(":")
        return f"{int(h):02d}:{m}"


class Reminders(_Model):
    timezone: str = "UTC"
    due_hour: int = Field(default=9, ge=0, le=23)
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_weekdays_only: bool = True
    max_overdue_nudges: int = Field(default=3, ge=0, le=50)
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    working_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{v}'") from exc
        return v

    @field_validator("working_days", mode="before")
    @classmethod
    def _days(cls, v: Any) -> list[str]:
        if not isinstance(v, list):
            raise ValueError("must be a list of days like [Mon, Tue]")
        days = []
        for day in v:
            key = str(day).strip().lower()[:3]
            if key not in WEEKDAYS:
                raise ValueError(f"'{day}' is not a day of the week")
            days.append(key)
        return days

    @property
    def working_weekdays(self) -> set[int]:
        """Python weekday numbers (Monday = 0), for comparing with `datetime.weekday()`."""
        return {WEEKDAYS.index(d) for d in self.working_days}


class Client(_Model):
    name: str
    domains: list[str] = Field(default_factory=list)
    slug: str = ""
    industry: str | None = None  # picks `industries/<industry>/analysis.md` for this client's meetings
    owner: str | None = None  # account owner (email or Slack id): told when the client's tone drops
    language: str | None = None  # ISO 639-1 code the analysis is written in (services/languages.py)

    @model_validator(mode="after")
    def _normalise(self) -> Client:
        self.domains = [_norm_domain(d) for d in self.domains]
        self.slug = slugify(self.slug or self.name)
        return self


# the same names as services.analysis.schema.MeetingType (a test keeps them equal)
MEETING_TYPE_NAMES: tuple[str, ...] = ("ai_audit", "discovery", "client", "internal_partner")
MEETING_TYPE_NAMES += ("coaching", "sales", "networking", "other")


class ModelRouting(_Model):
    """Which meeting types are analysed on CLAUDE_MODEL; every other type uses CLAUDE_LIGHT_MODEL."""

    primary_types: list[str] = Field(default_factory=lambda: ["ai_audit", "discovery", "client", "sales"])

    @field_validator("primary_types")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        out = [t.strip().lower() for t in v]
        for t in out:
            if t not in MEETING_TYPE_NAMES:
                raise ValueError(f"'{t}' is not a meeting type ({', '.join(MEETING_TYPE_NAMES)})")
        return out


PRIVACY_MODES = ("off", "standard", "strict")


class RedactionPattern(_Model):
    """A site-specific pattern: `kind` names the placeholder (`[PROJECT_1]`)."""

    kind: str
    pattern: str

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        kind = re.sub(r"[^A-Z0-9]+", "_", v.upper()).strip("_")
        if not kind:
            raise ValueError("kind must contain letters, e.g. PROJECT")
        return kind

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            compiled = re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if compiled.match(""):
            raise ValueError("the pattern matches empty text")
        return v


class Privacy(_Model):
    """Redaction before anything reaches Claude (services/redaction.py)."""

    mode: str = "standard"
    clients: dict[str, str] = Field(default_factory=dict)  # client slug -> mode
    meeting_types: dict[str, str] = Field(default_factory=dict)  # meeting type -> mode
    patterns: list[RedactionPattern] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)  # literal words or names, e.g. client code names
    phone_region: str = "US"  # how numbers without a country code are read

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, v: Any) -> str:
        return _privacy_mode(v)

    @field_validator("clients", "meeting_types", mode="before")
    @classmethod
    def _modes(cls, v: Any) -> dict[str, str]:
        if not isinstance(v, dict):
            raise ValueError("must be a mapping like {acme: strict}")
        return {str(k).strip().lower(): _privacy_mode(m) for k, m in v.items()}

    @field_validator("meeting_types")
    @classmethod
    def _types(cls, v: dict[str, str]) -> dict[str, str]:
        for t in v:
            if t not in MEETING_TYPE_NAMES:
                raise ValueError(f"'{t}' is not a meeting type ({', '.join(MEETING_TYPE_NAMES)})")
        return v

    @field_validator("phone_region")
    @classmethod
    def _region(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", v):
            raise ValueError("must be a two-letter country code such as US or GB")
        return v.upper()

    def mode_for(self, client_slug: str | None = None, meeting_type: str | None = None) -> str:
        """A client rule wins over a type rule, which wins over `mode`; YAML `off` arrives as False."""
        if client_slug and client_slug.lower() in self.clients:
            return self.clients[client_slug.lower()]
        if meeting_type and meeting_type.lower() in self.meeting_types:
            return self.meeting_types[meeting_type.lower()]
        return self.mode


def _privacy_mode(v: Any) -> str:
    mode = {"false": "off", "true": "standard"}.get(str(v).strip().lower(), str(v).strip().lower())
    if mode not in PRIVACY_MODES:
        raise ValueError(f"'{v}' is not a privacy mode ({', '.join(PRIVACY_MODES)})")
    return mode


class Retention(_Model):
    """How long raw material is kept; None keeps it forever (the default). Analysis and items stay."""

    transcripts_days: int | None = Field(default=None, ge=1)
    webhook_bodies_days: int | None = Field(default=None, ge=1)


class ConnectorSettings(_Model):
    """One outside system under `integrations:` (#21); its secret lives in the environment."""

    enabled: bool = True
    # operations applied without an approval (e.g. [task]); every other write waits on its card
    auto_apply: list[str] = Field(default_factory=list)
    meeting_types: list[str] = Field(default_factory=lambda: ["client", "sales", "discovery", "ai_audit"])
    owners: dict[str, str] = Field(default_factory=dict)  # Slack id or email -> the target's user id
    team_id: str | None = None  # Linear team (issues are created there)
    project_id: str | None = None  # Asana / Linear project
    theme_id: str | None = None  # Gamma theme
    export_as: str | None = "pdf"  # Gamma export attached in the thread: pdf | pptx | none
    num_cards: int = Field(default=10, ge=1, le=60)
    onboarding: bool = True  # Gamma: propose an onboarding deck after a new client's first meeting
    # PM targets (asana / jira / linear): after a meeting of `meeting_types`, and with one of these
    # client domains when any are listed, each agency action item is proposed as a task there
    propose_items: bool = False
    clients: list[str] = Field(default_factory=list)

    @field_validator("meeting_types")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        out = [t.strip().lower() for t in v]
        for t in out:
            if t not in MEETING_TYPE_NAMES:
                raise ValueError(f"'{t}' is not a meeting type ({', '.join(MEETING_TYPE_NAMES)})")
        return out

    @field_validator("export_as")
    @classmethod
    def _export(cls, v: str | None) -> str | None:
        if v is None or str(v).lower() in ("none", "false", ""):
            return None
        if str(v).lower() not in ("pdf", "pptx"):
            raise ValueError("must be pdf, pptx or none")
        return str(v).lower()

    def owner_for(self, *keys: str | None) -> str | None:
        for key in keys:
            if key and (key in self.owners or key.lower() in self.owners):
                return self.owners.get(key) or self.owners.get(key.lower())
        return None


class Integrations(_Model):
    gamma: ConnectorSettings | None = None
    hubspot: ConnectorSettings | None = None
    salesforce: ConnectorSettings | None = None
    asana: ConnectorSettings | None = None
    jira: ConnectorSettings | None = None
    linear: ConnectorSettings | None = None

    def settings_for(self, target: str) -> ConnectorSettings:
        found = getattr(self, target, None)
        return found if isinstance(found, ConnectorSettings) else ConnectorSettings()

    def auto_applies(self, target: str, operation: str) -> bool:
        found = getattr(self, target, None)
        return isinstance(found, ConnectorSettings) and operation in found.auto_apply


class Reports(_Model):
    """/os-report and the weekly report for admins (#20)."""

    weekly_day: str = "mon"  # APScheduler day_of_week
    weekly_hour: int = Field(default=9, ge=0, le=23)  # UTC
    weekly_channel: str | None = None  # None: a DM to each admin
    sentiment_drop: float = Field(default=0.3, ge=0, le=2)  # tone this far below the average: tell the owner

    @field_validator("weekly_day")
    @classmethod
    def _day(cls, v: str) -> str:
        v = v.strip().lower()[:3]
        if v not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            raise ValueError("weekly_day must be a weekday (mon..sun)")
        return v


class OSConfig(_Model):
    team: list[TeamMember] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    admins: list[str] = Field(default_factory=list)
    internal_domains: list[str] = Field(default_factory=list)
    routing: Routing = Field(default_factory=Routing)
    reminders: Reminders = Field(default_factory=Reminders)
    clients: list[Client] = Field(default_factory=list)
    model_routing: ModelRouting = Field(default_factory=ModelRouting)
    privacy: Privacy = Field(default_factory=Privacy)
    retention: Retention = Field(default_factory=Retention)
    integrations: Integrations = Field(default_factory=Integrations)
    reports: Reports = Field(default_factory=Reports)
    channel_languages: dict[str, str] = Field(default_factory=dict)  # card channel -> ISO 639-1 code

    @field_validator("internal_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        return [_norm_domain(d) for d in v]

    def member(self, email_or_slack_id: str) -> TeamMember | None:
        key = email_or_slack_id.strip()
        for m in self.team:
            if m.email == key.lower() or (m.slack_user_id and m.slack_user_id == key):
                return m
        return None

    def _identities(self, email_or_slack_id: str) -> set[str]:
        """Both the email and the Slack id of a person, so either can be listed in the config."""
        key = email_or_slack_id.strip()
        ids = {key.lower() if "@" in key else key}
        m = self.member(key)
        if m:
            ids.add(m.email)
            if m.slack_user_id:
                ids.add(m.slack_user_id)
        return ids

    @staticmethod
    def _listed(ids: set[str], entries: list[str]) -> bool:
        listed = {e.strip().lower() if "@" in e else e.strip() for e in entries}
        return bool(ids & listed)

    def is_approver(self, email_or_slack_id: str) -> bool:
        """Only people listed in `approvers` (by email or Slack id) may approve OS changes."""
        if not email_or_slack_id or not email_or_slack_id.strip():
            return False
        return self._listed(self._identities(email_or_slack_id), self.approvers)

    def is_admin(self, email_or_slack_id: str) -> bool:
        if not email_or_slack_id or not email_or_slack_id.strip():
            return False
        m = self.member(email_or_slack_id)
        if m and m.admin:
            return True
        return self._listed(self._identities(email_or_slack_id), self.admins)

    def is_internal_domain(self, domain: str) -> bool:
        return _domain_matches(domain, self.internal_domains)

    def client_for_domain(self, domain: str) -> Client | None:
        for client in self.clients:
            if _domain_matches(domain, client.domains):
                return client
        return None

    def route(self, meeting_types: list[str], external_domains: list[str]) -> str | None:
        """Channel for a meeting card: the first matching rule wins, else `default_channel`."""
        types = {t.strip().lower() for t in meeting_types}
        for rule in self.routing.rules:
            if rule.type and rule.type.lower() not in types:
                continue
            if rule.domain and not any(_domain_matches(d, [rule.domain]) for d in external_domains):
                continue
            return rule.channel
        return self.routing.default_channel


def _error_key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse_os_config(text: str, source: str = CONFIG_FILENAME) -> OSConfig:
    """Validate config text; used on load and before committing a proposed change to the file."""
    try:
        data = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise OSConfigError(f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return OSConfig()
    if not isinstance(data, dict):
        raise OSConfigError(f"{source} must be a mapping of settings (team:, approvers:, …)")
    try:
        return OSConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _error_key(first["loc"])
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise OSConfigError(f"{source}: '{key}': {first['msg']}{more}", key=key) from exc


def load_or_default(root: Path) -> OSConfig:
    """For readers that must keep working: an unreadable file means defaults (`fathom-os check` reports it)."""
    try:
        return load_os_config(root)
    except OSConfigError:
        return OSConfig()


_PARSED: dict[str, tuple[tuple[int, int, int], OSConfig]] = {}


def load_os_config(root: Path) -> OSConfig:
    """Read `fathom-os.yml` from the OS working tree; a missing file means all defaults.

    Parsed once per version of the file (inode, size, mtime): it is read on every routing and
    authorisation decision, and YAML parsing is the expensive part."""
    path = Path(root) / CONFIG_FILENAME
    try:
        stat = path.stat()
    except FileNotFoundError:
        return OSConfig()
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    cached = _PARSED.get(str(path))
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return OSConfig()
    except UnicodeDecodeError as exc:
        raise OSConfigError(f"{CONFIG_FILENAME} is not UTF-8 text") from exc
    config = parse_os_config(text)
    _PARSED[str(path)] = (key, config)
    return config
