"""How a person is named on pages and in the admin: full name, else username."""

from __future__ import annotations


def display_name(user, fallback: str = "") -> str:
    """The user's full name, or their username without one; ``fallback`` when there is no user."""
    if user is None:
        return fallback
    return user.get_full_name() or user.get_username()
