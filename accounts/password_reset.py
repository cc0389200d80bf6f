"""Wagtail's password reset (/admin/password_reset/) with two limits, so that nobody can have
the library's own sender flood an inbox, and an address cannot hammer the form.

- Per account: at most one reset mail per ``PASSWORD_RESET_ACCOUNT_MINUTES``. A request for
  an account mailed within that window is answered exactly as any other (302 to "done") and
  sends nothing, so the answer never tells whether an address has an account, or whether it
  was just asked for. Django's form mails every active user with the address typed; the
  limit is per user, so one account's recent mail holds back no other account.
- Per client address (``accounts.throttle.client_address``, as the sign-in throttle counts
  it): at most ``PASSWORD_RESET_ADDRESS_LIMIT`` requests within the last hour, known
  addresses typed or not; past it the form answers 429 with ``Retry-After`` and a page saying
  when to try again, as a paused sign-in does.

The hook is a subclass of Wagtail's view, routed at Wagtail's own path ahead of Wagtail's
URLs (enablement/urls.py), whose form's ``get_users`` leaves out the accounts mailed within
the window: that is where Django decides whom to mail, so everything else (the templates,
the link built from ``WAGTAILADMIN_BASE_URL``, the done/confirm/complete views, which stay
Wagtail's) is untouched. The counts live in the database (``PasswordResetMail``,
``PasswordResetRequest``): the cache is per process (no ``CACHES`` setting), and every
worker must see the same counts.
"""

from __future__ import annotations

import datetime
import math

from django.conf import settings
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.utils import timezone
from wagtail.admin.forms.auth import PasswordResetForm
from wagtail.admin.views.account import PasswordResetView

from accounts.models import PasswordResetMail, PasswordResetRequest
from accounts.throttle import client_address

#: The period the per-address cap counts requests over.
ADDRESS_WINDOW = datetime.timedelta(hours=1)


def password_reset_mail_claim(*, user, now: datetime.datetime) -> bool:
    """Whether a reset mail may go to ``user`` now; if so, ``now`` is recorded as its last.

    The check and the record are one statement (an update of a row older than the window, or
    the creation of the user's first row, which the one-to-one key lets only one request
    win), so two workers given the same address at the same moment send one mail."""
    window = datetime.timedelta(minutes=settings.PASSWORD_RESET_ACCOUNT_MINUTES)
    mails = PasswordResetMail.objects.filter(user=user)
    if mails.filter(sent_at__lte=now - window).update(sent_at=now):
        return True
    if mails.exists():
        return False
    try:
        with transaction.atomic():
            PasswordResetMail.objects.create(user=user, sent_at=now)
    except IntegrityError:
        return False  # another request created it first, and mails
    return True


def password_reset_request_record(*, address: str, now: datetime.datetime) -> int | None:
    """Count one request from ``address``, or refuse it: None when it may go on, else the
    seconds until the oldest request in the window ages out. Requests from every address
    older than the window are pruned on the way. Two requests at the same moment may both
    pass at the cap's edge; a cap a request or two higher is harmless."""
    since = now - ADDRESS_WINDOW
    PasswordResetRequest.objects.filter(requested_at__lt=since).delete()
    recent = PasswordResetRequest.objects.filter(address=address, requested_at__gte=since)
    if recent.count() >= settings.PASSWORD_RESET_ADDRESS_LIMIT:
        oldest = recent.order_by("requested_at").values_list("requested_at", flat=True)[0]
        return max(1, math.ceil((oldest + ADDRESS_WINDOW - now).total_seconds()))
    PasswordResetRequest.objects.create(address=address, requested_at=now)
    return None


class ThrottledPasswordResetForm(PasswordResetForm):
    """Wagtail's form mailing only the matching accounts not mailed within the window."""

    def get_users(self, email):
        now = timezone.now()
        return (
            user
            for user in super().get_users(email)
            if password_reset_mail_claim(user=user, now=now)
        )


class ThrottledPasswordResetView(PasswordResetView):
    """Wagtail's reset view, refusing a client address past its cap before the form is read
    (an unknown or malformed address typed counts as well: each is a request)."""

    def get_form_class(self):
        return ThrottledPasswordResetForm

    def post(self, request, *args, **kwargs):
        address = client_address(request) or ""
        retry_after = password_reset_request_record(address=address, now=timezone.now())
        if retry_after is not None:
            return too_many_requests(request, retry_after)
        return super().post(request, *args, **kwargs)


def too_many_requests(request, seconds: int):
    """The 429 page, in the manner of the sign-in throttle's (``throttle.lockout_response``)."""
    context = {
        "retry_at": timezone.localtime(timezone.now() + datetime.timedelta(seconds=seconds)),
        "minutes": math.ceil(seconds / 60),
    }
    response = render(request, "registration/password_reset_throttled.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response
