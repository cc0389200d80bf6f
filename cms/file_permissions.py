"""Who may replace or delete the file of a document or an image an asset uses.

A document an asset page uses (its file or transcript) and an image it uses (its thumbnail),
published, in the draft waiting for approval, or in an earlier revision, are part of that
asset, and their files change through the asset: upload the new file or image and choose it
on the asset, so the change goes through the approval workflow and stays in the page's
history, from where it can be reverted. Replacing the file in place, or deleting the
document or image, would change what reps download, see and search finds with no approval,
no history and no way back; deleting the file of an earlier revision would leave nothing to
revert to. So only an administrator may do either; everyone else may still edit the title,
tags and collection of such a document or image, and do anything with those no asset uses
(deleted assets use none).

Enforced on the server on every path Wagtail offers: deleting (the delete view, bulk delete,
the multiple uploader's delete) asks the permission policies below, and a new file (the edit
view; the multiple uploaders' forms have no file field) is refused by the document and image
forms (``cms.forms.AssetFileLockMixin``), which ask the same policies.
"""

from __future__ import annotations

from collections.abc import Callable

from wagtail.documents import get_document_model, get_document_model_string
from wagtail.images import get_image_model, get_image_model_string
from wagtail.permission_policies.collections import CollectionOwnershipPermissionPolicy
from wagtail.permissions import register_permission_policy

from accounts.roles import ADMIN, user_has_role
from cms.selectors import AssetUse, document_asset, image_asset


class AssetFilePermissionPolicy(CollectionOwnershipPermissionPolicy):
    """Wagtail's policy for documents or images (by collection and uploader), except that
    only an administrator may delete one an asset uses. ``asset_of`` says which asset uses
    an instance (by id); ``role`` is what it is to that asset ("file", "thumbnail") and
    ``upload`` what to upload instead ("file", "image")."""

    def __init__(
        self,
        model,
        *,
        auth_model: str,
        asset_of: Callable[[int], AssetUse | None],
        role: str,
        upload: str,
    ):
        super().__init__(model, auth_model=auth_model, owner_field_name="uploaded_by_user")
        self.asset_of = asset_of
        self.role = role
        self.upload = upload

    def file_locked_by(self, *, user, instance) -> AssetUse | None:
        """The asset that uses ``instance`` (now or in an earlier revision), when ``user``
        may not replace or delete its file directly; None when they may (an administrator,
        or no asset uses it)."""
        if instance.pk is None or user_has_role(user, ADMIN):
            return None
        return self.asset_of(instance.pk)

    def file_locked_message(self, *, instance, use: AssetUse) -> str:
        """What a user who may not replace or delete ``instance`` is told, and what to do."""
        change = (
            f"upload the new {self.upload} and choose it on that asset, so the change is "
            "approved and kept in its history."
        )
        if use.previous:
            return (
                f"“{instance.title}” is the {self.role} of a previous revision of "
                f"“{use.asset.title}”, kept so that the asset can be reverted to it; to change "
                f"the asset's {self.role}, {change}"
            )
        return f"“{instance.title}” is the {self.role} of “{use.asset.title}”; {change}"

    def user_has_any_permission_for_instance(self, user, actions, instance):
        if "delete" in actions and self.file_locked_by(user=user, instance=instance):
            actions = [action for action in actions if action != "delete"]
            if not actions:
                return False
        return super().user_has_any_permission_for_instance(user, actions, instance)


def file_permission_policies_register() -> None:
    """Make the policies above the ones Wagtail asks about documents and images. Wagtail's
    documents and images apps register their own in their ``ready()``, after ours (``cms``
    comes first in INSTALLED_APPS); a policy registered for the exact class is looked up
    first, so ours win either way."""
    documents = AssetFilePermissionPolicy(
        get_document_model_string(),
        auth_model="wagtaildocs.Document",
        asset_of=document_asset,
        role="file",
        upload="file",
    )
    images = AssetFilePermissionPolicy(
        get_image_model_string(),
        auth_model="wagtailimages.Image",
        asset_of=image_asset,
        role="thumbnail",
        upload="image",
    )
    register_permission_policy(get_document_model(), documents, exact_class=True)
    register_permission_policy(get_image_model(), images, exact_class=True)
