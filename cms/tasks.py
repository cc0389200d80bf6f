"""Background tasks for cms. Tasks take ids, re-fetch, and call a service."""

from django_tasks import task

from cms.documents import document_process


@task()
def document_process_task(document_id: int) -> None:
    """Process one document's file; see ``cms.documents.document_process``."""
    document_process(document_id=document_id)
