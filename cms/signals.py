"""Signal wiring for cms. Handlers only hand work to services or tasks."""

from django.dispatch import Signal

# Sent by the rep-facing asset page with ``request`` and ``asset`` after the permission check;
# analytics records it as an asset_viewed event.
asset_viewed = Signal()
