"""The "which model was live at" question to the second: the field takes seconds and the answer shows them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.models import ModelActivation

pytestmark = pytest.mark.django_db


def test_the_live_at_field_takes_seconds_and_keeps_them(client, auditor, active_version):
    client.force_login(auditor)
    page = client.get(reverse("audit:model-timeline")).content.decode()
    assert 'type="datetime-local"' in page and 'step="1"' in page  # without step the browser drops seconds

    activated = ModelActivation.objects.get(version=active_version).created_at
    just_before = timezone.localtime(activated - timedelta(seconds=1)).replace(microsecond=0)
    just_after = timezone.localtime(activated + timedelta(seconds=1)).replace(microsecond=0)
    before = client.get(reverse("audit:model-timeline"), {"at": just_before.strftime("%Y-%m-%dT%H:%M:%S")})
    after = client.get(reverse("audit:model-timeline"), {"at": just_after.strftime("%Y-%m-%dT%H:%M:%S")})
    assert before.context["live"] is None
    assert after.context["live"].version == active_version
    text = after.content.decode()
    assert f'value="{just_after:%Y-%m-%dT%H:%M:%S}"' in text  # the field keeps the seconds asked for
    assert f"At {just_after:%Y-%m-%d %H:%M:%S}" in text
