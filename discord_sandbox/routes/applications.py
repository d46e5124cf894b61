"""The current application: ``GET /applications/@me`` with its ``flags`` and ``redirect_uris``.

Discord's resource: ``developers/resources/application.mdx`` ("Get Current Application"); the client's
``get_current_application``. Tests set ``state.application_flags`` (the privileged intents switched on in
the portal) and ``state.redirect_uris`` (None leaves the optional field out).
"""

from __future__ import annotations

from aiohttp import web

from discord_sandbox.routing import Ctx, json_response, route


@route("GET", "/applications/@me")
async def get_current_application(ctx: Ctx) -> web.Response:
    state = ctx.state
    with state.lock:
        bot_id = state.bot_user["id"]
        application = {
            "id": state.application_id,
            "name": state.bot_user["username"],
            "icon": None,
            "description": "",
            "type": None,
            "bot": {
                k: state.bot_user[k] for k in ("id", "username", "global_name", "avatar", "discriminator")
            },
            "summary": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "team": None,
            "owner": {"id": "1000000000000000001", "username": "owner", "avatar": None, "discriminator": "0"},
            "flags": state.application_flags,
            "interactions_endpoint_url": None,
            "role_connections_verification_url": state.role_connections_verification_url,
            "event_webhooks_url": None,
            "event_webhooks_status": 1,
            "approximate_guild_count": sum(1 for members in state.members.values() if bot_id in members),
            "integration_types_config": {
                "0": {
                    "oauth2_install_params": {"scopes": ["applications.commands", "bot"], "permissions": "0"}
                }
            },
        }
        if state.redirect_uris is not None:
            application["redirect_uris"] = list(state.redirect_uris)
    return json_response(application)
