"""Moderation and review notifications are delivered: by default as files under
DATA_DIR/mail, over SMTP when EMAIL_HOST is set; a mail that cannot go out is one log line,
never a traceback."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from accounts.roles import ENABLEMENT_LEAD, MARKETER
from tests.factories import make_asset, make_user

ROOT = Path(__file__).resolve().parent.parent


def _manage(args: list[str], tmp_path, **extra_env) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SEARCH_URL"}}
    env.update({"DJANGO_SETTINGS_MODULE": "enablement.settings", "DATA_DIR": str(tmp_path)})
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_by_default_mail_is_written_to_files_under_the_data_directory(tmp_path):
    result = _manage(["sendtestemail", "lead@example.com"], tmp_path)
    assert result.returncode == 0, result.stderr
    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1 and "lead@example.com" in files[0].read_text()


def test_unreachable_smtp_server_is_one_log_line_not_a_traceback(tmp_path):
    result = _manage(
        ["sendtestemail", "lead@example.com"],
        tmp_path,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(_closed_port()),
        EMAIL_USE_TLS="false",
    )
    assert "Traceback" not in result.stderr
    assert "mail server not reachable" in result.stderr


@pytest.mark.django_db
def test_submitting_for_review_notifies_the_approvers_by_file(tmp_path):
    marketer = make_user(role=MARKETER)
    make_user("approver", role=ENABLEMENT_LEAD)
    asset = make_asset("Q3 pricing deck", publish=False)
    with override_settings(EMAIL_BACKEND="cms.mail.LoggingFileBackend", EMAIL_FILE_PATH=tmp_path):
        asset.save_revision(user=marketer)
        asset.get_workflow().start(asset, marketer)
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert "approver@example.com" in written and "Q3 pricing deck" in written


@pytest.mark.django_db
def test_a_notification_that_cannot_be_sent_logs_no_traceback(caplog):
    marketer = make_user(role=MARKETER)
    make_user("approver", role=ENABLEMENT_LEAD)
    asset = make_asset("Q3 pricing deck", publish=False)
    with (
        override_settings(
            EMAIL_BACKEND="cms.mail.LoggingSMTPBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=_closed_port(),
            EMAIL_TIMEOUT=2,
        ),
        caplog.at_level(logging.INFO),
    ):
        asset.save_revision(user=marketer)
        asset.get_workflow().start(asset, marketer)
    assert any("mail server not reachable" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("http://127.0.0.1:8793", "http://127.0.0.1:8793"),
        ("https://library.example.com", "https://library.example.com"),
    ],
)
def test_page_links_in_wagtails_mails_use_base_url(base_url, root, mailoutbox):
    """Wagtail's "approved" mail linked to http://localhost/… (its default site), dead on
    any other address; the default site now follows BASE_URL at each migrate."""
    from wagtail.models import WorkflowState

    from cms.services import site_follow_base_url

    marketer = make_user(role=MARKETER)
    lead = make_user(role=ENABLEMENT_LEAD)
    with override_settings(WAGTAILADMIN_BASE_URL=base_url):
        assert site_follow_base_url() is True
        assert site_follow_base_url() is False  # already there: nothing written
    page = make_asset("Pricing one-pager", publish=False)
    page.save_revision(user=marketer)
    page.get_workflow().start(page, marketer)
    state = WorkflowState.objects.get(object_id=str(page.pk), status="in_progress")
    task_state = state.current_task_state
    task_state.task.specific.on_action(task_state, user=lead, action_name="approve")
    (approved,) = [m for m in mailoutbox if "approved" in m.subject.lower()]
    page.refresh_from_db()
    assert f"{root}{page.url}" in approved.body
    assert "http://localhost/" not in approved.body
