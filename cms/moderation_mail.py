"""Wagtail's moderation mails go only to people who can open the admin they link to.

A rep who sends material from the field starts its moderation (``analytics.field_materials``),
so Wagtail mailed them "approved" or "rejected" with links into the admin, which reps cannot
open (and a notification-preferences link to it). Reps hear the outcome from the library
itself (``field_material_published``). These notifiers are Wagtail's own with that one filter;
``cms.apps`` connects them under Wagtail's dispatch ids, before Wagtail's admin app would.
"""

from __future__ import annotations

from wagtail.admin.mail import (
    WorkflowStateApprovalEmailNotifier,
    WorkflowStateRejectionEmailNotifier,
)
from wagtail.models import WorkflowState
from wagtail.signals import workflow_approved, workflow_rejected


class _AdminUsersOnly:
    def get_valid_recipients(self, instance, **kwargs):
        recipients = super().get_valid_recipients(instance, **kwargs)
        return {user for user in recipients if user.has_perm("wagtailadmin.access_admin")}


class ApprovalNotifier(_AdminUsersOnly, WorkflowStateApprovalEmailNotifier):
    pass


class RejectionNotifier(_AdminUsersOnly, WorkflowStateRejectionEmailNotifier):
    pass


approval_notifier, rejection_notifier = ApprovalNotifier(), RejectionNotifier()


def moderation_mail_connect() -> None:
    """Connect these under the ids Wagtail's admin uses (``wagtail.admin.signal_handlers``):
    run before it, Wagtail's own connection with the same id is then skipped."""
    workflow_approved.connect(
        approval_notifier,
        sender=WorkflowState,
        dispatch_uid="workflow_state_approved_email_notification",
    )
    workflow_rejected.connect(
        rejection_notifier,
        sender=WorkflowState,
        dispatch_uid="workflow_state_rejected_email_notification",
    )
