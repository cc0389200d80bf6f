"""Hand a stored file to a browser after the caller has checked permission.

Files are never served from a public URL. On local disk the file streams through Django; on
S3 the browser is redirected to a presigned URL that lives S3_PRESIGN_SECONDS.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect


def stored_file_response(
    field_file, *, filename: str | None = None, as_attachment: bool = True
) -> HttpResponse:
    """Serve ``field_file`` (a FieldFile) to a user already allowed to have it."""
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
    disposition = "attachment" if as_attachment else "inline"
    url = storage.url(
        field_file.name,
        parameters={"ResponseContentDisposition": f'{disposition}; filename="{filename}"'},
        expire=settings.S3_PRESIGN_SECONDS,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response
