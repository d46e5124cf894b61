"""How an OAuth call to Discord failed: for allauth's callback view, and for the OAuth attempts recorded.

It sits beside, not inside, the provider package: the services describe failed token refreshes with it.

allauth's callback view turns a ProviderException raised while it exchanges the code or fetches the profile
into its error page (HTTP 401) and `on_authentication_error`, which records the OAuth failure: so every
Discord failure of the callback is raised as `DiscordCallbackFailed`, never left to surface as a 500.
"""

from allauth.socialaccount.providers.base import ProviderException

from discord_rest.errors import DiscordError, DiscordRateLimited, DiscordServerError


class DiscordCallbackFailed(ProviderException):
    """A Discord call of the callback failed; `kind` picks the page's explanation, `reason` is log-safe.

    Kinds: "exchange" (Discord refused the code), "profile" (Discord refused the profile call with the
    token it had just issued, or answered it without a user id), "unavailable" (a rate limit, a 5xx or
    no answer from Discord: worth trying again in a few minutes).
    """

    def __init__(self, reason: str, *, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]
        self.kind = kind


def describe_failure(call: str, error: DiscordError) -> str:
    """`call` ("token exchange", "profile call", "token refresh") and how it failed, in a short log-safe
    line: never the code, a token, or the HTML of an error page."""
    if isinstance(error, DiscordRateLimited):
        return f"{call} rate limited by Discord (retry after {error.retry_after:.0f} s)"
    if isinstance(error, DiscordServerError):
        return f"{call} failed: {f'Discord answered {error.status}' if error.status else error.message}"
    detail = error.error or (f"code {error.code}" if error.code else error.message)
    return f"{call} refused ({error.status}): {detail}"[:200]


def failed_call(call: str, error: DiscordError, *, refused_kind: str) -> DiscordCallbackFailed:
    """The DiscordCallbackFailed for `call`: "unavailable" for a rate limit, a 5xx or no answer, else
    `refused_kind`."""
    unavailable = isinstance(error, (DiscordRateLimited, DiscordServerError))
    return DiscordCallbackFailed(
        describe_failure(call, error), kind="unavailable" if unavailable else refused_kind
    )
