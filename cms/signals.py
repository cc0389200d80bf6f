"""The signals cms sends. Other apps (search, analytics) connect to them; cms's own receivers
are in ``cms.receivers``."""

from django.dispatch import Signal

# Sent by the rep-facing asset page with ``request`` and ``asset`` after the permission check;
# analytics records it as an asset_viewed event (not for a HEAD).
asset_viewed = Signal()

# Sent by the asset's download view with ``request`` and ``asset`` after the permission check;
# analytics records it as an asset_downloaded event of that asset (not of every asset that
# shares its file); not for a HEAD.
asset_downloaded = Signal()

# Sent with ``document`` after a document's processing results (text, page count, thumbnail,
# status) were stored, so that search can reindex the assets that use it and the uploader is
# told of a file that could not be read; also when processing ended failed without results
# (an unexpected error, the file store down for the last automatic try, a document that never
# finished).
document_processed = Signal()
