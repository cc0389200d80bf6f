from notifications.selectors import notifications_unread_count


def bell(request):
    """The unread count the bell in the top bar shows (one query for a signed-in user)."""
    return {"notifications_unread": notifications_unread_count(user=request.user)}
