"""The rep portal's home: the library."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect

from cms.models import LibraryPage


@login_required
def home(request):
    """Send a signed-in user to the library home (created by ``migrate``)."""
    library = LibraryPage.objects.live().order_by("depth", "path").first()
    if library is None:
        raise Http404("The library has not been published yet.")
    return redirect(library.url)
