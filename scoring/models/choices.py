"""Enumerations shared by decisions, reviews and daily counts."""

from django.db import models


class Channel(models.TextChoices):
    WEB = "web", "Web form"
    API = "api", "API"
    BATCH = "batch", "Batch"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REFER = "refer", "Refer"
    DECLINE = "decline", "Decline"
