from django.apps import AppConfig


class DiscordbotConfig(AppConfig):
    name = "discordbot"

    def ready(self) -> None:
        from discordbot import receivers  # noqa: F401  (connects the Discord side of the domain events)
