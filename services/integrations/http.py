"""httpx answers -> the outbox's errors (429 -> RateLimited, other 4xx -> TargetError, 5xx -> retry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from services.integrations.base import RateLimited, TargetError, TargetUnavailable, retry_after


def json_message(response: httpx.Response) -> str:
    """The target's own words: `message` (Gamma, HubSpot), GraphQL `errors[0].message`, or the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return str(body["message"])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            extensions = first.get("extensions") or {}
            return str(extensions.get("userPresentableMessage") or first.get("message") or "")
        if isinstance(body.get("error"), dict | str):
            return str(body["error"])
    return response.text[:500]


def checked(
    target: str, response: httpx.Response, *, message: Callable[[httpx.Response], str] = json_message
) -> Any:
    """The JSON body of a 2xx; otherwise the error the outbox knows how to treat."""
    if response.status_code == 429:
        raise RateLimited(target, retry_after(response.headers))
    if 400 <= response.status_code < 500:
        raise TargetError(target, response.status_code, message(response))
    if response.status_code >= 500:
        raise TargetUnavailable(f"{target} answered {response.status_code}")
    if not response.content:
        return {}
    return response.json()


async def send(target: str, call: Callable[[], Any]) -> httpx.Response:
    """Network errors are transient: the job queue retries them."""
    try:
        response: httpx.Response = await call()
    except httpx.HTTPError as exc:
        raise TargetUnavailable(f"{target} unreachable: {type(exc).__name__}") from exc
    return response
