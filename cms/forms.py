"""The document upload form: refuses, with a reason, files the library cannot take, and a
new file for a document an asset uses unless an administrator gives it
(``cms.document_permissions``).

Wagtail uses it for every document upload and edit (single, multiple and chooser) through
``WAGTAILDOCS_DOCUMENT_FORM_BASE``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from wagtail.documents.forms import BaseDocumentForm

from cms.document_permissions import document_file_locked_by, document_file_locked_message
from cms.extraction import MB, ExtractionError, check_signature, extension_of


def upload_problem(upload: UploadedFile) -> str | None:
    """Why ``upload`` cannot be accepted (type, size, or content not matching the type),
    or None when it can."""
    name = upload.name
    extension = extension_of(name)
    allowed = [ext.lower() for ext in settings.WAGTAILDOCS_EXTENSIONS]
    if extension not in allowed:
        kind = f".{extension} files" if extension else "files without an extension"
        return (
            f"“{name}” was not uploaded: {kind} are not accepted. "
            f"Accepted types: {', '.join(allowed)}."
        )
    limit_mb = settings.MAX_UPLOAD_MB
    if upload.size > limit_mb * MB:
        return (
            f"“{name}” was not uploaded: it is {upload.size / MB:.1f} MB and "
            f"the limit is {limit_mb} MB."
        )
    try:
        check_signature(name, upload)
    except ExtractionError as error:
        return f"{error} It was not uploaded."
    return None


class LibraryDocumentForm(BaseDocumentForm):
    """Wagtail's document form plus the library's upload rules. Wagtail passes the ``user``
    who edits; a form without one may not replace the file of a document an asset uses."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.file_locked_message = None
        if "file" in self.fields and self.instance.pk:
            use = document_file_locked_by(user=user, document=self.instance)
            if use is not None:
                message = document_file_locked_message(document=self.instance, use=use)
                self.file_locked_message = message
                self.fields["file"].help_text = f"{message} Only an administrator may replace it."

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if isinstance(upload, UploadedFile):
            if self.file_locked_message:
                raise ValidationError(self.file_locked_message, code="file_in_use")
            problem = upload_problem(upload)
            if problem:
                raise ValidationError(problem, code="invalid_upload")
        return upload
