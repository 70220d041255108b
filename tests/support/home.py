"""The Home service as tests use it: Maya's user id, no admins and no Slack."""

from __future__ import annotations

from services.access import AccessPolicy
from services.db import Database
from services.home import HomeService
from services.os_config import OSConfig

MAYA = "U01MAYA"


def home_service(db: Database) -> HomeService:
    """No admins, no Slack: recent meetings are those the user attended."""
    return HomeService(db, AccessPolicy(db, OSConfig))
