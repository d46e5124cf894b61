"""Message components of the moderation flow, in Discord's JSON shape, and their custom_id scheme.

The custom_ids carry the credit request id (`credits:approve:<id>`, `credits:deny:<id>`), so any bot process —
including one started after the message was posted by a Celery worker — knows what a click means. The bot
routes them by prefix (`DealScaleBotMixin.register_component_handler`).
"""

PREFIX = "credits"
APPROVE = "approve"
DENY = "deny"
DENY_NOTE = "deny-note"
NOTE_FIELD = "note"

ACTION_ROW = 1
BUTTON = 2
SUCCESS_STYLE = 3
DANGER_STYLE = 4


def custom_id(action: str, request_id: int) -> str:
    return f"{PREFIX}:{action}:{request_id}"


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
