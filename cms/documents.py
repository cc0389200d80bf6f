"""Services for library documents: deciding when a file needs processing, processing it, and
reading what processing found page by page.

Processing results (text, pages, page count, thumbnail, status, error) belong to these services
alone. They are written with ``QuerySet.update`` so that storing them never fires ``post_save``
again, and any other save of a document keeps the stored results (``document_prepare_save``),
so an editor saving a title with a stale instance cannot wipe what processing found.

Every file goes through ``file_outcome``: the same checks, bounds and sandbox whether it was
uploaded, reprocessed, or given to ``manage.py extract_text`` by support staff.

For per-page search hits (the interface other apps use):
- ``document_page_texts(document_id=...)``: the stored pages, ``LibraryDocumentPage`` rows
  (number from 1, text), in page order; empty for formats without pages;
- ``document_page_preview(document_id=..., number=..., width=...)``: a PNG of one PDF page,
  drawn in the sandbox; None when the document is not a PDF;
- ``document_page_unit(filename=...)``: what its pages are called, "slide" or "page".
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from wagtail.documents import get_document_model
from wagtail.permissions import policy_registry
from wagtail.search import index as search_index

from cms.extraction import (
    MB,
    Extraction,
    ExtractionError,
    Limits,
    extension_of,
    extract_bounded,
    render_page_bounded,
    unsupported_reason,
)
from cms.extraction.pptx import PARSER as DECKS
from cms.models import LibraryDocument, LibraryDocumentPage
from cms.signals import document_processed
from cms.storage import file_store_down

logger = logging.getLogger(__name__)
Status = LibraryDocument.Status

PROCESSING_FIELDS = (
    "extracted_text",
    "extraction_status",
    "extraction_error",
    "page_count",
    "thumbnail",
    "processed_at",
    "queued_at",
    "automatic_retries",
)

# A worker killed mid-file (out of memory, a restart) leaves its document pending for ever.
# Processing one file takes at most the sandbox's timeout (EXTRACTION_TIMEOUT_SECONDS) plus
# copying it out of storage; QUEUE_SLACK is room for the files queued before it. A document
# pending longer than that is stuck: "Process again" is offered, and the scheduler retries it
# AUTOMATIC_RETRIES times before marking it failed.
QUEUE_SLACK = timedelta(minutes=15)
AUTOMATIC_RETRIES = 2
# A file the file store did not hand over (S3 down) is not the file's fault: the scheduler
# processes it again every STORE_DOWN_RETRY_AFTER, STORE_DOWN_RETRIES times (an outage of
# about an hour), then leaves it to "Process again" (before 2026-12-06 it waited for a person
# at once, and its text stayed out of search; an outside audit).
STORE_DOWN = (
    "The file store did not answer, so the file could not be read. It is tried again "
    "automatically; “Process again” in the Document processing report tries at once."
)
STORE_DOWN_RETRY_AFTER = timedelta(minutes=5)
STORE_DOWN_RETRIES = 12
NEVER_FINISHED = (
    "Processing never finished: the worker stopped while processing this file, also after "
    "{retries} automatic retries. Try “Process again” in the Document processing report; if it "
    "fails again, tell an administrator."
)


@dataclass
class Outcome:
    status: str
    message: str = ""
    extraction: Extraction | None = None


def extraction_limits() -> Limits:
    """Bounds from settings. Reading stops a little before the sandbox's time limit, so a slow
    file keeps the pages read so far instead of being killed with nothing."""
    timeout = settings.EXTRACTION_TIMEOUT_SECONDS
    return Limits(
        max_pages=settings.EXTRACTION_MAX_PAGES,
        max_chars=settings.EXTRACTION_MAX_CHARS,
        seconds=max(timeout * 0.8, timeout - 10),
        ocr_pages=settings.EXTRACTION_OCR_PAGES,
        ocr_languages=settings.EXTRACTION_OCR_LANGUAGES,
        tika_url=settings.TIKA_URL,
        tika_seconds=max(timeout * 0.8, timeout - 10),
    )


def _sandbox() -> dict:
    return {
        "timeout": settings.EXTRACTION_TIMEOUT_SECONDS,
        "max_memory_mb": settings.EXTRACTION_MAX_MEMORY_MB,
        "workers": settings.EXTRACTION_WORKERS,
    }


def document_prepare_save(*, document: LibraryDocument) -> None:
    """Called before any save of a document. A new document or a new file resets the results
    to pending and marks the document for processing after the save; otherwise the results
    stored in the database are copied onto the instance so the save keeps them."""
    stored = None
    if document.pk is not None:
        stored = (
            type(document).objects.filter(pk=document.pk).values("file", *PROCESSING_FIELDS).first()
        )
    if stored is not None and stored["file"] == document.file.name:
        document._needs_processing = False
        for name in PROCESSING_FIELDS:
            setattr(document, name, stored[name])
        return
    document._needs_processing = True
    document.extracted_text = ""
    document.extraction_status = Status.PENDING
    document.extraction_error = ""
    document.page_count = None
    document.processed_at = None
    document.queued_at = timezone.now()
    document.automatic_retries = 0


def document_after_save(*, document: LibraryDocument, created: bool) -> bool:
    """Called after any save: whether the file must be processed (a new document, or
    ``document_prepare_save`` found a new file; the caller schedules it with
    ``cms.tasks.document_schedule_processing``). The pages of a replaced file go at once, so
    stored pages always belong to the current file."""
    if not (created or getattr(document, "_needs_processing", False)):
        return False
    document._needs_processing = False
    if not created:
        LibraryDocumentPage.objects.filter(document_id=document.pk).delete()
    return True


def document_reprocess(*, document_id: int) -> bool:
    """Mark a document pending again (an editor's retry) unless it is pending and not stuck
    (its processing may still be under way: no double work). Returns whether it was marked;
    if so, the caller schedules processing with ``cms.tasks.document_schedule_processing``."""
    Document = get_document_model()
    not_in_progress = ~Q(extraction_status=Status.PENDING) | _stuck()
    marked = Document.objects.filter(not_in_progress, pk=document_id).update(
        extraction_status=Status.PENDING,
        extraction_error="",
        queued_at=timezone.now(),
        automatic_retries=0,
    )
    return bool(marked)


def processing_stuck_after() -> timedelta:
    """How long a document may legitimately stay pending: see ``QUEUE_SLACK``."""
    return timedelta(seconds=settings.EXTRACTION_TIMEOUT_SECONDS) + QUEUE_SLACK


def _stuck() -> Q:
    """Pending documents queued longer ago than ``processing_stuck_after`` (those pending
    since before ``queued_at`` existed count from their upload)."""
    cutoff = timezone.now() - processing_stuck_after()
    queued_before = Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True, created_at__lt=cutoff)
    return Q(extraction_status=Status.PENDING) & queued_before


def document_stuck_since(*, document: LibraryDocument) -> datetime | None:
    """When a stuck document was last queued (its processing made no progress since); None
    when it is not pending or still within ``processing_stuck_after``."""
    if document.extraction_status != Status.PENDING:
        return None
    since = document.queued_at or document.created_at
    if since is None or timezone.now() - since <= processing_stuck_after():
        return None
    return since


def documents_stuck_retry() -> list[int]:
    """Claim the stuck documents for another try, each at most once per stuck period: one
    transaction reads them and moves their ``queued_at`` on. Returns the ids claimed; the
    caller schedules their processing (``cms.tasks``). A document already retried
    ``AUTOMATIC_RETRIES`` times is marked failed instead, with the reason. Documents that
    failed because the file store did not answer are claimed the same way, every
    ``STORE_DOWN_RETRY_AFTER``, up to ``STORE_DOWN_RETRIES`` times.

    Two schedulers at once claim a document once: on PostgreSQL the read locks the rows
    (FOR UPDATE; rows another claim holds are skipped, and once it commits they are no longer
    stuck); on SQLite the transaction holds the write lock from its start (``transaction_mode``
    IMMEDIATE in settings), so the second claim reads after the first has committed. (Were it
    to begin deferred, its stale read could not turn into a write: "database is locked".)"""
    Document = get_document_model()
    stuck = Document.objects.filter(_stuck())
    now = timezone.now()
    store_was_down = Document.objects.filter(
        extraction_status=Status.FAILED,
        extraction_error=STORE_DOWN,
        processed_at__lt=now - STORE_DOWN_RETRY_AFTER,
        automatic_retries__lt=STORE_DOWN_RETRIES,
    )
    with transaction.atomic():
        retry = stuck.filter(automatic_retries__lt=AUTOMATIC_RETRIES) | store_was_down
        claimed = list(retry.select_for_update(skip_locked=True).values_list("pk", flat=True))
        Document.objects.filter(pk__in=claimed).update(
            extraction_status=Status.PENDING,
            extraction_error="",
            queued_at=now,
            automatic_retries=F("automatic_retries") + 1,
        )
    never = list(
        stuck.filter(automatic_retries__gte=AUTOMATIC_RETRIES).values_list("pk", flat=True)
    )
    failed = stuck.filter(pk__in=never).update(
        extraction_status=Status.FAILED,
        extraction_error=NEVER_FINISHED.format(retries=AUTOMATIC_RETRIES),
        processed_at=timezone.now(),
    )
    if failed:
        logger.warning("%s document(s) never finished processing; marked failed", failed)
        _processing_ended(document_ids=never)
    return claimed


def _processing_ended(*, document_ids: list[int]) -> None:
    """Send ``document_processed`` for documents whose processing ended failed without
    results, so that their uploaders are told as for a file that could not be read. Logged,
    never raised: the caller is already handling a failure."""
    Document = get_document_model()
    for document in Document.objects.filter(pk__in=document_ids, extraction_status=Status.FAILED):
        try:
            document_processed.send(sender=Document, document=document)
        except Exception:
            logger.exception("could not tell that document %s failed", document.pk)


def documents_processing_for_user(*, user) -> QuerySet[LibraryDocument]:
    """Documents whose processing ``user`` may follow: those they may edit or choose, under
    Wagtail's collection permissions (a read used by the admin report and dashboard)."""
    policy = policy_registry.get_by_type(get_document_model())
    return policy.instances_user_has_any_permission_for(user, ["change", "choose"])


def document_process(*, document_id: int) -> LibraryDocument | None:
    """Extract text, page count and thumbnail from the document's file and store them.

    Idempotent: running it again reprocesses the same file to the same result. Returns the
    refreshed document, or None when it was deleted, or its file replaced while it was being
    processed (the newer file has its own processing scheduled). An unexpected error (storage
    down, a bug) marks the document failed, so it never stays "Processing", and is re-raised
    for the task backend to record; a worker killed mid-file is caught later by
    ``documents_stuck_retry``.
    """
    Document = get_document_model()
    document = Document.objects.filter(pk=document_id).first()
    if document is None:
        return None
    file_name = document.file.name
    try:
        outcome = _outcome_for(document)
        stored = _store_outcome(document, file_name=file_name, outcome=outcome)
    except Exception as error:
        down = file_store_down(error)
        reason = (
            STORE_DOWN
            if down
            else "Processing failed unexpectedly. Try “Process again” in the Document "
            "processing report; if it fails again, tell an administrator."
        )
        failed = Document.objects.filter(pk=document_id, file=file_name).update(
            extraction_status=Status.FAILED, extraction_error=reason, processed_at=timezone.now()
        )
        # With the store down the scheduler tries again (documents_stuck_retry): the uploader
        # is told when it stops trying, not at each try.
        if failed and not (down and document.automatic_retries < STORE_DOWN_RETRIES):
            _processing_ended(document_ids=[document_id])
        raise
    if not stored:
        return None
    document.refresh_from_db()
    search_index.insert_or_update_object(document)
    document_processed.send(sender=Document, document=document)
    return document


def _outcome_for(document: LibraryDocument) -> Outcome:
    name = document.file.name
    if not name:
        return Outcome(Status.FAILED, "The document has no file.")
    reason = unsupported_reason(name, extraction_limits())
    if reason:
        return Outcome(Status.UNSUPPORTED, reason)
    try:
        with _local_copy(document) as path:
            return file_outcome(path=path, filename=name)
    except ExtractionError as error:
        return Outcome(Status.FAILED, str(error))


def file_outcome(*, path: Path, filename: str) -> Outcome:
    """What processing makes of the file at ``path`` named ``filename``: its status, the message
    for whoever uploaded it, and what was extracted. Runs in the sandbox with the settings'
    bounds; never touches the database."""
    limits = extraction_limits()
    reason = unsupported_reason(filename, limits)
    if reason:
        return Outcome(Status.UNSUPPORTED, reason)
    try:
        extraction = extract_bounded(
            path,
            filename=filename,
            limits=limits,
            max_jobs=settings.EXTRACTION_WORKER_MAX_FILES,
            **_sandbox(),
        )
    except ExtractionError as error:
        status = Status.PROTECTED if error.status == "protected" else Status.FAILED
        return Outcome(status, str(error))
    if not extraction.searchable:
        return Outcome(
            Status.UNSUPPORTED,
            "Images have no text to search; the image itself is used as the thumbnail.",
            extraction,
        )
    return Outcome(Status.DONE, " ".join(extraction.notes), extraction)


@contextlib.contextmanager
def _local_copy(document: LibraryDocument):
    """The stored file (local disk or S3) copied to a temporary file, at most MAX_UPLOAD_MB."""
    limit = settings.MAX_UPLOAD_MB * MB
    with tempfile.NamedTemporaryFile(prefix="document-") as local:
        try:
            with document.file.open("rb") as stored:
                copied = _copy_bounded(stored, local, limit=limit)
        except OSError as error:
            if file_store_down(error):
                raise  # the store's failure, not the file's: said as such by the caller
            raise ExtractionError("The stored file could not be found or read.") from error
        if copied > limit:
            raise ExtractionError(
                f"The file is larger than {settings.MAX_UPLOAD_MB} MB (MAX_UPLOAD_MB), "
                "so it was not processed."
            )
        local.flush()
        yield Path(local.name)


def _copy_bounded(source, target, *, limit: int) -> int:
    """Copy at most ``limit + 1`` bytes; the count tells the caller whether the file is over."""
    copied = 0
    while copied <= limit:
        chunk = source.read(min(MB, limit + 1 - copied))
        if not chunk:
            break
        target.write(chunk)
        copied += len(chunk)
    return copied


def _store_outcome(document: LibraryDocument, *, file_name: str, outcome: Outcome) -> bool:
    """Write the results unless the file changed meanwhile; replace the old thumbnail.

    A failure to read a file that was read before (the same file: a new one resets the
    results, ``document_prepare_save``) keeps what was read: the failure is of this attempt
    (the file gone from the store, a time limit on a busy machine, the Tika server not
    answering), and the stored text and thumbnail may be the last copy of the file's content.
    The status says it failed, and that the earlier results are still used."""
    extraction = outcome.extraction or Extraction()
    thumbnail_name = ""
    if extraction.thumbnail:
        field = document.thumbnail.field
        name = field.generate_filename(document, f"document-{document.pk}.png")
        thumbnail_name = field.storage.save(name, ContentFile(extraction.thumbnail))
    current = type(document).objects.filter(pk=document.pk, file=file_name)
    with transaction.atomic():
        before = current.select_for_update().values(*_KEPT_ON_FAILURE).first() or {}
        previous = before.get("thumbnail")
        if outcome.status == Status.FAILED and _was_read(before):
            updated = current.update(
                extraction_status=Status.FAILED,
                extraction_error=f"{outcome.message} {_kept_note(before['processed_at'])}",
                processed_at=timezone.now(),
            )
            previous = None  # kept
        else:
            updated = current.update(
                extracted_text=extraction.text,
                page_count=extraction.page_count,
                thumbnail=thumbnail_name,
                extraction_status=outcome.status,
                extraction_error=outcome.message,
                processed_at=timezone.now(),
            )
            if updated:
                LibraryDocumentPage.objects.filter(document_id=document.pk).delete()
                LibraryDocumentPage.objects.bulk_create(
                    LibraryDocumentPage(document_id=document.pk, number=page.number, text=page.text)
                    for page in extraction.pages
                )
    storage = document.thumbnail.storage
    if updated and previous and previous != thumbnail_name:
        storage.delete(previous)
    elif not updated and thumbnail_name:
        storage.delete(thumbnail_name)
    if outcome.status == Status.FAILED:
        logger.info("Document %s could not be processed: %s", document.pk, outcome.message)
    return bool(updated)


_KEPT_ON_FAILURE = ("thumbnail", "extracted_text", "processed_at")


def _was_read(stored: dict) -> bool:
    """Whether a document's stored results hold something read from its file."""
    return bool(stored.get("extracted_text") or stored.get("thumbnail"))


def _kept_note(read_at: datetime | None) -> str:
    when = f" on {timezone.localtime(read_at):%-d %b %Y}" if read_at else ""
    return f"The text and thumbnail read{when} are still used until it is processed again."


def document_page_texts(*, document_id: int) -> list[LibraryDocumentPage]:
    """The stored pages of a document, in page order (see ``LibraryDocumentPage``). The caller
    checks that the user may see the document's asset."""
    return list(LibraryDocumentPage.objects.filter(document_id=document_id).order_by("number"))


def document_page_unit(*, filename: str) -> str:
    """What the pages of the file ``filename`` are called: "slide" for decks, else "page"."""
    return "slide" if extension_of(filename) in DECKS.extensions else "page"


#: Pages are drawn this wide: sharp on a phone's dense screen, where they show about 400 CSS
#: pixels wide; and kept this long in the cache (``page_preview_png``).
PAGE_PREVIEW_WIDTH = 800
PAGE_PREVIEW_CACHE_SECONDS = 24 * 3600


def page_preview_key(document, number: int) -> str:
    """The cache key of page ``number``'s drawing: it names the processed file, so a new
    file is drawn afresh. Also the ETag's source for the reps' page previews."""
    processed = document.processed_at.timestamp() if document.processed_at else 0
    return f"page-preview:{document.pk}:{processed}:{number}:{PAGE_PREVIEW_WIDTH}"


def page_preview_png(document, number: int) -> bytes | None:
    """``document_page_preview`` at ``PAGE_PREVIEW_WIDTH``, drawn once per processed file and
    kept in the cache: the reps' page previews and the buyer's first page share it. The
    caller checks permissions; raises ExtractionError as ``document_page_preview`` does."""
    key = page_preview_key(document, number)
    png = cache.get(key)
    if png is None:
        png = document_page_preview(
            document_id=document.pk, number=number, width=PAGE_PREVIEW_WIDTH
        )
        if png is not None:
            cache.set(key, png, PAGE_PREVIEW_CACHE_SECONDS)
    return png


def document_page_preview(*, document_id: int, number: int, width: int = 800) -> bytes | None:
    """PNG of page ``number`` (from 1) of a PDF document, ``width`` pixels wide (at most 2000),
    drawn in the sandbox. None when the document is missing or not a PDF; ExtractionError when
    the page does not exist or cannot be drawn. The caller checks permissions."""
    document = get_document_model().objects.filter(pk=document_id).first()
    if document is None or extension_of(document.file.name) != "pdf":
        return None
    with _local_copy(document) as path:
        return render_page_bounded(
            path,
            number=number,
            width=max(16, min(width, 2000)),
            timeout=settings.EXTRACTION_TIMEOUT_SECONDS,
            max_memory_mb=settings.EXTRACTION_MAX_MEMORY_MB,
            workers=settings.EXTRACTION_WORKERS,
        )
