"""Teams: who belongs together, and so who may see what a team restriction admits.

The table keeps the name it had when teams lived in ``cms`` (``cms_team``, members in
``cms_team_members``): moving the model changed no row (accounts/migrations/0001).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.text import slugify
from wagtail.admin.panels import FieldPanel


class Team(models.Model):
    """A team or region. Assets and library sections restricted to teams are seen only by
    their members (and by marketers, enablement leads and admins, who manage content)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("members")]

    class Meta:
        db_table = "cms_team"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:100]
        super().save(*args, **kwargs)
