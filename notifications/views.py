"""The notifications list (the bell's page), marking them read, and the e-mail setting."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import PreferenceForm


@login_required
def notification_list(request):
    """The user's notifications, newest first, and their e-mail choice. Opening the list
    does not mark anything read: "Mark all read" (or following one) does."""
    form = PreferenceForm(initial={"email": selectors.notification_email_choice(user=request.user)})
    context = {"notifications": selectors.notifications_for(user=request.user), "form": form}
    return render(request, "notifications/list.html", context)


@login_required
@require_POST
def mark_read(request):
    """Mark the notifications ``id`` names read; all of them when no ``id`` is sent. An id is
    at most 18 digits (it fits the database): anything else names no notification."""
    values = request.POST.getlist("id")
    ids = [int(value) for value in values if value.isdecimal() and len(value) <= 18]
    services.notifications_mark_read(user=request.user, ids=ids if values else None)
    return redirect("notifications:list")


@login_required
@require_POST
def open_notification(request, notification_id: int):
    """Mark one of the user's notifications read and follow its link (own ones only)."""
    notification = selectors.notification_of(user=request.user, notification_id=notification_id)
    if notification is None:
        return redirect("notifications:list")
    services.notifications_mark_read(user=request.user, ids=[notification.pk])
    safe = url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(notification.url if safe else "notifications:list")


@login_required
@require_POST
def preference(request):
    form = PreferenceForm(request.POST)
    if form.is_valid():
        choice = form.cleaned_data["email"]
        services.notification_preference_set(user=request.user, email=choice)
        label = dict(form.fields["email"].choices)[choice]
        messages.success(request, f"Saved. E-mail: {label.lower()}.")
    else:
        messages.error(request, "Choose how to get notifications by e-mail.")
    return redirect("notifications:list")
