"""Message components of the moderation flow, in Discord's JSON shape, and their custom_id scheme.

The custom_ids carry the credit request id (`credits:approve:<id>`, `credits:deny:<id>`), so any bot process —
including one started after the message was posted by a Celery worker — knows what a click means. The bot
routes them by prefix (`DealScaleBotMixin.register_component_handler`).
"""

import re

PREFIX = "credits"
APPROVE = "approve"
DENY = "deny"
DENY_NOTE = "deny-note"
NOTE_FIELD = "note"

ACTION_ROW = 1
BUTTON = 2
SUCCESS_STYLE = 3
DANGER_STYLE = 4


# A request id as custom_id() writes it: ASCII digits, no leading zero, within PostgreSQL's bigint.
# str.isdigit() would also take "²" (which int() refuses) and "١٢" (which int() reads as 12).
_REQUEST_ID = re.compile(r"[1-9][0-9]{0,18}")
REQUEST_ID_MAX = 2**63 - 1


def custom_id(action: str, request_id: int) -> str:
    return f"{PREFIX}:{action}:{request_id}"


def parse_arguments(args: list[str]) -> tuple[str, int] | None:
    """(action, request id) of the arguments of a custom_id this module wrote; None for any other."""
    if len(args) != 2 or not _REQUEST_ID.fullmatch(args[1]):
        return None
    request_id = int(args[1])
    return (args[0], request_id) if request_id <= REQUEST_ID_MAX else None


def moderation_buttons(request_id: int) -> list[dict]:
    """The Approve / Deny action row posted under a new credit request."""
    return [
        {
            "type": ACTION_ROW,
            "components": [
                {
                    "type": BUTTON,
                    "style": SUCCESS_STYLE,
                    "label": "Approve",
                    "emoji": {"name": "✅"},
                    "custom_id": custom_id(APPROVE, request_id),
                },
                {
                    "type": BUTTON,
                    "style": DANGER_STYLE,
                    "label": "Deny",
                    "emoji": {"name": "✖️"},
                    "custom_id": custom_id(DENY, request_id),
                },
            ],
        }
    ]


def submitted_value(components: list[dict], field: str) -> str | None:
    """The value of the text input `field` in a modal submit's components (action rows or labels)."""
    for component in components:
        if component.get("custom_id") == field and "value" in component:
            return component["value"]
        nested = component.get("components") or ([component["component"]] if "component" in component else [])
        if (value := submitted_value(nested, field)) is not None:
            return value
    return None
