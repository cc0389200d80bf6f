"""The document and image forms: they refuse, with a reason, a new file for a document or
image an asset uses unless an administrator gives it (``cms.file_permissions``), the document
form refuses files the library cannot take, and the image form images with more pixels than
may be drawn (``cms.images``).

Wagtail uses them for every document and image upload and edit (single, multiple and
chooser) through ``WAGTAILDOCS_DOCUMENT_FORM_BASE`` and ``WAGTAILIMAGES_IMAGE_FORM_BASE``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from wagtail.documents.fields import WagtailDocumentField
from wagtail.documents.forms import BaseDocumentForm
from wagtail.images.fields import WagtailImageField
from wagtail.images.forms import BaseImageForm

from cms.extraction import MB, ExtractionError, check_signature, extension_of
from cms.images import image_header_size, image_upload_problem
from cms.models import validate_no_direction_controls


def megabytes_shown(size: int) -> str:
    """``size`` (bytes) in MB as the upload messages show it: rounded *up* to a tenth, so a
    file over the limit never reads as the limit or under it (50 MB + 1 byte is "50.1 MB",
    not "50 MB"), and a whole number without ".0". ``cms/static/cms/upload_limit.js``, which
    refuses such a file in the browser, shows sizes by the same rule."""
    tenths = -(-size * 10 // MB)
    whole, tenth = divmod(tenths, 10)
    return f"{whole}.{tenth}" if tenth else f"{whole}"


def upload_problem(upload: UploadedFile) -> str | None:
    """Why ``upload`` cannot be accepted (type, size, content not matching the type, or a
    direction control in its name), or None when it can."""
    name = upload.name
    try:
        validate_no_direction_controls(name)
    except ValidationError as error:
        return f"The file's name was refused: {error.messages[0]} It was not uploaded."
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
            f"“{name}” was not uploaded: it is {megabytes_shown(upload.size)} MB and "
            f"the limit is {limit_mb} MB."
        )
    try:
        check_signature(name, upload)
    except ExtractionError as error:
        return f"{error} It was not uploaded."
    return None


class AssetFileLockMixin:
    """A new file for a document or image an asset uses is refused unless an administrator
    gives it. Asks the model's permission policy, Wagtail's ``permission_policy`` of the
    form (``cms.file_permissions.AssetFilePermissionPolicy``). Wagtail passes the ``user``
    who edits; a form without one may not replace such a file."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.file_locked_message = None
        if "file" in self.fields and self.instance.pk:
            policy = self.permission_policy
            use = policy.file_locked_by(user=user, instance=self.instance)
            if use is not None:
                message = policy.file_locked_message(instance=self.instance, use=use)
                self.file_locked_message = message
                self.fields["file"].help_text = f"{message} Only an administrator may replace it."

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if isinstance(upload, UploadedFile) and self.file_locked_message:
            raise ValidationError(self.file_locked_message, code="file_in_use")
        return upload


class LibraryDocumentField(WagtailDocumentField):
    """Wagtail's document file field, whose refusal of an empty file names it, as the
    library's other upload refusals do (Django's says "The submitted file is empty.", which
    in a list of uploads does not say which)."""

    def to_python(self, data):
        if isinstance(data, UploadedFile) and data.name and not data.size:
            raise ValidationError(
                "“%(name)s” was not uploaded: it is empty (0 bytes).",
                code="empty",
                params={"name": data.name},
            )
        return super().to_python(data)


class LibraryDocumentForm(AssetFileLockMixin, BaseDocumentForm):
    """Wagtail's document form plus the library's upload rules."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wagtails = self.fields.get("file")
        if wagtails is not None:  # made by Wagtail's form factory from the model's field
            field = LibraryDocumentField(
                label=wagtails.label, required=wagtails.required, max_length=wagtails.max_length
            )
            field.widget, field.help_text = wagtails.widget, wagtails.help_text
            self.fields["file"] = field

    def clean_title(self):
        title = self.cleaned_data.get("title")
        validate_no_direction_controls(title)
        return title

    def clean_file(self):
        upload = super().clean_file()
        if isinstance(upload, UploadedFile):
            problem = upload_problem(upload)
            if problem:
                raise ValidationError(problem, code="invalid_upload")
        return upload


class LibraryImageField(WagtailImageField):
    """Wagtail's image field, whose pixel check first reads the size from the file's header:
    an image over the limit is refused naming its size and the limit (Wagtail's says "unknown
    number" past Pillow's own limit) before Wagtail decodes the whole picture to check it."""

    def check_image_pixel_size(self, f):
        size = image_header_size(f)
        if size is not None:
            problem = image_upload_problem(f.name, *size)
            if problem:
                raise ValidationError(problem, code="file_too_many_pixels")
        super().check_image_pixel_size(f)


class LibraryImageForm(AssetFileLockMixin, BaseImageForm):
    """Wagtail's image form, with the library's pixel limit (``LibraryImageField``); the
    thumbnail of an asset changes only through the asset."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        wagtails = self.fields.get("file")
        if wagtails is not None:  # made by Wagtail's form factory, which names its class
            field = LibraryImageField(label=wagtails.label, required=wagtails.required)
            field.widget, field.help_text = wagtails.widget, wagtails.help_text
            self.fields["file"] = field
