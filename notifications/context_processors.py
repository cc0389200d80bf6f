from django.utils.functional import SimpleLazyObject

from notifications.selectors import notifications_unread_count


def bell(request):
    """The unread count the bell in the top bar shows: counted (one query) the first time a
    template shows it, so partial responses such as live search results cost nothing."""
    return {
        "notifications_unread": SimpleLazyObject(
            lambda: notifications_unread_count(user=request.user)
        )
    }
