from django.apps import AppConfig


class RoleSyncConfig(AppConfig):
    name = "rolesync"
    label = "rolesync"
    verbose_name = "Discord role sync"

    def ready(self) -> None:
        from rolesync import deliveries, signals  # noqa: F401  (the outbox handlers, the sync hooks)
