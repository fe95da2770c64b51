from luoshi.orgs.selectors import access_profile


def navigation(request):
    """The signed-in user's roles, so the layout shows only the menus they can use."""
    return {"profile": access_profile(request.user)} if hasattr(request, "user") else {}
