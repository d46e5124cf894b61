from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DealScaleConfig(AppConfig):
    name = "dealscale"
    verbose_name = "DealScale platform"

    def ready(self) -> None:
        from dealscale import checks  # noqa: F401  (registers the core's system checks)
        from dealscale.schedules import ensure_periodic_tasks

        # After every `migrate`, so the beat schedules exist with no manual step.
        post_migrate.connect(ensure_periodic_tasks, sender=self)
