"""Rich text as reps see it: nothing in a body loads from a third-party host.

The editors do not offer media embeds and Wagtail asks no provider's oEmbed endpoint
(``WAGTAILADMIN_RICH_TEXT_EDITORS`` and ``WAGTAILEMBEDS_FINDERS`` in the settings). A media
embed saved before that (``<embed embedtype="media" url="...">``) would still come out as the
provider's <iframe>, from Wagtail's table of fetched embeds; here it comes out as a plain
link to its address instead.
"""

from __future__ import annotations

from django.utils.html import format_html
from wagtail import hooks
from wagtail.rich_text import EmbedHandler


class MediaEmbedAsLink(EmbedHandler):
    """A media embed rendered as a link to the page it embedded (an http(s) address only;
    anything else renders as nothing)."""

    identifier = "media"

    @staticmethod
    def expand_db_attributes(attrs: dict) -> str:
        url = attrs.get("url", "")
        if not url.startswith(("https://", "http://")):
            return ""
        return format_html('<a href="{0}" rel="noopener noreferrer">{0}</a>', url)


@hooks.register("register_rich_text_features", order=1)
def media_embeds_as_links(features):
    """Registered after ``wagtail.embeds`` (order 1, its hooks run at 0), so that this
    handler replaces its <iframe> renderer for the "media" embed type."""
    features.register_embed_type(MediaEmbedAsLink)
