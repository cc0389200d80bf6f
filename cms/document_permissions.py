"""Who may replace or delete the file of a document an asset uses.

A document an asset page uses (as its file or transcript, published, in the draft waiting
for approval, or in an earlier revision) is part of that asset, and its file changes through
the asset: upload the new file and choose it on the asset, so the change goes through the
approval workflow and stays in the page's history, from where it can be reverted. Replacing
the file in place, or deleting the document, would change what reps download and search
finds with no approval, no history and no way back; deleting the file of an earlier revision
would leave nothing to revert to. So only an administrator may do either; everyone else may
still edit such a document's title, tags and collection, and do anything with documents no
asset uses (deleted assets use none).

Enforced on the server on every path Wagtail offers: deleting (the delete view, bulk delete,
the multiple uploader's delete) asks the permission policy below, and a new file (the edit
view; the multiple uploader's form has no file field) is refused by the document form
(``cms.forms.LibraryDocumentForm``).
"""

from __future__ import annotations

from wagtail.documents import get_document_model, get_document_model_string
from wagtail.permission_policies.collections import CollectionOwnershipPermissionPolicy
from wagtail.permissions import register_permission_policy

from accounts.roles import ADMIN, user_has_role
from cms.selectors import AssetUse, document_asset


def document_file_locked_by(*, user, document) -> AssetUse | None:
    """The asset whose file (or transcript) ``document`` is or was, when ``user`` may not
    replace or delete it directly; None when they may (an administrator, or no asset uses
    it)."""
    if document.pk is None or user_has_role(user, ADMIN):
        return None
    return document_asset(document.pk)


def document_file_locked_message(*, document, use: AssetUse) -> str:
    """What a user who may not replace or delete ``document`` is told, and what to do."""
    if use.previous:
        return (
            f"“{document.title}” is the file of a previous revision of “{use.asset.title}”, "
            "kept so that the asset can be reverted to it; to change the asset's file, upload "
            "the new file and choose it on that asset, so the change is approved and kept in "
            "its history."
        )
    return (
        f"“{document.title}” is the file of “{use.asset.title}”; upload the new file and "
        "choose it on that asset, so the change is approved and kept in its history."
    )


class LibraryDocumentPermissionPolicy(CollectionOwnershipPermissionPolicy):
    """Wagtail's document policy, except that only an administrator may delete a document
    an asset uses."""

    def user_has_any_permission_for_instance(self, user, actions, instance):
        if "delete" in actions and document_file_locked_by(user=user, document=instance):
            actions = [action for action in actions if action != "delete"]
            if not actions:
                return False
        return super().user_has_any_permission_for_instance(user, actions, instance)


def document_permission_policy_register() -> None:
    """Make the policy above the one Wagtail asks about documents. Wagtail's documents app
    registers its own in its ``ready()``, after ours (``cms`` comes first in INSTALLED_APPS);
    a policy registered for the exact class is looked up first, so ours wins either way."""
    policy = LibraryDocumentPermissionPolicy(
        get_document_model_string(),
        auth_model="wagtaildocs.Document",
        owner_field_name="uploaded_by_user",
    )
    register_permission_policy(get_document_model(), policy, exact_class=True)
