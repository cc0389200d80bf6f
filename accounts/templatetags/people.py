"""``{{ user|person }}``: a person as every page names them (``accounts.people``)."""

from __future__ import annotations

from django import template

from accounts.people import person_name

register = template.Library()
register.filter("person", person_name)
