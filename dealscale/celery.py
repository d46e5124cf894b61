"""The Celery app: tasks are autodiscovered from each app's tasks.py; beat uses the database."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealscale.settings")

app = Celery("dealscale")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# django-structlog binds task_id/parent_task_id to every log line a task writes.
from django_structlog.celery.steps import DjangoStructLogInitStep  # noqa: E402

app.steps["worker"].add(DjangoStructLogInitStep)
