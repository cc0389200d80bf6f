"""The rep portal's home."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from cms.models import LibraryPage


@login_required
def home(request):
    library = LibraryPage.objects.live().order_by("depth", "path").first()
    if library is None:
        from django.http import HttpResponse

        return HttpResponse("The library is empty. Run `make run` to load the demo library.")
    return redirect(library.url)
