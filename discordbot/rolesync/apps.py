from django.apps import AppConfig


class RoleSyncConfig(AppConfig):
    name = "discordbot.rolesync"
    label = "rolesync"
    verbose_name = "Discord role sync"

    def ready(self) -> None:
        from discordbot.rolesync import signals  # noqa: F401  (connects the sync hooks)
