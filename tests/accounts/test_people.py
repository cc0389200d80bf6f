"""A person is named by their full name, else their username, the same way everywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.people import person_name, person_name_from, person_name_with_username


def _user(username: str, first_name: str = "", last_name: str = ""):
    return get_user_model()(username=username, first_name=first_name, last_name=last_name)


@pytest.mark.parametrize(
    ("first_name", "last_name", "expected"),
    [
        ("Priya", "Nair", "Priya Nair"),
        ("Priya", "", "Priya"),
        ("", "Nair", "Nair"),
        ("", "", "priya"),
        ("  ", " ", "priya"),
    ],
    ids=["full name", "first name only", "last name only", "no name", "blank name"],
)
def test_a_person_is_named_by_full_name_else_username(first_name, last_name, expected):
    assert person_name(_user("priya", first_name, last_name)) == expected
    from_row = person_name_from(first_name=first_name, last_name=last_name, username="priya")
    assert from_row == expected


def test_no_person_has_an_empty_name():
    assert person_name(None) == ""
    # A row whose outer join found no person.
    assert person_name_from(first_name=None, last_name=None, username=None) == ""


def test_a_person_in_a_list_of_users_shows_the_username_after_the_name():
    assert person_name_with_username(_user("priya", "Priya", "Nair")) == "Priya Nair (priya)"
    assert person_name_with_username(_user("priya", "Priya")) == "Priya (priya)"
    assert person_name_with_username(_user("priya")) == "priya"
    # Even a name that spells the username is a name.
    assert person_name_with_username(_user("priya", "priya")) == "priya (priya)"
