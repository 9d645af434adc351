"""The sign-in backend: Django's, with the user's jurisdiction and organisation read in the same query,
compiled once (core.compiled)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kangfu.core.compiled import KeyedLookup

UserModel = get_user_model()
_SIGNED_IN = KeyedLookup(UserModel, ("pk",), related=("jurisdiction", "organisation"))


class UserBackend(ModelBackend):
    """Every page reads the signed-in user's jurisdiction (to scope its queries) and organisation (the
    header shows it): loaded with the user, they are one query a request instead of three."""

    def get_user(self, user_id):
        try:
            user = _SIGNED_IN.get(pk=user_id)
        except (TypeError, ValueError):  # a session holding no number (tampered, or another site's)
            return None
        return user if user is not None and self.user_can_authenticate(user) else None
