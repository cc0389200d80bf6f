"""What a user is told about an asset follows who may see it: notifications (which sit below
cms and cannot ask it) show or mail a notification about an asset only when this hook says
its user may see the asset now (``cms.selectors.asset_ids_seen_by``)."""

from wagtail import hooks

from cms.selectors import asset_ids_seen_by
from notifications.selectors import ASSETS_SEEN_HOOK


@hooks.register(ASSETS_SEEN_HOOK)
def notification_assets_seen(user, asset_ids: set[int]) -> set[int]:
    return asset_ids_seen_by(user, asset_ids)
