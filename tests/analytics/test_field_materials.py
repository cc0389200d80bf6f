"""Rep-made materials: submitted as a draft into marketing's workflow, the rep credited,
"from the field" once published, and bad input refused by field with nothing saved."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from wagtail.models import WorkflowState

from accounts.roles import REP
from analytics.field_materials import field_material_submit
from analytics.models import FieldMaterial
from analytics.services import DealInput, deal_upsert
from cms.models import AssetPage, LibraryPage
from notifications.models import Notification
from tests.factories import library_root, make_user

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _deck(name="my-deck.txt", content=b"Our retail pitch, adapted for Acme."):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def test_a_rep_submits_a_material_as_a_draft_in_the_workflow():
    library_root()
    rep = make_user(role=REP)
    deal, _ = deal_upsert(
        data=DealInput(external_id="006W", stage="Closed Won", owner=rep.username)
    )
    response = _client(rep).post(
        "/analytics/field-materials/new/",
        {
            "title": "Acme retail pitch",
            "file": _deck(),
            "note": "Won Acme with it",
            "deal": deal.pk,
        },
    )
    assert response.status_code == 302
    material = FieldMaterial.objects.get()
    asset = material.asset
    assert material.submitted_by == rep and material.deal == deal
    assert not asset.live and asset.title == "Acme retail pitch"
    assert asset.document.file.read() == b"Our retail pitch, adapted for Acme."
    state = WorkflowState.objects.filter(object_id=str(asset.pk)).first()
    assert state is not None and state.status == WorkflowState.STATUS_IN_PROGRESS


def test_once_published_it_shows_from_the_field_and_the_rep_is_told():
    library_root()
    rep = make_user("rosa", role=REP)
    material = field_material_submit(
        user=rep, title="Objection cheat sheet", upload=_deck(), note="Handy on calls"
    )
    asset = AssetPage.objects.get(pk=material.asset_id)
    page = _client(make_user(role=REP)).get(asset.url or "/")
    assert asset.url is None or page.status_code == 404  # a draft is not in the library
    asset.save_revision().publish()
    asset.refresh_from_db()
    html = _client(make_user(role=REP)).get(asset.url).content.decode()
    assert "From the field: made by rosa" in html
    told = Notification.objects.get(user=rep, kind="field_material_published")
    assert "Objection cheat sheet" in told.text
    asset.save_revision().publish()  # a later publish tells nobody again
    assert Notification.objects.filter(kind="field_material_published").count() == 1


@pytest.mark.parametrize(
    "data,field",
    [
        ({"title": "", "note": "x"}, "title"),
        ({"title": "Deck", "note": ""}, "note"),
        ({"title": "Deck", "note": "x", "upload": None}, "file"),
        ({"title": "Deck", "note": "x", "upload": _deck("evil.exe", b"MZ")}, "file"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(data, field):
    library_root()
    rep = make_user(role=REP)
    arguments = {"upload": _deck(), **data}
    with pytest.raises(Exception) as error:
        field_material_submit(user=rep, **arguments)
    assert field in error.value.message_dict
    assert not FieldMaterial.objects.exists() and not AssetPage.objects.exists()


def test_another_reps_deal_cannot_be_credited():
    library_root()
    rep, other = make_user(role=REP), make_user(role=REP)
    deal, _ = deal_upsert(
        data=DealInput(external_id="006Z", stage="Prospecting", owner=other.username)
    )
    with pytest.raises(Exception) as error:
        field_material_submit(user=rep, title="Deck", upload=_deck(), note="x", deal=deal)
    assert "deal" in error.value.message_dict
    response = _client(rep).post(
        "/analytics/field-materials/new/",
        {"title": "Deck", "file": _deck(), "note": "x", "deal": deal.pk},
    )
    assert response.status_code == 400 and not FieldMaterial.objects.exists()


def test_a_rep_who_may_not_see_the_published_material_is_told_without_its_title_or_link(
    django_capture_on_commit_callbacks, mailoutbox
):
    from tests.factories import make_team

    library_root()
    rep = make_user("rosa", role=REP)
    material = field_material_submit(
        user=rep, title="My Singapore deck", upload=_deck(), note="Helped with the bank"
    )
    asset = AssetPage.objects.get(pk=material.asset_id)
    asset.title = "Singapore bank: confidential pricing exception"
    asset.restricted_teams.set([make_team("Deal desk")])
    with django_capture_on_commit_callbacks(execute=True):
        asset.save_revision().publish()
    told = Notification.objects.get(user=rep, kind="field_material_published")
    assert told.text == (
        "Your material “My Singapore deck” was added to the library with restricted access, "
        "credited to you."
    )
    assert told.url == ""
    (mail,) = mailoutbox
    asset.refresh_from_db()
    for leaked in ("Singapore bank", "confidential", asset.url_path, asset.slug):
        assert leaked not in mail.subject and leaked not in mail.body
        assert leaked not in told.text
    assert "http" not in mail.body  # no link


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_gives_existing_materials_the_title_their_rep_submitted():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from accounts.roles import ENABLEMENT_LEAD

    library_root()
    rep, lead = make_user(role=REP), make_user(role=ENABLEMENT_LEAD)
    material = field_material_submit(user=rep, title="My Singapore deck", upload=_deck(), note="x")
    asset = AssetPage.objects.get(pk=material.asset_id)
    asset.title = "Singapore bank: confidential pricing exception"
    asset.save_revision(user=lead)

    executor = MigrationExecutor(connection)
    executor.migrate([("analytics", "0017_verdicts_recomputed_under_the_interval_rule")])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert FieldMaterial.objects.get(pk=material.pk).title == "My Singapore deck"


def _approve(asset, approver):
    state = WorkflowState.objects.get(object_id=str(asset.pk), status="in_progress")
    task_state = state.current_task_state
    task_state.task.specific.on_action(task_state, user=approver, action_name="approve")


def test_wagtails_approval_mail_goes_to_a_marketer_and_never_to_a_rep(
    django_capture_on_commit_callbacks, mailoutbox
):
    """Wagtail mailed the rep whose material was approved, with links into the admin that a
    rep cannot open; the rep hears it from the library. A marketer still gets Wagtail's."""
    from accounts.roles import ENABLEMENT_LEAD, MARKETER
    from tests.factories import make_asset

    library_root()
    rep = make_user("rosa", role=REP)
    lead = make_user("lea", role=ENABLEMENT_LEAD)
    marketer = make_user("max", role=MARKETER)
    material = field_material_submit(user=rep, title="Cheat sheet", upload=_deck(), note="x")
    page = make_asset("Pricing one-pager", publish=False)
    page.save_revision(user=marketer)
    page.get_workflow().start(page, marketer)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _approve(AssetPage.objects.get(pk=material.asset_id), lead)
        _approve(page, lead)
    approved = [m for m in mailoutbox if "approved" in m.subject.lower()]
    assert [m.to for m in approved] == [["max@example.com"]]
    to_rep = [m for m in mailoutbox if "rosa@example.com" in m.to]
    assert to_rep and not any("/admin/" in m.body for m in to_rep)  # the library's own notice
    assert Notification.objects.filter(user=rep, kind="field_material_published").exists()


def test_material_in_a_section_without_an_owner_is_owned_by_the_nearest_one_above():
    """The library home has no owner, so material arriving there had none, and no one's
    review queue held it (an outside audit)."""
    from tests.factories import make_section

    home = library_root()
    marketer = make_user("max")
    LibraryPage.objects.filter(pk=home.pk).update(owner=marketer)
    section = make_section("From the field")
    rep = make_user("rosa", role=REP)
    with override_settings(FIELD_MATERIALS_SECTION=section.slug):
        material = field_material_submit(user=rep, title="Cheat sheet", upload=_deck(), note="x")
    assert AssetPage.objects.get(pk=material.asset_id).owner == marketer


def test_a_material_titled_with_a_direction_override_is_refused_and_nothing_saved():
    library_root()
    rep = make_user(role=REP)
    with pytest.raises(ValidationError) as refused:
        field_material_submit(user=rep, title="Deck\u202efdp.exe", upload=_deck(), note="x")
    (problem,) = refused.value.message_dict["title"]
    assert problem.startswith("Character 5 is an invisible U+202E (RIGHT-TO-LEFT OVERRIDE)")
    assert not FieldMaterial.objects.exists()
    assert not AssetPage.objects.filter(title__startswith="Deck").exists()


def _submit_locked(rep, capture, title="Locked pitch"):
    from tests.cms.builders import make_encrypted_pdf

    locked = make_encrypted_pdf(["Secret"], user_password="pw", algorithm="AES-256")
    with capture(execute=True):
        response = _client(rep).post(
            "/analytics/field-materials/new/",
            {"title": title, "file": SimpleUploadedFile("locked.pdf", locked), "note": "x"},
            follow=True,
        )
    assert response.redirect_chain[0][1] == 302
    return FieldMaterial.objects.get(title=title), response.content.decode()


def test_a_rep_whose_file_cannot_be_read_is_told_why_and_what_to_do(
    django_capture_on_commit_callbacks,
):
    library_root()
    rep = make_user("rosa", role=REP)

    _, thanks = _submit_locked(rep, django_capture_on_commit_callbacks)

    assert "or if its file cannot be read" in thanks
    told = Notification.objects.get(user=rep, kind="field_material_unreadable")
    assert told.text.startswith(
        "Your material “Locked pitch” went to marketing, but its file is protected by a "
        "password, so it could not be read:"
    )
    assert "Save it again without a password (or export it as a PDF)" in told.text
    assert told.url == "/analytics/field-materials/new/" and told.asset_id is None
    page = _client(rep).get("/notifications/").content.decode()
    assert "Your material “Locked pitch” went to marketing, but its file is protected" in page
    assert not Notification.objects.filter(user=rep, kind="document_not_processed").exists()


def test_the_reviewers_are_told_the_submitted_file_cannot_be_read_and_their_editor_says_why(
    django_capture_on_commit_callbacks, mailoutbox
):
    from accounts.roles import ENABLEMENT_LEAD

    library_root()
    rep = make_user("rosa", role=REP, first_name="Rosa", last_name="Diaz")
    lead = make_user("lea", role=ENABLEMENT_LEAD)

    material, _ = _submit_locked(rep, django_capture_on_commit_callbacks)

    told = Notification.objects.get(user=lead, kind="field_review_unreadable")
    assert told.text.startswith(
        "The file of “Locked pitch”, submitted from the field by Rosa Diaz (rosa), is "
        "protected by a password, so it could not be read:"
    )
    assert told.url == f"/admin/pages/{material.asset_id}/edit/"
    assert any(
        "lea@example.com" in m.to and "Locked pitch" in m.subject and "password" in m.subject
        for m in mailoutbox
    )
    editor = _client(lead).get(told.url).content.decode()
    assert "The file “Locked pitch”: Protected by a password." in editor
    assert not Notification.objects.filter(user=rep, kind="field_review_unreadable").exists()


def test_a_readable_submission_tells_nobody_that_it_cannot_be_read(
    django_capture_on_commit_callbacks,
):
    library_root()
    rep = make_user(role=REP)
    with django_capture_on_commit_callbacks(execute=True):
        field_material_submit(user=rep, title="Pitch", upload=_deck(), note="x")

    assert not Notification.objects.filter(
        kind__in=["field_material_unreadable", "field_review_unreadable"]
    ).exists()


def test_another_reps_unreadable_submission_is_not_told_to_this_rep(
    django_capture_on_commit_callbacks,
):
    library_root()
    rosa, sam = make_user("rosa", role=REP), make_user("sam", role=REP)

    _submit_locked(rosa, django_capture_on_commit_callbacks)

    assert not Notification.objects.filter(user=sam).exists()
    assert "Locked pitch" not in _client(sam).get("/notifications/").content.decode()
