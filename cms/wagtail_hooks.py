"""Wagtail hooks: the admin's, and serving pages (``serving``). Each concern keeps its hooks
in its own module, imported here so that Wagtail (which loads only ``wagtail_hooks``)
registers them."""

from cms import (  # noqa: F401
    admin_documents,
    admin_governance,
    admin_listings,
    asset_notices,
    rich_text,
    serving,
)
