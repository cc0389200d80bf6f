"""Factories shared by every test package: users with roles, the library tree, assets."""

from __future__ import annotations

import io
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, Site

from accounts.models import Team
from cms.models import AssetPage, AssetType, BuyerStage, LibraryPage, Pillar

_counter = itertools.count(1)
PASSWORD = "correct-horse-battery"


def make_user(username: str | None = None, *, role: str | None = None, teams=(), **fields):
    username = username or f"user{next(_counter)}"
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.com", **fields
    )
    if role:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    for team in teams:
        team.members.add(user)
    return user


def make_team(name: str) -> Team:
    return Team.objects.get_or_create(name=name)[0]


def library_root() -> LibraryPage:
    """The library home under the site root, created once per test database."""
    existing = LibraryPage.objects.filter(depth=2).first()
    if existing:
        return existing
    root = Page.get_first_root_node()
    library = root.add_child(instance=LibraryPage(title="Library", slug="library"))
    site = Site.objects.filter(is_default_site=True).first()
    if site:
        site.root_page = library
        site.save()
    else:
        Site.objects.create(hostname="localhost", root_page=library, is_default_site=True)
    return library


def make_section(title: str, *, parent: LibraryPage | None = None, teams=()) -> LibraryPage:
    parent = parent or library_root()
    section = parent.add_child(instance=LibraryPage(title=title))
    if teams:
        section.restricted_teams.set(teams)
        section.save_revision().publish()
    return section


def make_document(filename: str = "file.txt", content: bytes = b"hello", title: str | None = None):
    Document = get_document_model()
    document = Document(title=title or filename)
    document.file.save(filename, ContentFile(content), save=False)
    document.save()
    return document


def png_bytes(color: str = "red") -> bytes:
    """A small PNG picture filled with ``color``."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def make_image(title: str = "cover", color: str = "red"):
    picture = ImageFile(io.BytesIO(png_bytes(color)), name=f"{title}.png")
    return get_image_model().objects.create(title=title, file=picture)


def make_asset(
    title: str,
    *,
    parent: LibraryPage | None = None,
    stages=("discover",),
    pillars=("why-buy",),
    asset_type: str = "deck",
    teams=(),
    publish: bool = True,
    **fields,
) -> AssetPage:
    """Create an asset page; taxonomy arguments are slugs. Published unless publish=False."""
    parent = parent or library_root()
    fields.setdefault("summary", f"Summary of {title}")
    asset = AssetPage(
        title=title,
        asset_type=AssetType.objects.get(slug=asset_type),
        live=publish,
        **fields,
    )
    asset.stages.set(BuyerStage.objects.filter(slug__in=stages))
    asset.pillars.set(Pillar.objects.filter(slug__in=pillars))
    if teams:
        asset.restricted_teams.set(teams)
    parent.add_child(instance=asset)
    revision = asset.save_revision()
    if publish:
        revision.publish()
    asset.refresh_from_db()
    return asset
