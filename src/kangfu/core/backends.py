"""The sign-in backend: Django's, with the user's jurisdiction and organisation read in the same query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

UserModel = get_user_model()


class UserBackend(ModelBackend):
    """Every page reads the signed-in user's jurisdiction (to scope its queries) and organisation (the
    header shows it): loaded with the user, they are one query a request instead of three."""

    def get_user(self, user_id):
        users = UserModel._default_manager.select_related("jurisdiction", "organisation")
        try:
            user = users.get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
