"""The secrets behind share links and API keys: what the database keeps (a SHA-256 digest)
and how a share link's token is derived again from its stored nonce. Shared by the services
that make them and the selectors that look them up."""

from __future__ import annotations

import base64
import hashlib

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import salted_hmac


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def share_link_token(link) -> str | None:
    """The link's token, derived from its nonce under SECRET_KEY; None for links made before
    nonces existed (their token was shown once and is not kept)."""
    if not link.nonce:
        return None
    digest = salted_hmac("analytics.share_link", link.nonce, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def share_link_address(token: str) -> str:
    """The address a buyer opens: under ``BASE_URL`` (the library's public address), not the
    host the rep happened to reach the library at (an internal name would be handed to the
    buyer; an outside audit)."""
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + reverse("share:open", args=[token])
