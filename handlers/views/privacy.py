"""The erasure modal's two submissions (#18): the e-mail -> the dry run; the confirm -> erase.

The preview runs before the ack (a dry run is a few queries) so the modal can show it in place;
the erasure itself is acknowledged first ("Erasing…") and its result drawn with views.update.
Each step re-checks that the submitter is an admin.
"""

from __future__ import annotations

from typing import Any

from blocks.ids import PrivacyField, PrivacyView
from blocks.privacy import ForgetMeta
from blocks.values import decode
from handlers.context import actor_id, app_of
from handlers.registrar import Registrar
from services.errors import UserFacingError


def submitted_email(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(
        ((values.get(PrivacyField.EMAIL) or {}).get(PrivacyField.EMAIL) or {}).get("value") or ""
    ).strip()


async def preview(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    email = submitted_email(view)
    try:
        modal = await app_of(context).slack.privacy.preview(actor_id(body), email)
    except (UserFacingError, ValueError) as exc:  # not an admin, not an e-mail: say so under the input
        await ack(response_action="errors", errors={PrivacyField.EMAIL.value: str(exc)[:300]})
        return
    await ack(response_action="update", view=modal)


async def confirm(ack: Any, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    privacy = app_of(context).slack.privacy
    try:
        email = decode(ForgetMeta, view.get("private_metadata")).email
    except ValueError:
        await ack()  # the "Erasing…" or result modal submitted again: nothing to do
        return
    await ack(response_action="update", view=privacy.working(email))
    privacy.start_erase(str(view["id"]), actor_id(body), email)


def register(app: Registrar) -> None:
    app.view(PrivacyView.PREVIEW.value)(preview)
    app.view(PrivacyView.CONFIRM.value)(confirm)
