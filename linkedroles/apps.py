from django.apps import AppConfig


class LinkedRolesConfig(AppConfig):
    name = "linkedroles"
    label = "linkedroles"
    verbose_name = "Discord Linked Roles"

    def ready(self) -> None:
        from linkedroles import deliveries, receivers  # noqa: F401  (the outbox handlers, the hooks)
