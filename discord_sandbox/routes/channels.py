"""Channels and messages: opening a DM, reading a channel, posting, editing and deleting messages.

Discord's resources: ``channel.mdx``, ``message.mdx`` and ``POST /users/@me/channels`` (``user.mdx``);
the client's "users and messages" section. A DM to a user who closed them answers 403/50007.
A message created with ``nonce`` and ``enforce_nonce`` is created once: a repeat within the nonce window
answers the first message (``message.mdx``, Create Message: "nonce ... up to 25 characters",
"enforce_nonce ... checked for uniqueness in the past few minutes").
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    CANNOT_DM,
    UNKNOWN_CHANNEL,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    Ctx,
    err,
    invalid_form,
    json_response,
    message_body_problem,
    no_content,
    route,
)


@route("POST", "/users/@me/channels")
async def create_dm(ctx: Ctx) -> web.Response:
    recipient = str((ctx.json or {}).get("recipient_id", ""))
    if recipient not in ctx.state.users:
        return (
            invalid_form("recipient_id", "Value is not snowflake.")
            if not recipient.isdigit()
            else err(UNKNOWN_USER)
        )
    return json_response(ctx.state.dm_channel_for(recipient))


@route("GET", "/channels/{channel_id}")
async def get_channel(ctx: Ctx) -> web.Response:
    channel = ctx.state.channels.get(ctx.params["channel_id"])
    return json_response(channel) if channel else err(UNKNOWN_CHANNEL)


@route("POST", "/channels/{channel_id}/messages")
async def create_message(ctx: Ctx) -> web.Response:
    state, channel_id = ctx.state, ctx.params["channel_id"]
    channel = state.channels.get(channel_id)
    if channel is None:
        return err(UNKNOWN_CHANNEL)
    if problem := message_body_problem(ctx.json):
        return problem
    if problem := _nonce_problem(ctx.json.get("nonce")):
        return problem
    if channel["type"] == 1 and any(u["id"] in state.dms_closed for u in channel["recipients"]):
        return err(CANNOT_DM)
    message, _ = state.create_message_once(channel_id, ctx.json)
    return json_response(message)


def _nonce_problem(nonce) -> web.Response | None:
    if nonce is None:
        return None
    if isinstance(nonce, bool) or not isinstance(nonce, int | str):
        return invalid_form("nonce", "Must be an integer or a string.")
    if isinstance(nonce, int) and not -(2**63) <= nonce < 2**63:
        return invalid_form(
            "nonce", "Int value should be between -9223372036854775808 and 9223372036854775807."
        )
    if isinstance(nonce, str) and len(nonce) > 25:
        return invalid_form("nonce", "Must be 25 or fewer in length.")
    return None


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Ctx) -> web.Response:
    message = ctx.state.messages.get(ctx.params["channel_id"], {}).get(ctx.params["message_id"])
    if message is None:
        return err(UNKNOWN_MESSAGE)
    return json_response(ctx.state.edit_message(message, ctx.json or {}))


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        message = ctx.state.messages.get(ctx.params["channel_id"], {}).pop(ctx.params["message_id"], None)
    return no_content() if message else err(UNKNOWN_MESSAGE)
