"""Admin panels of cms's own.

``DocumentProcessingPanel`` shows, in an asset's editor, whether the document chosen in one
of its fields could be processed (``cms.document_status``): a document that could not be
read is published as a normal asset whose text no rep can find, so the editor (and a
reviewer moderating a rep's submission) is warned, with the reason, before publishing."""

from __future__ import annotations

from wagtail.admin.panels import Panel


class DocumentProcessingPanel(Panel):
    """The processing status of the document in ``field_name`` as saved in the page's
    latest draft (a document just chosen shows once the page is saved); nothing when no
    document is chosen or it was processed without notes. Only those who may edit the page
    open its editor; "Process again" is offered to those who may also change the document."""

    def __init__(self, field_name: str, **kwargs):
        super().__init__(**kwargs)
        self.field_name = field_name

    def clone_kwargs(self):
        kwargs = super().clone_kwargs()
        kwargs["field_name"] = self.field_name
        return kwargs

    class BoundPanel(Panel.BoundPanel):
        template_name = "cms/admin/document_processing_panel.html"

        def document(self):
            if not getattr(self.instance, f"{self.panel.field_name}_id", None):
                return None
            return getattr(self.instance, self.panel.field_name, None)

        def is_shown(self):
            document = self.document()
            if document is None or self.request is None:
                return False
            return document.extraction_status != document.Status.DONE or bool(
                document.extraction_error
            )

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["document"] = self.document()
            context["user"] = self.request.user
            return context
