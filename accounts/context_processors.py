from django.contrib.auth.models import AnonymousUser

from accounts import roles as _roles


def roles(request):
    """What the menus offer. A request refused before it was signed in (a Host the site does
    not serve) has no user yet: it gets the anonymous menus, and its 400 page, not a 500."""
    user = getattr(request, "user", None) or AnonymousUser()
    return {
        "user_is_enablement_lead": _roles.user_is_enablement_lead(user),
        "user_manages_content": _roles.user_manages_content(user),
    }
