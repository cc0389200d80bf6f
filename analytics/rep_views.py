"""What a rep does with an asset: record its use in a deal, share it, give feedback; and
asking marketing for content that is missing.

Every action re-checks that the rep may see the asset (cms.selectors.asset_visible_to) and
that the deal is one of the rep's own open deals.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from analytics import selectors, services, usage
from analytics.content_requests import (
    content_request_create,
    content_request_visible_to,
    content_request_vote,
    content_requests_for_rep,
)
from analytics.field_materials import field_material_submit
from analytics.forms import (
    FEEDBACK_REFUSED,
    ContentRequestForm,
    DealForm,
    FeedbackForm,
    FieldMaterialForm,
    ShareForm,
)
from analytics.models import ContentRequest, EventKind
from analytics.selectors import share_link_label
from cms.models import AssetPage
from cms.selectors import asset_visible_or_none, asset_visible_to
from cms.views import asset_page_after_action


def _visible_asset(request, asset_id: int) -> AssetPage:
    asset = asset_visible_or_none(request.user, AssetPage.objects.all(), asset_id)
    if asset is None:
        raise Http404("No such asset")
    return asset


def _back(request, asset: AssetPage | None):
    """Back to where the rep acted (a search result page sends ``next``), else the asset."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    if asset is None:
        return redirect("analytics:share_links")
    return asset_page_after_action(request, asset)


def _form_problems(form) -> str:
    """What is wrong with ``form``, field by field, each named with its own error ("Deal:
    choose one of your open deals…", ``DealForm``)."""
    problems = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        problems.append(f"{label}: {' '.join(errors)}")
    return " ".join(problems)


def _chosen_deal(request, asset):
    form = DealForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _form_problems(form))
        return None
    return form.cleaned_data["deal"]


@login_required
@require_POST
def asset_used(request, asset_id: int):
    asset = _visible_asset(request, asset_id)
    deal = _chosen_deal(request, asset)
    if deal is not None:
        usage.usage_record(kind=EventKind.USED_IN_DEAL, asset=asset, user=request.user, deal=deal)
        messages.success(request, f"Recorded: {asset.title} used in {deal.name or deal}.")
    return _back(request, asset)


@login_required
@require_POST
def share_create(request, asset_id: int):
    """Make a link (or give back the rep's open one: ``usage.share_link_give``), then
    redirect to where it can be copied (POST, redirect, GET: a reload never makes a second
    link): the deal's page when the rep shared from it, which lists the deal's links, else
    the rep's list of links."""
    asset = _visible_asset(request, asset_id)
    if not asset.shareable_with_buyers:
        messages.error(request, "This asset is internal: it cannot be shared with buyers.")
        return _back(request, asset)
    form = ShareForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _form_problems(form))
        return _back(request, asset)
    deal, note = form.cleaned_data["deal"], form.cleaned_data["recipient_note"]
    try:
        link, _, reused = usage.share_link_give(
            user=request.user, asset=asset, deal=deal, recipient_note=note
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, asset)
    label = share_link_label(link, asset_visible=True)  # checked above
    if reused:
        until = date_format(timezone.localtime(link.expires_at), "j M Y")
        messages.success(
            request, f"You already had link {label}: it now opens until {until}. Copy it below."
        )
    else:
        messages.success(request, f"New link {label}. Copy it below.")
    deal_page = reverse("deals:detail", args=[deal.external_id])
    if urlsplit(request.POST.get("next", "")).path == deal_page:
        return redirect(f"{deal_page}#link-{link.pk}")
    return redirect(f"{reverse('analytics:share_links')}?created={link.pk}#link-{link.pk}")


@login_required
@require_safe
def share_links(request):
    """The rep's share links: what each is, when it was last opened, copy and revoke."""
    links = selectors.share_links_for(user=request.user)
    created = request.GET.get("created", "")  # the link just made (ids: at most 18 digits)
    created_id = int(created) if created.isdecimal() and len(created) <= 18 else None
    return render(request, "analytics/share_links.html", {"links": links, "created": created_id})


@login_required
@require_POST
def share_revoke(request, link_id: int):
    """Revoke one of the rep's links (a lead: anyone's). Another rep's link is the same 404
    as an id that does not exist."""
    link = selectors.share_link_revocable(user=request.user, link_id=link_id)
    if link is None:
        raise Http404("No such share link")
    label = share_link_label(link, asset_visible=asset_visible_to(request.user, link.asset))
    if usage.share_link_revoke(link=link):
        messages.success(request, f"Revoked {label}: it no longer opens.")
    else:
        messages.info(request, f"{label} was already revoked.")
    return _back(request, None)


@login_required
@require_POST
def feedback(request, asset_id: int):
    asset = _visible_asset(request, asset_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        if "kind" in form.errors:
            return _feedback_refused(request, asset, "Choose helpful, outdated or 'I needed ...'.")
        return _feedback_refused(request, asset, _form_problems(form))
    try:
        services.feedback_create(
            user=request.user,
            asset=asset,
            kind=form.cleaned_data["kind"],
            text=form.cleaned_data["text"],
        )
    except ValidationError as error:
        return _feedback_refused(request, asset, " ".join(error.messages))
    messages.success(request, "Thanks, the asset's owner will see this.")
    return _back(request, asset)


def _feedback_refused(request, asset: AssetPage, problem: str):
    """Back to the asset's feedback form, with what the rep sent kept in it and ``problem``
    said there (``FEEDBACK_REFUSED``), not at the top of the page, out of sight of the form."""
    request.session[FEEDBACK_REFUSED] = {
        "asset": asset.pk,
        "kind": request.POST.get("kind", ""),
        "text": request.POST.get("text", "")[:2000],
        "error": problem,
    }
    response = asset_page_after_action(request, asset)
    response["Location"] += "#feedback-form"
    return response


# --- Content requests: ask marketing, back someone's ask, see the answers ----------------------


@login_required
def content_requests(request):
    """The rep's requests (status, the answer or the reason) and others' open requests to
    back; POST asks for something new (or backs the same open ask)."""
    initial = {"text": request.GET.get("q", ""), "source": request.GET.get("source", "request")}
    form = ContentRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            asked, created = content_request_create(
                user=request.user,
                text=form.cleaned_data["text"],
                source=form.cleaned_data["source"] or "request",
                private_note=form.cleaned_data["private_note"],
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            if created:
                messages.success(request, f"Asked marketing for “{asked.text}”.")
            else:
                messages.info(request, f"Someone already asked for “{asked.text}”: you back it.")
            return redirect("analytics:requests")
    context = {"form": form, **content_requests_for_rep(user=request.user)}
    return render(request, "analytics/requests.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def content_request_vote_view(request, request_id: int):
    """Back a request. One the rep may not read (another rep's closed request) is answered
    as if there were no such request: its words are never quoted."""
    asked = ContentRequest.objects.filter(pk=request_id).first()
    if asked is None or not content_request_visible_to(user=request.user, content_request=asked):
        messages.info(request, "That request is no longer open to back.")
    elif content_request_vote(user=request.user, content_request=asked):
        messages.success(request, f"You back “{asked.text}”: you will hear when it is done.")
    else:
        messages.info(request, f"“{asked.text}” is closed, yours, or already backed by you.")
    return redirect("analytics:requests")


# --- Rep-made materials ------------------------------------------------------------------------


@login_required
def field_material_new(request):
    """A rep brings their own material into the library (a draft for marketing to review)."""
    form = FieldMaterialForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            material = field_material_submit(
                user=request.user,
                title=form.cleaned_data["title"],
                upload=form.cleaned_data["file"],
                note=form.cleaned_data["note"],
                deal=form.cleaned_data["deal"],
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                form.add_error(name if name in form.fields else None, problems)
        else:
            messages.success(
                request,
                f"Thanks: “{material.asset.title}” went to marketing for review. "
                "You will hear when it is in the library, or if its file cannot be read.",
            )
            return redirect("analytics:requests")
    status = 400 if form.errors else 200
    return render(request, "analytics/field_material.html", {"form": form}, status=status)
