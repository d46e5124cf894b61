"""allauth's Discord provider, pointed at DISCORD_API_BASE_URL.

allauth's own DiscordOAuth2Adapter hard-codes Discord's production API host. The provider in
this package subclasses allauth's and is registered under the same id "discord" through allauth's
documented `SOCIALACCOUNT_PROVIDERS["discord"]["provider_class"]` hook, so allauth builds the
`/accounts/discord/login/` and `/accounts/discord/login/callback/` URLs from this package's
`urls.py` and every authorize/token/profile URL comes from settings at call time (tests run the
whole flow against a fake Discord on 127.0.0.1). No URLconf shadowing and no monkeypatching.
"""
