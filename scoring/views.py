"""Web pages of the scoring app: thin views that call services and selectors and render."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts import permissions
from scoring import registry
from scoring.exceptions import ModelUnavailable


@login_required
def home(request):
    try:
        active = registry.get_active().version
    except ModelUnavailable:
        active = None
    recent = []
    if permissions.is_officer(request.user):
        recent = list(request.user.predictions.select_related("model_version")[:5])
    return render(request, "scoring/home.html", {"active_version": active, "recent": recent})
