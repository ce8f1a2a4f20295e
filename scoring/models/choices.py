"""Enumerations shared by decisions, reviews and daily counts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    BATCH = "batch", _("Batch")


class Decision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REFER = "refer", _("Refer")
    DECLINE = "decline", _("Decline")
