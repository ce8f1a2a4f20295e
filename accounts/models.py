"""Accounts tables: teams, API tokens (stored as hashes, so a key is shown only once) and the append-only access log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    """A group of officers (and their credit managers) who share open referrals and approvals."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer key for the API. Only its sha256 is kept: a leaked database does not leak keys."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text=_("What the token is for (for example 'loan origination')."))
    prefix = models.CharField(max_length=12, help_text=_("The key's first characters, to recognise it."))
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name}, {self.user})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AccessEvent(models.Model):
    """One authentication event, a later opening of an issued notice, or an opening of a model card;
    written by accounts.signals, never changed."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKED_OUT = "locked_out", _("Locked out")
        PASSWORD_CHANGED = "password_changed", _("Changed password")
        NOTICE_DOWNLOADED = "notice_downloaded", _("Opened an issued adverse-action notice")
        MODEL_CARD_VIEWED = "model_card_viewed", _("Opened a model card")

    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The username as typed, kept even when no such user exists (a failed login's most useful clue).
    username = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="accessevent_recent"),
            models.Index(fields=["kind", "-created_at", "-id"], name="accessevent_kind_recent"),
            models.Index(fields=["username", "-created_at", "-id"], name="accessevent_username_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username or '?'} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class Profile(models.Model):
    """A user's own settings: the language of their pages (blank: their browser's, else English)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The language of your pages; blank follows your browser."),
    )

    class Meta:
        verbose_name = _("profile")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or 'browser language'})"
