from django.apps import AppConfig


class DiscordbotConfig(AppConfig):
    name = "discordbot"

    def ready(self) -> None:
        # The Discord side of the domain events: receivers write outbox entries, deliveries handle them.
        from discordbot import deliveries, receivers  # noqa: F401
