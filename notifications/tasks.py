"""Background work for notifications (django-tasks): the e-mail of a notification goes out
here, never in the request that made it. Tasks take ids, re-read the rows and call a
service; ``notifications.services`` enqueues them when the transaction that made the
notifications commits."""

from __future__ import annotations

from django_tasks import task


@task()
def notifications_email_task(notification_ids: list[int], subject: str = "") -> bool:
    """Mail these notifications of one user (``services.notifications_email``): those not
    mailed yet and that the user may see when the task runs. A backend failure is logged and
    left to the next digest run, so the task itself does not fail."""
    # Imported here: notifications.services enqueues this task, so it loads first.
    from notifications.services import notifications_email

    return notifications_email(notification_ids=notification_ids, subject=subject)
