"""Interactions the bot answers: the callback (once), then the interaction's webhook: @original, follow-ups.

Discord's resources: ``interactions/receiving-and-responding.mdx`` and ``webhook.mdx``. These routes take
no Authorization header and are exempt from the global limit, like Discord's. An interaction is created
by the test (``FakeDiscordState.create_interaction``), which registers its token.

The timeline is Discord's, on the state's clock (``FakeDiscordState.now``, which tests can move): the initial
response must come within 3 s of the interaction's dispatch, else the token is invalidated (10062); a second
one is refused (40060). Once acknowledged (deferred types 5 and 6 included) the token works for follow-ups
and @original until 15 minutes after the interaction: before the acknowledgement, or after a missed
deadline, the webhook is unknown (10015); after 15 minutes the token is invalid (401/50027, as Discord
answers expired interaction tokens: discord-api-docs issue 6851).
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    ALREADY_ACKNOWLEDGED,
    INVALID_WEBHOOK_TOKEN,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    Ctx,
    err,
    json_response,
    no_content,
    route,
)
from discord_sandbox.state import (
    INTERACTION_RESPONSE_DEADLINE,
    INTERACTION_TOKEN_LIFETIME,
    LOADING_FLAG,
    Interaction,
)
from discord_sandbox.validation import check_callback, check_message

CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
EPHEMERAL = 1 << 6


@route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", auth="none", global_exempt=True)
async def interaction_callback(ctx: Ctx) -> web.Response:
    state = ctx.state
    interaction = state.interaction(ctx.params["interaction_token"])
    if interaction is None or interaction.id != ctx.params["interaction_id"]:
        return err(UNKNOWN_INTERACTION)
    body = ctx.json or {}
    with state.lock:
        if interaction.responded:
            return err(ALREADY_ACKNOWLEDGED)
        if state.now() - interaction.created_at > INTERACTION_RESPONSE_DEADLINE:
            return err(UNKNOWN_INTERACTION)
        if problem := check_callback(body, message=interaction.message):
            return problem
        kind, data = body["type"], body.get("data") or {}
        interaction.responded = True
        interaction.response = body
        interaction.acknowledged_at = state.now()
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE) and interaction.channel_id:
            flags = data.get("flags") or 0
            shown = data if kind == CHANNEL_MESSAGE else {"flags": (flags & EPHEMERAL) | LOADING_FLAG}
            interaction.original_message = state.make_message(
                interaction.channel_id, shown, webhook_id=interaction.application_id
            )
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE) and interaction.message is not None:
            if kind == UPDATE_MESSAGE:
                state.edit_message(interaction.message, data)
            interaction.original_message = interaction.message
    if ctx.query.get("with_response") == "true":
        original = interaction.original_message
        return json_response(
            {
                "interaction": {
                    "id": interaction.id,
                    "type": 2,
                    "response_message_id": original["id"] if original else None,
                    "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                    "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
                },
                "resource": {"type": kind, "message": original},
            }
        )
    return no_content()


def _interaction_for_webhook(ctx: Ctx) -> tuple[Interaction | None, web.Response | None]:
    """The acknowledged interaction behind a webhook path, or the error Discord answers instead."""
    state = ctx.state
    interaction = state.interaction(ctx.params["webhook_token"])
    if interaction is None or interaction.application_id != ctx.params["webhook_id"]:
        return None, err(UNKNOWN_WEBHOOK)
    if state.now() - interaction.created_at > INTERACTION_TOKEN_LIFETIME:
        return None, err(INVALID_WEBHOOK_TOKEN)
    if not interaction.responded:
        return None, err(UNKNOWN_WEBHOOK)
    return interaction, None


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth="none", global_exempt=True)
async def create_followup(ctx: Ctx) -> web.Response:
    interaction, problem = _interaction_for_webhook(ctx)
    if problem is not None:
        return problem
    if problem := check_message(ctx.json):
        return problem
    message = ctx.state.make_message(
        interaction.channel_id or "0", ctx.json, webhook_id=interaction.application_id
    )
    interaction.followups.append(message)
    return json_response(message)


def _webhook_message(ctx: Ctx, interaction: Interaction) -> dict | None:
    message_id = ctx.params.get("message_id", "@original")
    if message_id == "@original":
        return interaction.original_message
    return next((m for m in interaction.followups if m["id"] == message_id), None)


def _webhook_target(ctx: Ctx) -> tuple[Interaction | None, dict | None, web.Response | None]:
    """The interaction and message a webhook message path names, or the error Discord answers instead."""
    interaction, problem = _interaction_for_webhook(ctx)
    if problem is not None:
        return None, None, problem
    message = _webhook_message(ctx, interaction)
    if message is None:
        return interaction, None, err(UNKNOWN_MESSAGE)
    return interaction, message, None


# Under each handler below the @original route is the decorator nearest the function, so it registers (and
# matches) before the {message_id} template that would also take "@original".
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True)
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
async def get_webhook_message(ctx: Ctx) -> web.Response:
    _, message, problem = _webhook_target(ctx)
    return problem if problem is not None else json_response(message)


@route(
    "PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True
)
@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
async def edit_webhook_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        _, message, problem = _webhook_target(ctx)
        if problem is not None:
            return problem
        if problem := check_message(ctx.json, existing=message, editing=True):
            return problem
        return json_response(ctx.state.edit_message(message, ctx.json or {}))


@route(
    "DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth="none", global_exempt=True
)
@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth="none", global_exempt=True)
async def delete_webhook_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        interaction, message, problem = _webhook_target(ctx)
        if problem is not None:
            return problem
        ctx.state.messages.get(message["channel_id"], {}).pop(message["id"], None)
        if message is interaction.original_message:
            interaction.original_message = None
        else:
            interaction.followups.remove(message)
    return no_content()
