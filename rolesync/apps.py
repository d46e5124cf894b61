from django.apps import AppConfig


class RoleSyncConfig(AppConfig):
    name = "rolesync"
    label = "rolesync"
    verbose_name = "Discord role sync"

    def ready(self) -> None:
        from rolesync import signals  # noqa: F401  (connects the sync hooks)
