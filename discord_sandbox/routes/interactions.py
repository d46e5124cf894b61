"""Interactions the bot answers: the callback (once), then the interaction's webhook: @original, follow-ups.

Discord's resources: ``interactions/receiving-and-responding.mdx`` and ``webhook.mdx``. These routes take
no Authorization header and are exempt from the global limit, like Discord's. An interaction is created
by the test (``FakeDiscordState.create_interaction``), which registers its token.
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    ALREADY_ACKNOWLEDGED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    Ctx,
    err,
    json_response,
    message_body_problem,
    no_content,
    route,
)


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
        interaction.responded = True
        interaction.response = body
        data = body.get("data") or {}
        if body.get("type") in (4, 5) and interaction.channel_id:
            interaction.original_message = state.make_message(
                interaction.channel_id,
                data,
                webhook_id=interaction.application_id,
            )
        elif body.get("type") in (6, 7) and interaction.source_message is not None:
            # A component's answer is the message it is attached to: 7 edits it now, 6 through @original.
            interaction.original_message = interaction.source_message
            if body.get("type") == 7:
                state.edit_message(interaction.source_message, data)
    if ctx.query.get("with_response") == "true":
        return json_response(
            {
                "interaction": {
                    "id": interaction.id,
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
                },
                "resource": {"type": body.get("type"), "message": interaction.original_message},
            }
        )
    return no_content()


def _interaction_for_webhook(ctx: Ctx):
    interaction = ctx.state.interaction(ctx.params["webhook_token"])
    if interaction is None or interaction.application_id != ctx.params["webhook_id"]:
        return None
    return interaction


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth="none", global_exempt=True)
async def create_followup(ctx: Ctx) -> web.Response:
    interaction = _interaction_for_webhook(ctx)
    if interaction is None:
        return err(UNKNOWN_WEBHOOK)
    if problem := message_body_problem(ctx.json):
        return problem
    message = ctx.state.make_message(
        interaction.channel_id or "0", ctx.json, webhook_id=interaction.application_id
    )
    interaction.followups.append(message)
    return json_response(message)


def _webhook_message(ctx: Ctx, interaction) -> dict | None:
    message_id = ctx.params.get("message_id", "@original")
    if message_id == "@original":
        return interaction.original_message
    return next((m for m in interaction.followups if m["id"] == message_id), None)


def _webhook_target(ctx: Ctx) -> tuple[object, dict | None, web.Response | None]:
    """The interaction and message a webhook message path names, or the error Discord answers instead."""
    interaction = _interaction_for_webhook(ctx)
    if interaction is None:
        return None, None, err(UNKNOWN_WEBHOOK)
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
