"""The submitter's "approved" mail carries the approver's comment, as the "rejected" one
does: "Approve with comment" reached nobody."""

import pytest
from django.test import override_settings
from wagtail.models import WorkflowState

from accounts.roles import ENABLEMENT_LEAD, MARKETER
from tests.factories import make_asset, make_user

pytestmark = pytest.mark.django_db


def _approve(comment: str, mailoutbox):
    marketer, lead = make_user(role=MARKETER), make_user(role=ENABLEMENT_LEAD)
    page = make_asset("Pricing one-pager", publish=False)
    page.save_revision(user=marketer)
    page.get_workflow().start(page, marketer)
    state = WorkflowState.objects.get(object_id=str(page.pk), status="in_progress")
    task_state = state.current_task_state
    task = task_state.task.specific
    task.on_action(task_state, user=lead, action_name="approve", comment=comment)
    (approved,) = [m for m in mailoutbox if "approved" in m.subject.lower()]
    assert approved.to == [marketer.email]
    return approved, page


def test_the_approved_mail_carries_the_approvers_comment(mailoutbox):
    approved, page = _approve("Good — use the new logo <b>next time</b>", mailoutbox)
    assert "Pricing one-pager" in approved.body
    assert 'The approver\'s comment: "Good — use the new logo <b>next time</b>"' in approved.body
    page.refresh_from_db()
    assert page.full_url in approved.body


@override_settings(WAGTAILADMIN_NOTIFICATION_USE_HTML=True)
def test_the_html_mail_carries_the_comment_escaped(mailoutbox):
    approved, _ = _approve("Fix <b>the logo</b>", mailoutbox)
    (html, _) = approved.alternatives[0]
    assert "The approver's comment: “Fix &lt;b&gt;the logo&lt;/b&gt;”" in html


def test_without_a_comment_the_mail_says_nothing_of_one(mailoutbox):
    approved, _ = _approve("", mailoutbox)
    assert "comment" not in approved.body.lower()
