"""Teams: who belongs together, and so who may see what a team restriction admits.

The table keeps the name it had when teams lived in ``cms`` (``cms_team``, members in
``cms_team_members``): moving the model changed no row (accounts/migrations/0001).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify
from wagtail.admin.panels import FieldPanel


class NamedWithSlug:
    """A model with a unique ``name`` and a unique ``slug`` made from it when left blank: the
    teams and the taxonomy terms (``cms.models.Taxonomy``; kept here because cms may use
    accounts, not the reverse).

    ``clean`` makes the slug before the form's uniqueness check, so that a clash is a form
    error naming the term that has it (made after that check, in ``save``, it was a 500). A
    clash is refused rather than given a "-2" slug: a name whose slug another term has
    ("Healthcare and life sciences!" next to "Healthcare and life sciences") is almost always
    that term again, which the editor can use instead, or else is told to type a slug. A
    name that gives no slug ("🚚") asks for one. Names are unique ignoring case ("pipewise"
    next to "Pipewise" is refused naming it). ``save`` still makes a missing slug for terms
    created in code."""

    def clean(self):
        super().clean()
        errors = {}
        kind = self._meta.verbose_name
        others = type(self)._default_manager.exclude(pk=self.pk)
        same_name = others.filter(name__iexact=self.name).first() if self.name else None
        if same_name is not None:
            errors["name"] = (
                f"The {kind} “{same_name.name}” already exists: use it, or choose another name."
            )
        typed = bool(self.slug)
        if not typed:
            self.slug = slugify(self.name)[:100].strip("-")
        if not self.slug and self.name:
            errors["slug"] = (
                f"“{self.name}” gives no slug (letters, digits and hyphens): type one, "
                "e.g. a name for it in plain letters."
            )
        elif self.slug and "name" not in errors:
            same_slug = others.filter(slug=self.slug).first()
            if same_slug is not None:
                made = "" if typed else " made from this name"
                errors["slug"] = (
                    f"The slug “{self.slug}”{made} is already used by the {kind} "
                    f"“{same_slug.name}”: use that {kind}, or type another slug."
                )
        if errors:
            raise ValidationError(errors)


class Team(NamedWithSlug, models.Model):
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


class PasswordResetMail(models.Model):
    """When a password-reset mail last went to a user: one row per user, moved forward by
    each mail (``accounts.password_reset``). Kept in the database because the cache is each
    process's own memory, and a limit every worker counts separately is no limit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField()


class PasswordResetRequest(models.Model):
    """One anonymous request for a password reset, by client address, whether or not a mail
    went: the per-address cap counts these within the last hour (older rows are pruned as
    new ones come)."""

    address = models.CharField(max_length=45)
    requested_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["address", "requested_at"])]
