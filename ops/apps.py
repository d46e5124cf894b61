from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The top floor: health, the dashboard, alerts and metrics, reading every app through its selectors."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # The Celery task-outcome counters behind /metrics in every process, the worker's included, and the
        # outbox handler of alert webhooks.
        from ops import deliveries, metrics  # noqa: F401
