"""Channels and messages: opening a DM, reading a channel, posting, editing and deleting messages.

Discord's resources: ``channel.mdx``, ``message.mdx`` and ``POST /users/@me/channels`` (``user.mdx``);
the client's "users and messages" section. A DM to a user who closed them answers 403/50007. Bodies are
checked by ``discord_sandbox.validation``; ``nonce`` with ``enforce_nonce`` returns the message the same
author already created with that nonce in the channel within the last few minutes, instead of a second one
(``message.mdx`` "Create Message"). Only the bot's own messages can be edited (403/50005).
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import (
    CANNOT_DM,
    NOT_MESSAGE_AUTHOR,
    UNKNOWN_CHANNEL,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    Ctx,
    err,
    invalid_form,
    json_response,
    no_content,
    route,
)
from discord_sandbox.validation import check_message


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
    if problem := check_message(ctx.json):
        return problem
    if channel["type"] == 1 and any(u["id"] in state.dms_closed for u in channel["recipients"]):
        return err(CANNOT_DM)
    body = ctx.json
    nonce = body.get("nonce")
    with state.lock:
        if nonce is not None and body.get("enforce_nonce") is True:
            if existing := state.message_with_nonce(channel_id, state.bot_user["id"], nonce):
                return json_response(existing)
        message = state.make_message(channel_id, body)
        if nonce is not None:
            state.remember_nonce(message)
    return json_response(message)


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Ctx) -> web.Response:
    state = ctx.state
    with state.lock:
        message = state.messages.get(ctx.params["channel_id"], {}).get(ctx.params["message_id"])
        if message is None:
            return err(UNKNOWN_MESSAGE)
        if message["author"]["id"] != state.bot_user["id"]:
            return err(NOT_MESSAGE_AUTHOR)
        if problem := check_message(ctx.json, existing=message, editing=True):
            return problem
        return json_response(state.edit_message(message, ctx.json or {}))


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Ctx) -> web.Response:
    with ctx.state.lock:
        message = ctx.state.messages.get(ctx.params["channel_id"], {}).pop(ctx.params["message_id"], None)
    return no_content() if message else err(UNKNOWN_MESSAGE)
