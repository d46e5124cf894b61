"""OAuth2: the authorize step, the token and revoke endpoints (form bodies only), and ``/oauth2/@me``.

Discord's topic: ``topics/oauth2.mdx``; the client's "OAuth2" section. Errors here have OAuth's shape
(``{"error", "error_description"}``, RFC 6749), not Discord's ``{"message", "code"}``.

``/oauth2/authorize`` has two faces. For the tests it consents at once, as ``oauth_consent_user_id`` (or the
first human), and answers 302 to ``redirect_uri?code=..&state=..``. In the ``make run`` sandbox
(``state.oauth_consent_page``) it is a page: "Authorize <app>" with the scopes asked, where the visitor picks
which sandbox user they are or creates one; its form posts back here and gets the same redirect, or
``?error=access_denied&state=..`` on Cancel, as Discord's does.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from discord_sandbox.html import attr, esc, page
from discord_sandbox.routing import Ctx, error, json_response, route
from discord_sandbox.state import GUILD_ID, FakeDiscordState


def oauth_error(error_code: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error_code, "error_description": description}, status=status)


# What Discord's consent page says for each scope (a scope not listed here is shown by its name).
SCOPE_DESCRIPTIONS = {
    "identify": "Access your username, avatar, and banner",
    "email": "Access your email address",
    "guilds": "Know what servers you're in",
    "guilds.join": "Join servers for you",
    "guilds.members.read": "Read your member info (nickname, avatar, roles, etc.) for servers you belong to",
    "connections": "Access your third-party connections",
    "role_connections.write": "Update your connection and metadata for this app",
    "applications.commands": "Use application commands",
}
USERNAME = re.compile(r"^[a-z0-9_.]{2,32}$")
# The sandbox remembers who the visitor said they were, to preselect them next time.
VISITOR_COOKIE = "discord_sandbox_user"


@route("GET", "/oauth2/authorize", auth="none", global_exempt=True)
async def oauth_authorize(ctx: Ctx) -> web.Response:
    problem = _authorize_problem(ctx.state, ctx.query)
    if not ctx.state.oauth_consent_page:
        if problem:
            return error(400, 50035, "Invalid Form Body")
        if ctx.state.oauth_deny:
            return _deny(ctx.query)
        user_id = ctx.state.oauth_consent_user_id or _first_human(ctx.state)
        return _grant(ctx.state, ctx.query, user_id)
    if problem:
        return _invalid_request_page(problem)
    return consent_page(
        ctx.state, ctx.query, action=_form_action(ctx), chosen=ctx.request.cookies.get(VISITOR_COOKIE)
    )


@route("POST", "/oauth2/authorize", auth="none", global_exempt=True)
async def oauth_consent(ctx: Ctx) -> web.Response:
    """The consent page's form: authorize as a sandbox user (or a new one), or cancel."""
    state, form = ctx.state, ctx.form or {}
    if problem := _authorize_problem(state, form):
        return _invalid_request_page(problem)
    if form.get("decision") != "authorize":
        return _deny(form)
    user_id = form.get("user_id", "")
    if user_id == "new":
        username = form.get("new_username", "").strip().lower()
        if not USERNAME.match(username):
            return consent_page(
                state,
                form,
                action=_form_action(ctx),
                chosen="new",
                problem="A username is 2 to 32 characters: lowercase letters, digits, _ and .",
                status=400,
            )
        if any(u["username"] == username for u in state.users.values()):
            return consent_page(
                state,
                form,
                action=_form_action(ctx),
                chosen="new",
                problem=f"The username {username} is taken.",
                status=400,
            )
        user_id = _create_visitor(state, username=username, email=form.get("new_email", "").strip() or None)
    elif user_id not in state.users or state.users[user_id]["bot"]:
        return consent_page(
            state, form, action=_form_action(ctx), problem="Choose who you are in this sandbox.", status=400
        )
    response = _grant(state, form, user_id)
    # Readable by the guild view's script, which switches who the visitor acts as.
    response.set_cookie(VISITOR_COOKIE, user_id, path="/", samesite="Lax")
    return response


def _form_action(ctx: Ctx) -> str:
    # The form posts to the API's authorize route; the bare /oauth2/authorize page answers GET only.
    path = ctx.request.path
    return path if path.startswith("/api") else f"/api{path}"


def _authorize_problem(state: FakeDiscordState, params: Mapping[str, str]) -> str | None:
    if params.get("client_id") != state.application_id:
        return "Unknown application: client_id does not name this sandbox's application."
    if params.get("response_type") != "code":
        return "Unsupported response_type: this sandbox implements the authorization code grant only."
    if not params.get("redirect_uri"):
        return "Missing redirect_uri."
    if not params.get("scope"):
        return "Missing scope."
    return None


def _scopes(params: Mapping[str, str]) -> list[str]:
    return params["scope"].replace("+", " ").split()


def _redirect(params: Mapping[str, str], answer: dict[str, str]) -> web.Response:
    if params.get("state") is not None:
        answer["state"] = params["state"]
    redirect_uri = params["redirect_uri"]
    separator = "&" if "?" in redirect_uri else "?"
    return web.Response(status=302, headers={"Location": f"{redirect_uri}{separator}{urlencode(answer)}"})


def _deny(params: Mapping[str, str]) -> web.Response:
    return _redirect(
        params,
        {
            "error": "access_denied",
            "error_description": "The resource owner or authorization server denied the request",
        },
    )


def _grant(state: FakeDiscordState, params: Mapping[str, str], user_id: str) -> web.Response:
    code = state.authorize(
        user_id=user_id, scope=" ".join(_scopes(params)), redirect_uri=params["redirect_uri"]
    )
    return _redirect(params, {"code": code})


def _first_human(state: FakeDiscordState) -> str:
    with state.lock:
        humans = [u for u in state.users.values() if not u["bot"]]
        return humans[0]["id"] if humans else state.add_user(username="oauthuser")["id"]


def _create_visitor(state: FakeDiscordState, *, username: str, email: str | None) -> str:
    """A new sandbox user who joins the community guild, as if they had followed its invite."""
    with state.lock:
        user = state.add_user(username=username, email=email)
        state.add_member(GUILD_ID, user["id"])
        return user["id"]


def consent_page(
    state: FakeDiscordState,
    params: Mapping[str, str],
    *,
    action: str,
    chosen: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    """Discord's "<App> wants to access your account" page, with a "who are you?" choice instead of a login."""
    with state.lock:
        humans = sorted((u for u in state.users.values() if not u["bot"]), key=lambda u: u["username"])
    if chosen not in {u["id"] for u in humans} | {"new"}:
        chosen = humans[0]["id"] if humans else "new"
    scopes = "".join(
        f"<li>{esc(SCOPE_DESCRIPTIONS.get(scope, scope))} <span class='muted small'>({esc(scope)})</span></li>"
        for scope in _scopes(params)
    )
    choices = "".join(
        f'<label><input type="radio" name="user_id" value="{attr(u["id"])}"'
        f"{' checked' if u['id'] == chosen else ''}> {esc(u.get('global_name') or u['username'])}"
        f' <span class="muted">@{esc(u["username"])}</span></label>'
        for u in humans
    )
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{attr(params[name])}">'
        for name in ("client_id", "response_type", "redirect_uri", "scope", "state", "prompt")
        if params.get(name) is not None
    )
    redirect_host = urlsplit(params["redirect_uri"]).netloc
    body = f"""
<main class="consent">
  <p class="muted small" style="text-align:center">An external application</p>
  <h1>Authorize {esc(state.application_name)}</h1>
  <p style="text-align:center" class="muted">wants to access your Discord account</p>
  {f'<p class="error" role="alert">{esc(problem)}</p>' if problem else ""}
  <form method="post" action="{attr(action)}">
    {hidden}
    <fieldset class="who" style="border:0;padding:0">
      <legend><label>Who are you in this sandbox?</label></legend>
      {choices}
      <label><input type="radio" name="user_id" value="new"{" checked" if chosen == "new" else ""}>
        Create a new Discord user</label>
      <div style="display:flex;gap:.5em">
        <input name="new_username" placeholder="username" aria-label="New username"
          value="{attr(params.get("new_username", ""))}" autocomplete="off">
        <input name="new_email" placeholder="email (optional)" aria-label="New user's email"
          value="{attr(params.get("new_email", ""))}" autocomplete="off">
      </div>
    </fieldset>
    <p><strong>This will allow the developer of {esc(state.application_name)} to:</strong></p>
    <ul class="scopes">{scopes}</ul>
    <p class="muted small">Once you authorize, you will be redirected outside of Discord to
      <code>{esc(redirect_host)}</code>.</p>
    <div class="actions">
      <button type="submit" name="decision" value="cancel" class="btn-secondary">Cancel</button>
      <button type="submit" name="decision" value="authorize" class="btn-primary">Authorize</button>
    </div>
  </form>
</main>"""
    return page(f"Authorize {state.application_name}", body, status=status)


def _invalid_request_page(problem: str) -> web.Response:
    body = f"""<main class="consent"><h1>Invalid OAuth2 request</h1>
<p class="error" role="alert">{esc(problem)}</p>
<p class="muted">Discord shows this instead of the consent page when the authorize link is wrong.</p></main>"""
    return page("Invalid OAuth2 request", body, status=400)


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
