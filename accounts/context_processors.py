from django.contrib.auth.models import AnonymousUser
from wagtail.admin.views.account import password_reset_enabled

from accounts import roles as _roles


def roles(request):
    """What the menus offer. A request refused before it was signed in (a Host the site does
    not serve) has no user yet: it gets the anonymous menus, and its 400 page, not a 500."""
    user = getattr(request, "user", None) or AnonymousUser()
    return {
        "user_is_enablement_lead": _roles.user_is_enablement_lead(user),
        "user_manages_content": _roles.user_manages_content(user),
    }


def password_reset(request):
    """Whether the sign-in pages offer "Forgot your password?" (Wagtail's reset, which an
    operator may turn off with ``WAGTAIL_PASSWORD_RESET_ENABLED``: its pages then answer 404,
    so no link to them is shown)."""
    return {"password_reset_enabled": password_reset_enabled()}
