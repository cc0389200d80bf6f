"""For the mail Wagtail sends the submitter when their page is approved: the approver's
comment, which Wagtail's own "approved" mail leaves out (its "rejected" mail has it)."""

from __future__ import annotations

from django import template
from wagtail.models import TaskState

register = template.Library()


@register.simple_tag
def approval_comment(content_object) -> str:
    """The comment of the latest approval of ``content_object`` in a workflow, or ""."""
    if content_object is None:
        return ""
    state = (
        TaskState.objects.filter(
            workflow_state__base_content_type=content_object.get_base_content_type(),
            workflow_state__object_id=str(content_object.pk),
            status=TaskState.STATUS_APPROVED,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    return state.specific.get_comment() if state is not None else ""
