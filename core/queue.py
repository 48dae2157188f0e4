"""Services enqueue Celery tasks by name, after their transaction commits.

The direction is tasks → services: a task module imports the services it calls at its top,
and a service never imports a task module (which would be a cycle, patched until now with
function-level imports). A service names the task instead, and this sends it once the
transaction that made the work commits, so a worker never looks for a row that is not there
yet, and a rolled-back service sends nothing.
"""

from importlib import import_module

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args, options: dict | None = None, **kwargs) -> None:
    """Send `task_name` (e.g. "patrols.tasks.notification_send") with these arguments when
    the current transaction commits (at once outside one). The registered task is looked up,
    not sent blind by name: an unknown module or name fails loudly (in the service, or at
    commit), and an eager configuration (CELERY_TASK_ALWAYS_EAGER) runs it as before.
    `options` go to apply_async (countdown, queue)."""

    # The web process imports a tasks module only when something asks for it (the worker
    # autodiscovers them all): import the one named, so its tasks are registered.
    import_module(task_name.rpartition(".")[0])

    def send():
        current_app.tasks[task_name].apply_async(args, kwargs, **(options or {}))

    transaction.on_commit(send)
