"""Wagtail admin hooks. Each concern keeps its hooks in its own module, imported here so that
Wagtail (which loads only ``wagtail_hooks``) registers them."""

from cms import admin_documents, admin_governance, admin_listings, rich_text  # noqa: F401
