"""Hand a stored file to a browser after the caller has checked permission.

Files are never served from a public URL. On local disk the file streams through Django; on
S3 the browser is redirected to a presigned URL that lives S3_PRESIGN_SECONDS.

A file the store does not have (deleted, or moved away while its row still names it) raises
``StoredFileMissing`` before anything is sent, so the caller records no download that did not
happen and answers with its own page (``cms.missing_files``); a store that does not answer
raises its own error, which ``cms.middleware.FileStoreDownMiddleware`` answers with a 503.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

from cms.storage import file_missing


class StoredFileMissing(Exception):
    """The stored file ``name`` is not in its store (``storage``: the backend's class name)."""

    def __init__(self, field_file):
        self.name = field_file.name
        # __class__, not type(): the lazy default_storage answers with the storage it stands for
        self.storage = field_file.storage.__class__.__name__
        super().__init__(f"{self.name} is not in the file store ({self.storage})")


# Characters Windows or macOS refuse in a file name, and control characters.
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def document_download_name(document) -> str:
    """The name a document's file is saved under: its title with the file's extension. The
    stored name may carry the store's suffix for a name already taken ("deck_mzbUgz0.pdf")
    or an upload's name made safe for storage; the title is what the marketer called it.
    Characters file systems refuse become spaces; a title with nothing left gives the
    stored name."""
    stored = PurePosixPath(document.file.name).name
    extension = PurePosixPath(stored).suffix
    title = unicodedata.normalize("NFC", document.title or "")
    title = " ".join(_UNSAFE_IN_NAMES.sub(" ", title).split()).strip(". ")[:150].strip()
    if not title:
        return stored
    if extension and not title.casefold().endswith(extension.casefold()):
        title += extension
    return title


def stored_file_response(
    field_file, *, filename: str | None = None, as_attachment: bool = True
) -> HttpResponse:
    """Serve ``field_file`` (a FieldFile) to a user already allowed to have it; raises
    ``StoredFileMissing`` when the store does not have it. The file is opened (local disk) or
    asked for (S3: one HEAD request, so that nobody is sent to the bucket's own error page)
    before the response is made: once this returns, the file is there."""
    try:
        return _response(field_file, filename=filename, as_attachment=as_attachment)
    except Exception as error:
        if file_missing(error):
            raise StoredFileMissing(field_file) from error
        raise


def _response(field_file, *, filename: str | None, as_attachment: bool) -> HttpResponse:
    filename = filename or PurePosixPath(field_file.name).name
    storage = field_file.storage
    if isinstance(storage, FileSystemStorage):
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        response = FileResponse(
            field_file.open("rb"),
            as_attachment=as_attachment,
            filename=filename,
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
    if not storage.exists(field_file.name):
        raise StoredFileMissing(field_file)
    url = storage.url(
        field_file.name,
        parameters={
            "ResponseContentDisposition": content_disposition_header(as_attachment, filename)
        },
        expire=settings.S3_PRESIGN_SECONDS,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response
