from django.apps import AppConfig


class DiscordbotConfig(AppConfig):
    name = 'discordbot'
