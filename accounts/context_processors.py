from accounts import roles as _roles


def roles(request):
    user = request.user
    return {
        "user_is_enablement_lead": _roles.user_is_enablement_lead(user),
        "user_manages_content": _roles.user_manages_content(user),
    }
