"""How the app names a person: their full name, else their username.

Every page, report, export and search document that shows a user names them through these,
so a person reads the same everywhere.
"""

from __future__ import annotations


def _full_name(first_name: str | None, last_name: str | None) -> str:
    # As Django's User.get_full_name: both names joined by a space, then trimmed. None (an
    # outer join's value for a missing person) counts as empty.
    return f"{first_name or ''} {last_name or ''}".strip()


def person_name_from(*, first_name: str | None, last_name: str | None, username: str | None) -> str:
    """The name of a person read as column values (a ``values()`` row, where a missing
    person gives None for all three): the full name, else the username, else ""."""
    return _full_name(first_name, last_name) or username or ""


def person_name(user) -> str:
    """A user's name: the full name, else the username ("" for no user)."""
    if user is None:
        return ""
    return person_name_from(
        first_name=user.first_name, last_name=user.last_name, username=user.get_username()
    )


def person_name_with_username(user) -> str:
    """A person in a list of users: the full name followed by the username in parentheses,
    which tells two people of the same name apart ("Priya Nair (priya)"); the username alone
    when there is no name."""
    username = user.get_username()
    name = _full_name(user.first_name, user.last_name)
    return f"{name} ({username})" if name else username
