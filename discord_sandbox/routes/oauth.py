"""OAuth2: the consent redirect, the token and revoke endpoints (form bodies only), and ``/oauth2/@me``.

Discord's topic: ``topics/oauth2.mdx``; the client's "OAuth2" section. Errors here have OAuth's shape
(``{"error", "error_description"}``, RFC 6749), not Discord's ``{"message", "code"}``.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import urlencode

from aiohttp import web

from discord_sandbox.routing import Ctx, error, json_response, route
from discord_sandbox.state import FakeDiscordState


def oauth_error(error_code: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error_code, "error_description": description}, status=status)


@route("GET", "/oauth2/authorize", auth="none", global_exempt=True)
async def oauth_authorize(ctx: Ctx) -> web.Response:
    state, query = ctx.state, ctx.query
    if query.get("client_id") != state.application_id:
        return error(400, 50035, "Invalid Form Body")
    if query.get("response_type") != "code" or not query.get("redirect_uri") or not query.get("scope"):
        return error(400, 50035, "Invalid Form Body")
    redirect_uri = query["redirect_uri"]
    params: dict[str, str] = {}
    if state.oauth_deny:
        params = {
            "error": "access_denied",
            "error_description": "The resource owner or authorization server denied the request",
        }
    else:
        user_id = state.oauth_consent_user_id or _first_human(state)
        params = {
            "code": state.authorize(
                user_id=user_id, scope=query["scope"].replace("+", " "), redirect_uri=redirect_uri
            )
        }
    if query.get("state") is not None:
        params["state"] = query["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return web.Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(params)}"})


def _first_human(state: FakeDiscordState) -> str:
    with state.lock:
        humans = [u for u in state.users.values() if not u["bot"]]
        return humans[0]["id"] if humans else state.add_user(username="oauthuser")["id"]


def _client_credentials(ctx: Ctx) -> tuple[str | None, str | None]:
    header = ctx.request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return client_id, secret
    form = ctx.form or {}
    return form.get("client_id"), form.get("client_secret")


def _oauth_form_problem(ctx: Ctx) -> web.Response | None:
    # Discord's token endpoints read application/x-www-form-urlencoded only; a JSON body has no grant type.
    if ctx.form is None:
        return oauth_error("unsupported_grant_type", "Grant type None is not supported")
    client_id, secret = _client_credentials(ctx)
    if client_id != ctx.state.application_id or secret != ctx.state.client_secret:
        return oauth_error("invalid_client", "Unknown client", status=401)
    return None


@route("POST", "/oauth2/token", auth="none", global_exempt=True)
async def oauth_token(ctx: Ctx) -> web.Response:
    if problem := _oauth_form_problem(ctx):
        return problem
    state, form = ctx.state, ctx.form
    grant_type = form.get("grant_type")
    with state.lock:
        if grant_type == "authorization_code":
            grant = state.grant_by(code=form.get("code", ""))
            if grant is None or grant.code_used or grant.code_expires_at < time.time():
                return oauth_error("invalid_grant", 'Invalid "code" in request.')
            if form.get("redirect_uri") != grant.redirect_uri:
                return oauth_error("invalid_grant", 'Invalid "redirect_uri" in request.')
            grant.code_used = True
            return json_response(state.issue_tokens(grant))
        if grant_type == "refresh_token":
            grant = state.grant_by(refresh_token=form.get("refresh_token", ""))
            if grant is None:
                return oauth_error("invalid_grant", "Invalid refresh token")
            return json_response(state.issue_tokens(grant))
    return oauth_error("unsupported_grant_type", f"Grant type {grant_type} is not supported")


@route("POST", "/oauth2/token/revoke", auth="none", global_exempt=True)
async def oauth_revoke(ctx: Ctx) -> web.Response:
    if problem := _oauth_form_problem(ctx):
        return problem
    token = ctx.form.get("token")
    if not token:
        return oauth_error("invalid_request", 'Missing "token" in request.')
    with ctx.state.lock:
        grant = ctx.state.grant_by(access_token=token) or ctx.state.grant_by(refresh_token=token)
        if grant is not None:
            grant.revoked = True
    # RFC 7009: an unknown or already revoked token is not an error.
    return json_response({})


@route("GET", "/oauth2/@me", auth="bearer")
async def oauth_me(ctx: Ctx) -> web.Response:
    grant = ctx.bearer_grant
    return json_response(
        {
            "application": {"id": ctx.state.application_id, "name": "DealScale", "bot_public": True},
            "scopes": grant.scope.split(),
            "expires": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(grant.access_expires_at)),
            "user": ctx.state.users[grant.user_id],
        }
    )
