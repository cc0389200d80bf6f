"""Wagtail serving the library's pages, held to the library's visibility rule.

A signed-out visitor is sent to sign in at every URL Wagtail serves, whether a page is there or
not (``cms.middleware.SignInFirstMiddleware``). For a signed-in user, a page they may not open
(``cms.selectors.page_visible_to``), and every page under it, answers exactly what a URL where
no page is answers: Wagtail's own bare 404. Without this a rep learnt that a private page
(Wagtail's Privacy by password or groups) exists, and often what it is, from Wagtail's
password form or its redirect to sign in, and any page answered an OPTIONS request with its
Allow header whoever asked.
Wagtail's password form for a private page (``/_util/authenticate_with_password/``) is held to
the same rule by ``cms.views.authenticate_with_password``.
"""

from __future__ import annotations

from django.http import Http404
from wagtail import hooks

from cms import selectors

# Before Wagtail's own ``check_request_method`` (order 0: a 405, or an OPTIONS request's
# Allow header). Wagtail's privacy check (``check_view_restrictions``: the password form, the
# redirect to sign in) is an ``on_serve_page`` hook, which wraps the page's ``serve`` and so
# only runs once every ``before_serve_page`` hook has let the request through.
FIRST = -100


@hooks.register("before_serve_page", order=FIRST)
def pages_the_user_may_not_open_are_not_there(page, request, serve_args, serve_kwargs):
    if not selectors.page_visible_to(request.user, page):
        raise Http404  # as Wagtail's router does for a path where no page is
    return None
