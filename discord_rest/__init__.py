"""The one way to Discord's REST API: the HTTP client and the rate-limit governor every process shares.

No models and no app imports: it needs only the project core, so any app (accounts revoking a token,
role sync changing roles, the bot posting a message) can call Discord without importing the bot.
"""
