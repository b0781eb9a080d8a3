import os
from typing import Any

from celery import Task
from celery.signals import task_prerun
from django_structlog.celery.steps import DjangoStructLogInitStep
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Tasks carry the schema they were queued from and run inside it.
app = CeleryApp("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Binds each task's id to its logs and carries the request_id of whoever queued it.
app.steps["worker"].add(DjangoStructLogInitStep)


@task_prerun.connect
def _close_unusable_connections(task: Task, **kwargs: Any) -> None:
    # What Django does before each request: with CELERY_DB_REUSE_MAX, Celery no longer closes connections
    # around every task, so drop those that broke or outlived CONN_MAX_AGE. Not for a task run eagerly
    # inside the caller's transaction.
    from django.db import close_old_connections

    if not getattr(task.request, "is_eager", False):
        close_old_connections()
