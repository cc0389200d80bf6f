"""Background tasks for cms, and how they are scheduled. Tasks take ids, re-fetch, and call a
service; they are enqueued when the transaction that asked for them commits."""

from django.db import transaction
from django_tasks import task

from cms.documents import document_process


@task()
def document_process_task(document_id: int) -> None:
    """Process one document's file; see ``cms.documents.document_process``."""
    document_process(document_id=document_id)


def document_schedule_processing(*, document_id: int) -> None:
    """Enqueue processing once the current transaction commits (at once with the immediate
    task backend, by a worker with the database backend)."""
    transaction.on_commit(lambda: document_process_task.enqueue(document_id))
