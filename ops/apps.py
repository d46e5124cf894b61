from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The top floor: health, the dashboard, alerts and metrics, reading every app through its selectors."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Connects the Celery task-outcome counters behind /metrics in every process, the worker's included.
        from ops import metrics  # noqa: F401
